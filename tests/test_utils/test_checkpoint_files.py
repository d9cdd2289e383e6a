"""Reading checkpoint files and save_pretrained directories."""
import json
import os.path as osp

import pytest
import torch

from rs2sam2_mmseg.utils import (CheckpointError, UserInputError,
                                 check_not_source, copy_tokenizer_file,
                                 find_tokenizer_file, load_state_dict)
from .utils import save_hf_directory, save_zero_to_fp32


@pytest.fixture
def state() -> dict:
    """A few tensors with official-looking keys."""
    torch.manual_seed(0)
    return {
        'mm_extractor.beit3.text_embed.weight': torch.randn(5, 3),
        'visual_model.no_mem_embed': torch.randn(1, 1, 4),
        'text2one_linear.bias': torch.randn(1),
    }


def assert_same(loaded: dict, state: dict) -> None:
    assert sorted(loaded) == sorted(state)
    for key, value in state.items():
        assert torch.equal(loaded[key], value), key


@pytest.mark.parametrize('weights', ['safetensors', 'bin'])
@pytest.mark.parametrize('shards', [1, 2])
def test_hf_directory(tmp_path, state, weights, shards):
    path = str(tmp_path / 'hf')
    save_hf_directory(path, state, weights, shards)
    assert_same(load_state_dict(path), state)


def test_safetensors_preferred(tmp_path, state):
    path = str(tmp_path / 'hf')
    save_hf_directory(path, state, 'safetensors')
    torch.save({'other': torch.zeros(1)}, osp.join(path, 'pytorch_model.bin'))
    assert_same(load_state_dict(path), state)


def test_zero_to_fp32_and_files(tmp_path, state):
    path = str(tmp_path / 'pytorch_model.bin')
    save_zero_to_fp32(path, state)
    assert list(torch.load(path))[0].startswith('module.evf_model.')
    assert_same(load_state_dict(path), state)
    path = str(tmp_path / 'wrapped.pth')
    torch.save(dict(model=state), path)
    assert_same(load_state_dict(path), state)


@pytest.mark.parametrize('name', ['model.safetensors', 'pytorch_model.bin'])
def test_truncated_file(tmp_path, state, name):
    path = str(tmp_path / 'hf')
    save_hf_directory(path, state, name.split('.')[-1])
    file = osp.join(path, name)
    with open(file, 'rb') as f:
        data = f.read()
    with open(file, 'wb') as f:
        f.write(data[:len(data) // 2])
    with pytest.raises(UserInputError) as info:
        load_state_dict(path)
    message = str(info.value)
    assert message.startswith(f'{file} is not a complete checkpoint')
    assert '\n' not in message


def test_directory_errors(tmp_path, state):
    empty = str(tmp_path / 'empty')
    save_hf_directory(empty, {}, weights=None)
    with pytest.raises(
            CheckpointError,
            match=f'^{empty} holds no weights: '
            'expected one of model.safetensors.index.json'):
        load_state_dict(empty)
    sharded = str(tmp_path / 'sharded')
    save_hf_directory(sharded, state, 'safetensors', shards=2)
    index = osp.join(sharded, 'model.safetensors.index.json')
    with open(index) as f:
        shard = sorted(set(json.load(f)['weight_map'].values()))[1]
    with open(osp.join(sharded, shard), 'wb'):  # emptied
        pass
    with pytest.raises(CheckpointError, match='not a complete checkpoint'):
        load_state_dict(sharded)
    with open(index, 'w') as f:
        json.dump({'weight_map': {'a': 'gone.safetensors'}}, f)
    with pytest.raises(CheckpointError, match=f'^{index} names the shard '):
        load_state_dict(sharded)
    with open(index, 'w') as f:
        f.write('{"metadata": ')
    with pytest.raises(CheckpointError, match=f'^{index} is not a shard'):
        load_state_dict(sharded)
    with pytest.raises(FileNotFoundError, match='does not exist'):
        load_state_dict(str(tmp_path / 'nowhere.bin'))


def test_tokenizer_and_output(tmp_path, state):
    src = str(tmp_path / 'hf')
    save_hf_directory(src, state, 'bin')
    assert find_tokenizer_file(src) is None
    assert copy_tokenizer_file(src, str(tmp_path / 'a.pth')) is None
    with open(osp.join(src, 'beit3.spm'), 'w') as f:
        f.write('beit3')
    with open(osp.join(src, 'sentencepiece.bpe.model'), 'w') as f:
        f.write('bpe')
    spm = osp.join(src, 'sentencepiece.bpe.model')
    assert find_tokenizer_file(src) == spm
    assert find_tokenizer_file(osp.join(src, 'pytorch_model.bin')) == spm
    copy = copy_tokenizer_file(src, str(tmp_path / 'a.pth'))
    assert copy == str(tmp_path / 'sentencepiece.bpe.model')
    with open(copy) as f:
        assert f.read() == 'bpe'
    # beside its own source: nothing to copy
    assert copy_tokenizer_file(src, osp.join(src, 'out.pth')) == spm
    for out in (src, osp.join(src, 'pytorch_model.bin')):
        with pytest.raises(CheckpointError, match='is the checkpoint being'):
            check_not_source(out, src)
    check_not_source(osp.join(src, 'out.pth'), src)
