"""Parameter counts per component (start-up summary, benchmark tool)."""
from typing import List, Tuple

from torch import nn


def count_parameters(*modules: nn.Module) -> Tuple[int, int]:
    """Total and trainable parameter counts of modules (shared counted once).

    Returns:
        tuple[int, int]: ``(total, trainable)``.
    """
    params = {id(p): p for m in modules for p in m.parameters()}.values()
    return (sum(p.numel() for p in params),
            sum(p.numel() for p in params if p.requires_grad))


def parameter_table(model: nn.Module,
                    depth: int = 2) -> List[Tuple[str, int, int]]:
    """Rows ``(name, total, trainable)`` for the model and its children.

    Args:
        model (nn.Module): The model.
        depth (int): How deep to list children (1: direct children).
            Defaults to 2.

    Returns:
        list[tuple[str, int, int]]: The model itself first (name 'total').
    """
    rows = [('total', *count_parameters(model))]

    def visit(module: nn.Module, prefix: str, level: int) -> None:
        for name, child in module.named_children():
            total, trainable = count_parameters(child)
            if total:
                rows.append((prefix + name, total, trainable))
                if level < depth:
                    visit(child, f'{prefix}{name}.', level + 1)

    visit(model, '', 1)
    return rows


def format_parameter_table(rows: List[Tuple[str, int, int]]) -> str:
    """Render :func:`parameter_table` rows as aligned text (M = 1e6)."""
    width = max(len(name) for name, _, _ in rows)
    lines = [f'{"component":<{width}}  {"params":>10}  {"trainable":>10}']
    lines += [
        f'{name:<{width}}  {total / 1e6:>9.3f}M  {train / 1e6:>9.3f}M'
        for name, total, train in rows
    ]
    return '\n'.join(lines)
