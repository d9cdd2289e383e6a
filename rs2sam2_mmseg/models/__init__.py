from .backbones import *  # noqa: F401,F403
from .data_preprocessor import ReferSegDataPreProcessor
from .decode_heads import *  # noqa: F401,F403
from .losses import *  # noqa: F401,F403
from .necks import *  # noqa: F401,F403
from .segmentors import *  # noqa: F401,F403

__all__ = [
    'ReferSegDataPreProcessor', 'SAM2HieraBHF', 'BHFAdapter',
    'TextVisualGate', 'SAM2MaskPromptHead', 'MaskPromptGenerator',
    'BinaryDiceLoss', 'TextGuidedBoundaryLoss', 'UnionEncoder',
    'MultiwayLayer', 'RS2SAM2', 'ReferSegTTAModel'
]
