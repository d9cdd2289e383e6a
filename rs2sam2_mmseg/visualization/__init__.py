from .refer_seg_visualizer import ReferSegVisualizer, draw_referring_overlay
from .visualization_hook import ReferSegVisualizationHook, expression_name

__all__ = [
    'ReferSegVisualizer', 'draw_referring_overlay',
    'ReferSegVisualizationHook', 'expression_name'
]
