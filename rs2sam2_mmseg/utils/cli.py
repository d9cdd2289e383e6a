"""One-line errors for the command-line tools."""
import os
import pickle
import sys
from typing import Callable

#: Errors caused by user input (paths, configs, data, sentences); they are
#: reported in one line. Anything else keeps its traceback.
USER_ERRORS = (FileNotFoundError, IsADirectoryError, NotADirectoryError,
               ValueError, KeyError, pickle.UnpicklingError)


def run_cli(main: Callable[[], None]) -> None:
    """Run a tool's ``main``; user errors become ``error: ...`` + exit 1.

    Set ``RS2SAM2_DEBUG=1`` to get the full traceback instead.
    """
    try:
        main()
    except USER_ERRORS as err:
        if os.environ.get('RS2SAM2_DEBUG'):
            raise
        message = err.args[0] if isinstance(err, KeyError) and err.args \
            else err
        print(f'error: {message}', file=sys.stderr)
        sys.exit(1)
