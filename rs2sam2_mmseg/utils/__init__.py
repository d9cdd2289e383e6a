from .cli import USER_ERRORS, run_cli
from .config import (PRETRAINED_PATHS, apply_pretrained_paths,
                     configure_launcher, drop_amp_without_cuda, enable_amp,
                     load_config)
from .report import format_metric_table, save_metrics

__all__ = [
    'USER_ERRORS', 'run_cli', 'PRETRAINED_PATHS', 'apply_pretrained_paths',
    'configure_launcher', 'drop_amp_without_cuda', 'enable_amp',
    'load_config', 'format_metric_table', 'save_metrics'
]
