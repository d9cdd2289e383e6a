"""The project's error type for mistakes in what a user gives us."""


class UserInputError(ValueError):
    """A user's mistake: a bad argument, file, config value or dataset.

    Raised by our own checks with a message that names the file, key or
    sample and says what to do; the tools (``run_cli``) print it as
    ``error: <message>`` without a traceback. A ``ValueError`` subclass, so
    code catching ``ValueError`` keeps working.
    """
