"""The XLM-R sentencepiece tokenizer of BEiT-3, as RS2-SAM2 calls it."""
import os.path as osp
from typing import List, Sequence, Tuple

import sentencepiece
import torch
from torch import Tensor


class XLMRobertaSentencePieceTokenizer:
    """Token ids of BEiT-3's text embedding from its sentencepiece model.

    Gives the ids of the official RS2-SAM2 path, transformers' slow
    ``XLMRobertaTokenizer`` on the checkpoint's ``beit3.spm`` with
    ``pad_token = unk_token`` (``lib/referformer.py``), using sentencepiece
    alone: the fairseq dictionary puts ``<s>`` = 0, ``<pad>`` = 1,
    ``</s>`` = 2, ``<unk>`` = 3 before the pieces, so piece i gets i + 1 and
    sentencepiece's unknown piece (0) gets 3. A sentence is ``<s>`` pieces
    ``</s>``; a batch is right-padded with 3 and its mask is ``ids != 3``
    (as official: a real unknown piece is masked too). Nothing is
    truncated here.

    Not reproduced: transformers splits the special-token strings
    (``<s>``, ``</s>``, ``<unk>``, ``<pad>``, ``<mask>``, ``[SEG]``) out of a
    sentence before sentencepiece; here they are plain text.

    Args:
        spm_file (str): The sentencepiece model (``beit3.spm``, XLM-R's
            ``sentencepiece.bpe.model``).
    """

    bos_id = 0
    eos_id = 2
    unk_id = 3
    pad_id = unk_id
    #: Shift of sentencepiece's ids (fairseq's dictionary order).
    offset = 1

    def __init__(self, spm_file: str) -> None:
        if not osp.isfile(spm_file):
            raise FileNotFoundError(
                f'sentencepiece model {spm_file!r} does not exist: give the '
                "BEiT-3 checkpoint's beit3.spm (XLM-R sentencepiece model).")
        self.spm_file = spm_file
        self.sp_model = sentencepiece.SentencePieceProcessor(
            model_file=spm_file)

    def __len__(self) -> int:
        """Ids this tokenizer can produce: 0 .. len(self) - 1."""
        return self.sp_model.get_piece_size() + self.offset

    def __repr__(self) -> str:
        return f'{type(self).__name__}(spm_file={self.spm_file!r})'

    def encode(self, text: str) -> List[int]:
        """Ids of one sentence, ``<s>`` and ``</s>`` included."""
        pieces = self.sp_model.encode(text)
        return [self.bos_id] + [
            piece + self.offset if piece else self.unk_id for piece in pieces
        ] + [self.eos_id]

    def pad(self, ids: Sequence[Sequence[int]]) -> Tuple[Tensor, Tensor]:
        """Right-pad id lists to the longest.

        Args:
            ids (Sequence[Sequence[int]]): B id lists.

        Returns:
            tuple[Tensor, Tensor]: ids (B, L) long, padded with 3, and the
            mask (B, L) bool, ``ids != 3``.
        """
        length = max(len(row) for row in ids)
        batch = torch.full((len(ids), length), self.pad_id, dtype=torch.long)
        for row, values in zip(batch, ids):
            row[:len(values)] = torch.tensor(values, dtype=torch.long)
        return batch, batch != self.pad_id

    def __call__(self, texts: Sequence[str]) -> Tuple[Tensor, Tensor]:
        """Tokenize and pad a batch; see :meth:`pad`."""
        return self.pad([self.encode(text) for text in texts])
