"""Load the official-module fixtures and rename their keys to ours.

The fixtures are made by ``fixtures/make_official_sam2side_fixtures.py``
from the official RS2-SAM2 code; the renames below are the ones of the
released-checkpoint converter (``docs``: PAPER_INTERFACES, converter part),
restricted to one Hiera block / one head part.
"""
import os.path as osp
from typing import Dict

import torch
from torch import Tensor

FIXTURES = osp.join(osp.dirname(osp.abspath(__file__)), 'fixtures')

#: official ``trunk.blocks.N.<key>`` -> ``backbone.adapters.N.<key>``
ADAPTER_RENAMES = {
    'Space_Adapter.D_fc1': 'down',
    'Space_Adapter.D_fc2': 'up',
    'Space_Adapter.text_in_linear': 'text_in',
    'Space_Adapter.text_out_linear': 'text_out',
    'Space_Adapter.vlfusion_module.multihead_attn': 'vision_to_text',
    'Space_Adapter.lvfusion_module.multihead_attn': 'text_to_vision',
    'MLP_Adapter.D_fc1': 'mlp_adapter.0',
    'MLP_Adapter.D_fc2': 'mlp_adapter.2',
}
#: official ``vmtoken`` / ``mask_linear`` / ``mask_product`` -> ``mpg.*``
MPG_RENAMES = {
    'vmtoken.multihead_attn': 'attn',
    'mask_linear': 'gate',
    'mask_product': 'out',
}


def load(name: str) -> dict:
    """The fixture ``official_<name>.pt``."""
    return torch.load(
        osp.join(FIXTURES, f'official_{name}.pt'), weights_only=True)


def rename(state: Dict[str, Tensor], renames: Dict[str,
                                                   str]) -> Dict[str, Tensor]:
    """Keys under a renamed prefix, renamed; the others dropped."""
    out = {}
    for key, value in state.items():
        for old, new in renames.items():
            if key.startswith(old + '.'):
                out[new + key[len(old):]] = value
    return out


def split_block(state: Dict[str, Tensor]) -> tuple:
    """An official block's state: (SAM2 block keys, our adapter keys)."""
    block = {
        k: v
        for k, v in state.items()
        if not k.startswith(('Space_Adapter.', 'MLP_Adapter.'))
    }
    return block, rename(state, ADAPTER_RENAMES)
