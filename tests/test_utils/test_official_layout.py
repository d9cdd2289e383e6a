"""The official RS2-SAM2 key map (``OFFICIAL_LAYOUT``) and the paper model.

``data/rs2sam2_official_keys.json`` is the key -> shape list of the
official ``EvfSamModel`` as ``save_pretrained`` writes it (the header of
its model.safetensors, made by /work/shared/tools/official_oracle.py from
rongfu-dsb/RS2-SAM2 @7321e75 at random init; the released checkpoints
have the same layout).
"""
import json
import os.path as osp
from collections import Counter
from typing import Dict, List

import pytest
import torch
from mmengine.config import Config

from rs2sam2_mmseg.utils import (BEIT3_LAYOUT, LAYOUTS, OFFICIAL_LAYOUT,
                                 CheckpointError, check_complete,
                                 match_state_dict, model_state_for_config,
                                 read_checkpoint)
from ..test_models.utils import REPO

OFFICIAL_KEYS = osp.join(
    osp.dirname(osp.abspath(__file__)), 'data', 'rs2sam2_official_keys.json')
PAPER_CONFIG = osp.join(REPO, 'configs', 'rs2sam2_rrsisd.py')
#: A small sentencepiece model (the union encoder's tests make it).
SPM_FILE = osp.join(REPO, 'tests', 'test_models', 'fixtures', 'tiny_spm.model')
BLOCK = 'visual_model.image_encoder.trunk.blocks.47.'


def official_keys() -> Dict[str, List[int]]:
    """The official model's key -> shape list."""
    with open(OFFICIAL_KEYS) as f:
        return json.load(f)


def test_rules():
    target = OFFICIAL_LAYOUT.target
    for name, ours in [
        ('MLP_Adapter.D_fc1.weight', 'mlp_adapter.0.weight'),
        ('MLP_Adapter.D_fc2.bias', 'mlp_adapter.2.bias'),
        ('Space_Adapter.D_fc1.bias', 'down.bias'),
        ('Space_Adapter.D_fc2.weight', 'up.weight'),
        ('Space_Adapter.text_in_linear.weight', 'text_in.weight'),
        ('Space_Adapter.text_out_linear.bias', 'text_out.bias'),
        ('Space_Adapter.vlfusion_module.multihead_attn.in_proj_weight',
         'vision_to_text.in_proj_weight'),
        ('Space_Adapter.lvfusion_module.multihead_attn.out_proj.bias',
         'text_to_vision.out_proj.bias'),
    ]:
        assert target(BLOCK + name) == f'backbone.adapters.47.{ours}'
    assert target(BLOCK + 'attn.qkv.weight') == \
        'backbone.image_encoder.trunk.blocks.47.attn.qkv.weight'
    decoder = 'visual_model.sam_mask_decoder.'
    assert target(decoder + 'vlfusion_module.multihead_attn.in_proj_bias') \
        == 'decode_head.text_fusion.attn.in_proj_bias'
    assert target(decoder + 'iou_token.weight') == \
        'decode_head.mask_decoder.iou_token.weight'
    for key, ours in [
        ('mm_extractor.beit3.encoder.layers.0.ffn.A.fc1.weight',
         'union_encoder.beit3.encoder.layers.0.ffn.A.fc1.weight'),
        ('text_feat_linear.weight', 'union_encoder.text_proj.weight'),
        ('visual_model.sam_prompt_encoder.pe_layer.'
         'positional_encoding_gaussian_matrix',
         'decode_head.prompt_encoder.pe_layer.'
         'positional_encoding_gaussian_matrix'),
        ('visual_model.no_mem_embed', 'decode_head.no_mem_embed'),
        ('vmtoken.multihead_attn.out_proj.weight',
         'decode_head.mpg.attn.out_proj.weight'),
        ('mask_linear.bias', 'decode_head.mpg.gate.bias'),
        ('mask_product.weight', 'decode_head.mpg.out.weight'),
        ('text_hidden_fcs.0.0.weight', 'decode_head.sparse_proj.0.weight'),
        ('text_hidden_fcs.0.2.bias', 'decode_head.sparse_proj.2.bias'),
        ('text2one_linear.weight',
         'decode_head.loss_boundary.text_weight.weight'),
    ]:
        assert target(key) == ours, key


