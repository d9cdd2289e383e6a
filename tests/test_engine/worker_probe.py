"""Collate function that reports, from a DataLoader worker, its shims.

Deliberately imports nothing of rs2sam2_mmseg: in a spawned worker the
package (and its compat shims) must arrive through unpickling the dataset.
"""
import os
import sys

from mmengine.dataset import pseudo_collate


def collate_with_worker_state(batch: list) -> dict:
    """``pseudo_collate`` plus the worker's pid and shim status.

    Returns:
        dict: ``batch`` (the collated batch), ``pid`` and ``shims``
        (``rs2sam2_mmseg.compat.shim_status()``, None when the package was
        never imported in this process).
    """
    compat = sys.modules.get('rs2sam2_mmseg.compat')
    return dict(
        batch=pseudo_collate(batch),
        pid=os.getpid(),
        shims=compat.shim_status() if compat else None)
