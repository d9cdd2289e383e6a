"""rs2sam2_mmseg: RS2-SAM2 referring remote-sensing segmentation for MMSeg.

The compat shims are imported FIRST: they must be in place before anything
imports ``mmseg.models`` (see :mod:`rs2sam2_mmseg.compat`). Importing the
package registers every component in MMSegmentation's registries, so
configs can use ``custom_imports = dict(imports=['rs2sam2_mmseg'])``.
"""
from . import compat  # noqa: F401  (must stay the first import)
from . import apis, datasets, evaluation, models, utils  # noqa: E402,F401
from . import visualization  # noqa: E402,F401
from . import engine  # noqa: E402,F401
from . import synthetic  # noqa: E402,F401

__version__ = '0.1.0'
