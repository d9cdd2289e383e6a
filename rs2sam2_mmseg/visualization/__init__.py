"""Drawings of referring predictions (registries VISUALIZERS, HOOKS)."""
from .refer_seg_visualizer import (ReferSegVisualizer, draw_referring_overlay,
                                   draw_referring_sample)
from .visualization_hook import ReferSegVisualizationHook, expression_name

__all__ = [
    'ReferSegVisualizer', 'draw_referring_overlay', 'draw_referring_sample',
    'ReferSegVisualizationHook', 'expression_name'
]
