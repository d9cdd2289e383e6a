"""Text tables and metric files for the command-line tools."""
import json
import os
import os.path as osp
from numbers import Number
from typing import Dict, Sequence


def format_table(header: Sequence[str],
                 rows: Sequence[Sequence],
                 title: str = '') -> str:
    """Render rows as an aligned text table.

    The first column is left-aligned, the others right-aligned; floats are
    printed with two decimals.

    Args:
        header (Sequence[str]): Column names.
        rows (Sequence[Sequence]): Cells, one sequence per row.
        title (str): A first line. Defaults to ''.

    Returns:
        str: The table.
    """
    cells = [list(header)] + [[
        f'{v:.2f}' if isinstance(v, float) else str(v) for v in row
    ] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]

    def line(row: Sequence[str]) -> str:
        return '  '.join([row[0].ljust(widths[0])] +
                         [c.rjust(w) for c, w in zip(row[1:], widths[1:])])

    lines = [title] if title else []
    lines += [line(cells[0]), '-' * len(line(cells[0]))]
    lines += [line(row) for row in cells[1:]]
    return '\n'.join(lines)


def format_metric_table(metrics: Dict[str, Number], title: str = '') -> str:
    """Render metrics as a two-column text table.

    Args:
        metrics (dict[str, Number]): Name -> value (e.g. ``mIoU``, ``oIoU``,
            ``Pr@0.5``, ``num_expressions``).
        title (str): A first line. Defaults to ''.

    Returns:
        str: The table.
    """
    return format_table(('metric', 'value'), list(metrics.items()), title)


def save_metrics(metrics: Dict[str, Number], path: str) -> str:
    """Write metrics to a JSON file (folders created).

    Args:
        metrics (dict[str, Number]): Name -> value.
        path (str): The JSON file.

    Returns:
        str: ``path``.
    """
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    values = {
        k: v if isinstance(v, int) else float(v)
        for k, v in metrics.items()
    }
    with open(path, 'w', encoding='utf-8') as f:
        json.dump(values, f, indent=2)
    return path
