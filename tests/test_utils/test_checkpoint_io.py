"""Checkpoint files: read safely, refused when damaged or not fitting."""
import os
import pickle

import pytest
import torch
from mmengine.model import BaseTTAModel
from torch import nn

from rs2sam2_mmseg.utils import (UserInputError, check_checkpoint_fits,
                                 checkpoint_meta, load_checkpoint_file)


class Tiny(nn.Module):

    def __init__(self, width: int = 3) -> None:
        super().__init__()
        self.fc = nn.Linear(2, width)

    def test_step(self, data):
        return data


class Payload:
    """Pickled, it asks the loader to call ``os.system``."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.system, (f'touch {self.marker}', )


@pytest.fixture
def good(tmp_path) -> str:
    path = str(tmp_path / 'iter_2.pth')
    torch.save(dict(state_dict=Tiny().state_dict(), meta=dict(iter=2)), path)
    return path


def test_load_checkpoint_file(tmp_path, good):
    assert checkpoint_meta(good) == dict(iter=2)
    loaded = load_checkpoint_file(good)
    assert loaded['state_dict']['fc.weight'].shape == (3, 2)
    data = open(good, 'rb').read()
    damaged = {
        'empty.pth': (b'', 'is empty: not a complete checkpoint'),
        'half.pth': (data[:len(data) // 2],
                     'not a complete checkpoint (its zip archive is cut'),
        'random.pth': (bytes(range(256)) * 4, 'not a complete checkpoint'),
    }
    for name, (content, message) in damaged.items():
        path = tmp_path / name
        path.write_bytes(content)
        for mmap in (False, True):
            with pytest.raises(UserInputError) as info:
                load_checkpoint_file(str(path), mmap=mmap)
            text = str(info.value)
            assert text.startswith(str(path)) and message in text, text
            # never the advice to load it unsafely
            assert 'weights_only' not in text and '\n' not in text
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        load_checkpoint_file(str(tmp_path / 'missing.pth'))


def test_malicious_checkpoint_does_not_run(tmp_path):
    marker = tmp_path / 'payload_ran'
    path = tmp_path / 'evil.pth'
    path.write_bytes(pickle.dumps(dict(state_dict=Payload(str(marker)))))
    with pytest.raises(UserInputError, match='anything else is refused'):
        load_checkpoint_file(str(path))
    torch_saved = tmp_path / 'evil_zip.pth'
    torch.save(dict(state_dict=Payload(str(marker))), torch_saved)
    with pytest.raises(UserInputError, match='evil_zip.pth is not a'):
        check_checkpoint_fits(Tiny(), str(torch_saved))
    assert not marker.exists()


def test_check_checkpoint_fits(tmp_path, good):
    check_checkpoint_fits(Tiny(), good)

    class Wrapper(BaseTTAModel):

        def merge_preds(self, data_samples_list):
            return data_samples_list

    check_checkpoint_fits(Wrapper(module=Tiny()), good)  # --tta
    with pytest.raises(UserInputError) as info:
        check_checkpoint_fits(Tiny(width=4), good)
    assert str(info.value).startswith(
        f'{good} does not fit the model (2 tensors differ; fc.weight: (3, 2) '
        'in the checkpoint, (4, 2) in the model; fc.bias: (3,)')
    assert '--allow-partial' in str(info.value)
    other = str(tmp_path / 'other.pth')
    torch.save(dict(state_dict=dict(fc2=torch.zeros(1), fc3=torch.zeros(1))),
               other)
    with pytest.raises(UserInputError, match='4 tensors differ; fc.weight: '
                       'not in the checkpoint; .* and 1 more'):
        check_checkpoint_fits(Tiny(), other)
    torch.save([1, 2], other)
    with pytest.raises(UserInputError, match='holds no state dict'):
        check_checkpoint_fits(Tiny(), other)
