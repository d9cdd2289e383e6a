from .binary_dice_loss import BinaryDiceLoss
from .text_boundary_loss import TextGuidedBoundaryLoss
from .two_class_cross_entropy_loss import (TwoClassCrossEntropyLoss,
                                           two_class_logits)
from .two_class_dice_loss import TwoClassDiceLoss

__all__ = [
    'BinaryDiceLoss', 'TextGuidedBoundaryLoss', 'TwoClassCrossEntropyLoss',
    'TwoClassDiceLoss', 'two_class_logits'
]