def test_full_key_list_is_covered():
    """Each official key is mapped or ignored by name, none is both."""
    keys = official_keys()
    ignored = [k for k in keys if OFFICIAL_LAYOUT.is_ignored(k)]
    assert not [k for k in ignored if OFFICIAL_LAYOUT.target(k)]
    assert Counter(
        k.split('.')[1] if k.startswith('visual_model.') else k.split('.')[0]
        for k in ignored) == {
            'memory_attention': 106,
            'memory_encoder': 40,
            'obj_ptr_proj': 6,
            'meo_linear': 2,
            'mask_downsample': 2,
            'maskmem_tpos_enc': 1,
            'no_mem_pos_enc': 1,
            'no_obj_ptr': 1
        }
    targets = [OFFICIAL_LAYOUT.target(k) for k in keys if k not in ignored]
    assert None not in targets and len(set(targets)) == len(targets)
    # 48 blocks x 20 adapter tensors
    assert sum(t.startswith('backbone.adapters.') for t in targets) == 960
    source = {k: torch.empty(v, device='meta') for k, v in keys.items()}
    assert [
        layout for layout in LAYOUTS if all(
            layout.target(k) or layout.is_ignored(k) for k in source)
    ] == [OFFICIAL_LAYOUT]


@pytest.mark.skipif(
    not osp.isfile(SPM_FILE), reason='needs the union encoder fixtures')
def test_paper_model_gets_every_key():
    """The official list fills the paper model exactly (built on meta)."""
    model_state = model_state_for_config(
        Config.fromfile(PAPER_CONFIG),
        'meta',
        union_encoder=dict(spm_file=SPM_FILE))
    source = {
        k: torch.empty(v, device='meta')
        for k, v in official_keys().items()
    }
    report = match_state_dict('official', OFFICIAL_LAYOUT, source, model_state)
    check_complete(report)
    assert len(report.ignored) == 159
    assert len(report.state_dict) == len(model_state) == 2853 - 159
    # one key the model lacks is named
    del source[BLOCK + 'MLP_Adapter.D_fc1.bias']
    report = match_state_dict('official', OFFICIAL_LAYOUT, source, model_state)
    with pytest.raises(
            CheckpointError,
            match='needs backbone.adapters.47.mlp_adapter.0.bias'):
        check_complete(report)


def test_zero_to_fp32_layout(tmp_path):
    path = str(tmp_path / 'pytorch_model.bin')
    torch.save(
        {
            'module.evf_model.visual_model.no_mem_embed': torch.ones(1),
            'module.evf_model.meo_linear.bias': torch.ones(1)
        }, path)
    layout, state = read_checkpoint(path, OFFICIAL_LAYOUT)
    assert layout is OFFICIAL_LAYOUT
    assert sorted(state) == ['meo_linear.bias', 'visual_model.no_mem_embed']


def test_beit3_unilm_layout(tmp_path):
    """unilm's BEiT-3 checkpoints (the union encoder's ``pretrained``)."""
    path = str(tmp_path / 'beit3_large_patch16_224.pth')
    torch.save(
        dict(
            model={
                'beit3.text_embed.weight': torch.ones(3, 2),
                'beit3.encoder.layer_norm.B.bias': torch.ones(2)
            }), path)
    layout, state = read_checkpoint(path)
    assert layout is BEIT3_LAYOUT
    assert [layout.target(k) for k in state] == [
        'union_encoder.beit3.text_embed.weight',
        'union_encoder.beit3.encoder.layer_norm.B.bias'
    ]
    with pytest.raises(
            CheckpointError,
            match='holds BEiT-3 .unilm. keys .2 of 2., not '
            'RS2-SAM2 official ones'):
        read_checkpoint(path, OFFICIAL_LAYOUT)
