from .bhf_adapter import BHFAdapter, TextVisualGate
from .sam2_hiera_bhf import SAM2HieraBHF

__all__ = ['BHFAdapter', 'TextVisualGate', 'SAM2HieraBHF']
