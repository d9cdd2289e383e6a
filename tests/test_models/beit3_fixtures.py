"""The committed BEiT-3 / tokenizer fixtures (see fixtures/make_*.py)."""
import json
import os.path as osp

import torch

FIXTURES = osp.join(osp.dirname(__file__), 'fixtures')
SPM_FILE = osp.join(FIXTURES, 'tiny_spm.model')


def load_tiny_beit3() -> dict:
    """The tiny torchscale BEiT-3: state dict, inputs and encoder_out."""
    return torch.load(osp.join(FIXTURES, 'beit3_tiny.pt'), weights_only=True)


def tiny_beit3_kwargs(fixture: dict) -> dict:
    """Our ``BEiT3`` arguments for the fixture's torchscale config."""
    cfg = fixture['config']
    return dict(
        embed_dims=cfg['encoder_embed_dim'],
        num_layers=cfg['encoder_layers'],
        num_heads=cfg['encoder_attention_heads'],
        ffn_dims=cfg['encoder_ffn_embed_dim'],
        vocab_size=cfg['vocab_size'],
        image_size=cfg['img_size'],
        patch_size=cfg['patch_size'],
        max_text_positions=cfg['max_source_positions'])


def load_json(name: str) -> dict:
    """A JSON fixture."""
    with open(osp.join(FIXTURES, name), encoding='utf-8') as f:
        return json.load(f)
