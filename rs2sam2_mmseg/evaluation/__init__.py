"""Referring segmentation metrics (registry METRICS)."""
from .refer_seg_metric import ReferSegMetric

__all__ = ['ReferSegMetric']
