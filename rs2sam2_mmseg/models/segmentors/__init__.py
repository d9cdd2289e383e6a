from .refer_seg_tta import ReferSegTTAModel
from .rs2sam2 import RS2SAM2

__all__ = ['RS2SAM2', 'ReferSegTTAModel']
