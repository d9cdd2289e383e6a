"""Metric tables for the command-line tools."""
import json
import os
import os.path as osp
from typing import Dict


def format_metric_table(metrics: Dict[str, float], title: str = '') -> str:
    """Render metrics as a two-column text table.

    Args:
        metrics (dict): Name -> value (e.g. ``mIoU``, ``oIoU``, ``Pr@0.5``).
        title (str): A first line. Defaults to ''.

    Returns:
        str: The table.
    """
    width = max([len(k) for k in metrics] + [6])
    lines = [title] if title else []
    lines.append(f'{"metric":<{width}}  {"value":>8}')
    lines.append('-' * (width + 10))
    for key, value in metrics.items():
        text = f'{value:8.2f}' if isinstance(value, float) else f'{value:>8}'
        lines.append(f'{key:<{width}}  {text}')
    return '\n'.join(lines)


def save_metrics(metrics: Dict[str, float], path: str) -> str:
    """Write metrics to a JSON file (folders created).

    Returns:
        str: ``path``.
    """
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with open(path, 'w', encoding='utf-8') as f:
        json.dump({k: float(v) for k, v in metrics.items()}, f, indent=2)
    return path
