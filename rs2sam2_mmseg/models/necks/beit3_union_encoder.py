"""The paper's union encoder: BEiT-3 on the image and the sentence."""
import os.path as osp
import warnings
from typing import Dict, List, Optional, Sequence, Tuple, Union

from mmengine.logging import print_log
from mmengine.model import BaseModule
from mmseg.registry import MODELS
from mmseg.utils import OptMultiConfig
from torch import Tensor, nn

from ...utils.checkpoint_io import load_checkpoint_file
from ...utils.errors import UserInputError
from ..utils.checkpoint import load_prefixed_weights
from ..utils.resize import resize_square
from ..utils.xlmr_tokenizer import XLMRobertaSentencePieceTokenizer
from .beit3 import BEiT3

#: Prefix of BEiT-3 in unilm checkpoints (their ``BEiT3Wrapper.beit3``).
CHECKPOINT_PREFIX = 'beit3.'


@MODELS.register_module()
class BEiT3UnionEncoder(BaseModule):
    """Union encoder of RS2-SAM2: BEiT-3 over ``[CLS; patches; sentence]``.

    As the official ``EvfSamModel`` (``lib/evf_sam.py``): the sentence is
    tokenized with BEiT-3's XLM-R sentencepiece model
    (:class:`XLMRobertaSentencePieceTokenizer`: ``<s>`` ... ``</s>``, the
    batch right-padded with id 3, mask ``ids != 3``), BEiT-3 encodes it
    jointly with the 224 x 224 image, and the output is sliced as the
    official code does: ``cls = out[:, 0]``, ``vis = out[:, 1:1 + Np]``,
    ``txt = text_proj(out[:, -L:])`` with ``text_proj`` the official
    ``text_feat_linear``.

    Credit: RS2-SAM2 (Rong et al., 2025, arXiv:2503.07266); BEiT-3 (Wang
    et al., 2023, microsoft/unilm, MIT licence).

    Args:
        spm_file (str): BEiT-3's sentencepiece model (``beit3.spm``).
        arch (str | dict): ``'large'`` or ``'base'`` (the unilm presets),
            or a dict of :class:`BEiT3` sizes (``embed_dims``,
            ``num_layers``, ``num_heads``, ``ffn_dims``) for custom (e.g.
            tiny) models. Defaults to ``'large'``.
        vocab_size (int): Rows of the token embedding. Defaults to 64010.
        image_size (int): BEiT-3 input side S. Defaults to 224.
        patch_size (int): Patch side. Defaults to 16.
        max_text_positions (int): Text position table; longer sentences
            are truncated to this - 2 tokens with a warning. Defaults to
            1024.
        text_out_dims (int, optional): Width of ``txt`` (``text_proj``, a
            Linear from C); None returns the C-wide BEiT-3 tokens.
            Defaults to 256.
        drop_path_rate (float): BEiT-3 stochastic depth. Defaults to 0.
        with_cp (bool): Activation checkpointing of BEiT-3's layers in
            training. Defaults to False.
        pretrained (str, optional): A unilm BEiT-3 checkpoint
            (``{"model": state_dict}``, keys ``beit3.*``), loaded by
            :meth:`init_weights`. Defaults to None.
        init_cfg (dict or list[dict], optional): Defaults to None.
    """

    def __init__(self,
                 spm_file: str,
                 arch: Union[str, dict] = 'large',
                 vocab_size: int = 64010,
                 image_size: int = 224,
                 patch_size: int = 16,
                 max_text_positions: int = 1024,
                 text_out_dims: Optional[int] = 256,
                 drop_path_rate: float = 0.,
                 with_cp: bool = False,
                 pretrained: Optional[str] = None,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if isinstance(arch, str):
            if arch not in BEiT3.arch_zoo:
                raise ValueError(f'Unknown BEiT-3 arch {arch!r}; use one of '
                                 f'{sorted(BEiT3.arch_zoo)} or a dict.')
            arch = BEiT3.arch_zoo[arch]
        if pretrained is not None and not osp.isfile(pretrained):
            raise FileNotFoundError(
                f'BEiT-3 checkpoint {pretrained!r} does not exist (give a '
                'local unilm checkpoint, e.g. beit3_large_patch16_224.pth).')
        self.pretrained = pretrained
        if spm_file is None:  # an OSError: the tools print it as one line
            raise FileNotFoundError(
                'BEiT3UnionEncoder needs its sentencepiece model: set '
                'model.union_encoder.spm_file=PATH (beit3.spm, or the '
                'sentencepiece.bpe.model the converter copies beside a '
                'converted checkpoint).')
        self.tokenizer = XLMRobertaSentencePieceTokenizer(spm_file)
        if len(self.tokenizer) > vocab_size:
            raise ValueError(
                f'{spm_file} gives token ids up to {len(self.tokenizer) - 1}'
                f' but BEiT-3 has vocab_size {vocab_size}.')
        self.beit3 = BEiT3(
            **arch,
            vocab_size=vocab_size,
            image_size=image_size,
            patch_size=patch_size,
            max_text_positions=max_text_positions,
            drop_path_rate=drop_path_rate,
            with_cp=with_cp)
        embed_dims = self.beit3.text_embed.embedding_dim
        self.text_proj = None if text_out_dims is None else nn.Linear(
            embed_dims, text_out_dims)
        self.image_size = image_size

    def init_weights(self) -> None:
        """Initialise, then load ``pretrained`` (its ``beit3.*`` keys)."""
        super().init_weights()
        if self.pretrained:
            self.load_beit3_checkpoint(self.pretrained)

    def load_beit3_checkpoint(self, path: str) -> Dict[str, List[str]]:
        """Load a unilm BEiT-3 checkpoint into :attr:`beit3`.

        Like the official ``load_state_dict(..., strict=False)``, missing
        keys keep their initialisation; they are logged, with the count of
        matched keys and of keys outside ``beit3.`` (e.g. pre-training
        heads), which are ignored.

        Args:
            path (str): ``{"model": state_dict}`` file.

        Returns:
            dict: ``matched``, ``missing`` and ``unexpected`` keys
            (relative to :attr:`beit3`).
        """
        ckpt = load_checkpoint_file(path)
        if not isinstance(ckpt, dict) or not isinstance(
                ckpt.get('model'), dict):
            raise UserInputError(
                f'{path} is not a unilm BEiT-3 checkpoint: expected a dict '
                'with a "model" state dict.')
        state = ckpt['model']
        own = self.beit3.state_dict()
        if not any(key[len(CHECKPOINT_PREFIX):] in own
                   for key in state if key.startswith(CHECKPOINT_PREFIX)):
            raise UserInputError(
                f'No key of {path} is a BEiT-3 key (beit3.text_embed.weight'
                ', beit3.encoder.layers.0...): give a unilm BEiT-3 '
                'checkpoint; official RS2-SAM2 checkpoints go through '
                'tools/model_converters/rs2sam2_official_to_mmseg.py.')
        report = load_prefixed_weights(self.beit3, state, CHECKPOINT_PREFIX,
                                       path)
        ignored = [k for k in state if not k.startswith(CHECKPOINT_PREFIX)]
        print_log(
            f'BEiT-3 from {path}: {len(report["matched"])} of {len(own)} '
            f'tensors loaded, {len(report["missing"])} missing, '
            f'{len(ignored)} keys outside {CHECKPOINT_PREFIX!r} ignored'
            f'{f" (e.g. {ignored[:3]})" if ignored else ""}.',
            logger='current')
        return report

    def tokenize(
            self,
            texts: Sequence[str],
            names: Optional[Sequence[str]] = None) -> Tuple[Tensor, Tensor]:
        """Tokenize and pad sentences; truncate what BEiT-3 cannot hold.

        Args:
            texts (Sequence[str]): B referring expressions.
            names (Sequence[str], optional): Sample names for messages.
                Defaults to None (batch indices).

        Returns:
            tuple[Tensor, Tensor]: ids (B, L) padded with 3, and the mask
            (B, L) bool, True on real tokens; L = the longest sentence
            (``<s>`` and ``</s>`` included).
        """
        names = names or [f'batch index {i}' for i in range(len(texts))]
        limit = self.beit3.max_text_length
        ids = []
        for text, name in zip(texts, names):
            if not isinstance(text, str) or not text.strip():
                raise ValueError(
                    f'Empty referring expression for sample {name}: every '
                    'sample needs a non-empty metainfo["text"].')
            row = self.tokenizer.encode(text)
            if len(row) > limit:
                warnings.warn(
                    f'Referring expression of sample {name} has {len(row)} '
                    f'tokens; truncated to the {limit} text positions of '
                    'BEiT-3.')
                row = row[:limit]
            ids.append(row)
        return self.tokenizer.pad(ids)

    def forward(self,
                inputs: Tensor,
                texts: Sequence[str],
                names: Optional[Sequence[str]] = None,
                union_inputs: Optional[Tensor] = None) -> Dict[str, Tensor]:
        """Encode images and sentences jointly.

        Args:
            inputs (Tensor): Normalised images (B, 3, H, W) (ImageNet mean
                and std, as BEiT-3 in RS2-SAM2); used, resized to S x S
                (bilinear, antialiased), when ``union_inputs`` is None.
            texts (Sequence[str]): B referring expressions.
            names (Sequence[str], optional): Sample names for messages.
                Defaults to None.
            union_inputs (Tensor, optional): (B, 3, S, S) normalised images
                made from the original image. Defaults to None.

        Returns:
            dict[str, Tensor]:

            - vis (B, Np, C): patch tokens, Np = (S / P)^2 (196).
            - cls (B, C): the class token ``out[:, 0]``.
            - txt (B, L, D): text tokens, ``text_proj(out[:, -L:])``
              (D = ``text_out_dims``, C when None).
            - txt_mask (B, L): bool, True on real tokens.
        """
        if len(texts) != len(inputs):
            raise ValueError(f'{len(texts)} referring expressions for '
                             f'{len(inputs)} images: give one per image.')
        ids, mask = self.tokenize(texts, names)
        ids, mask = ids.to(inputs.device), mask.to(inputs.device)
        images = resize_square(inputs, self.image_size) if (
            union_inputs is None) else union_inputs
        out = self.beit3(images, ids, ~mask)  # (B, 1 + Np + L, C)
        txt = out[:, -ids.shape[1]:]
        return dict(
            vis=out[:, 1:1 + self.beit3.vision_embed.num_patches],
            cls=out[:, 0],
            txt=txt if self.text_proj is None else self.text_proj(txt),
            txt_mask=mask)
