"""XLMRobertaSentencePieceTokenizer: the official ids (fixtures)."""
import pytest
import torch

from rs2sam2_mmseg.models.utils import XLMRobertaSentencePieceTokenizer
from .beit3_fixtures import SPM_FILE, load_json


def test_ids_equal_the_official_tokenizer():
    expected = load_json('xlmr_tokenizer_ids.json')
    tokenizer = XLMRobertaSentencePieceTokenizer(SPM_FILE)
    for sentence, ids in zip(expected['sentences'], expected['ids']):
        assert tokenizer.encode(sentence) == ids, sentence
    ids, mask = tokenizer(expected['sentences'])
    assert ids.tolist() == expected['batch_ids']
    assert mask.tolist() == expected['batch_mask']
    # the fixture covers unknown pieces (id 3) and a batch with padding
    assert 3 in expected['ids'][5] and not all(map(all, mask.tolist()))


def test_padding_rule():
    tokenizer = XLMRobertaSentencePieceTokenizer(SPM_FILE)
    # a real unknown piece (3) is masked like padding, as official
    ids, mask = tokenizer.pad([[0, 7, 3, 2], [0, 9, 2]])
    assert ids.tolist() == [[0, 7, 3, 2], [0, 9, 2, 3]]
    assert mask.tolist() == [[True, True, False, True],
                             [True, True, True, False]]
    assert ids.dtype == torch.long and mask.dtype == torch.bool


def test_vocabulary_size_and_missing_file():
    tokenizer = XLMRobertaSentencePieceTokenizer(SPM_FILE)
    assert len(tokenizer) == tokenizer.sp_model.get_piece_size() + 1
    assert repr(tokenizer).endswith("tiny_spm.model')")
    with pytest.raises(FileNotFoundError, match='beit3.spm'):
        XLMRobertaSentencePieceTokenizer('/nonexistent/beit3.spm')
