"""rs2sam2_mmseg: RS2-SAM2 referring remote-sensing segmentation for MMSeg.

The compat shims are imported FIRST: they must be in place before anything
imports ``mmseg.models`` (see :mod:`rs2sam2_mmseg.compat`).
"""
from . import compat  # noqa: F401  (must stay the first import)
from . import models  # noqa: F401,E402

__version__ = '0.1.0'
