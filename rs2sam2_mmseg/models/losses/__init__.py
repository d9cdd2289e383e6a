from .binary_dice_loss import BinaryDiceLoss
from .text_boundary_loss import TextGuidedBoundaryLoss

__all__ = ['BinaryDiceLoss', 'TextGuidedBoundaryLoss']
