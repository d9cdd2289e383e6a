"""The union encoder: joint image + sentence encoding (the "text neck")."""
import os.path as osp
import warnings
from typing import Dict, List, Optional, Sequence, Tuple

import open_clip
from open_clip.pos_embed import get_2d_sincos_pos_embed
import torch
from mmengine.model import BaseModule
from mmseg.registry import MODELS
from mmseg.utils import OptMultiConfig
from torch import Tensor, nn

from ..utils.resize import resize_square


class MultiwayLayer(nn.Module):
    """A BEiT-3 style multiway transformer layer.

    Self-attention is shared by all tokens; the feed-forward network (and
    its pre-norm) is modality specific: one expert for the vision tokens
    (the multimodal class token included) and one for the text tokens.

    Args:
        embed_dims (int): Token width C.
        num_heads (int): Attention heads.
        mlp_ratio (float): FFN hidden width / C.
        dropout (float): Dropout in attention and FFN.
    """

    def __init__(self, embed_dims: int, num_heads: int, mlp_ratio: float,
                 dropout: float) -> None:
        super().__init__()
        self.norm_attn = nn.LayerNorm(embed_dims)
        self.attn = nn.MultiheadAttention(
            embed_dims, num_heads, dropout=dropout, batch_first=True)
        hidden = int(embed_dims * mlp_ratio)
        self.norm_vis, self.norm_txt = (nn.LayerNorm(embed_dims)
                                        for _ in range(2))
        self.ffn_vis, self.ffn_txt = (nn.Sequential(
            nn.Linear(embed_dims, hidden), nn.GELU(), nn.Dropout(dropout),
            nn.Linear(hidden, embed_dims)) for _ in range(2))

    def forward(self, tokens: Tensor, padding_mask: Tensor,
                num_vision: int) -> Tensor:
        """Run one layer.

        Args:
            tokens (Tensor): [CLS_mm; vis; txt] tokens of shape (B, N, C).
            padding_mask (Tensor): (B, N), True on tokens to ignore (text
                padding).
            num_vision (int): Number of leading tokens routed to the vision
                expert (1 + Nv).

        Returns:
            Tensor: Tokens of shape (B, N, C).
        """
        x = self.norm_attn(tokens)
        tokens = tokens + self.attn(
            x, x, x, key_padding_mask=padding_mask, need_weights=False)[0]
        vis, txt = tokens[:, :num_vision], tokens[:, num_vision:]
        vis = vis + self.ffn_vis(self.norm_vis(vis))
        txt = txt + self.ffn_txt(self.norm_txt(txt))
        return torch.cat([vis, txt], dim=1)


@MODELS.register_module()
class UnionEncoder(BaseModule):
    """Union encoder of RS2-SAM2: joint encoding of image and sentence.

    An ``open_clip`` model provides the towers (any model name with a
    ``VisionTransformer`` image tower and a ``TextTransformer`` text tower;
    the model is created with ``force_custom_text=True`` so the text tower
    is a module of its own). Its patch tokens and per-token text features
    are projected to ``embed_dims`` and fused by ``num_fusion_layers``
    multiway layers over ``[CLS_mm ; vis ; txt]`` (shared self-attention,
    modality-specific FFNs, as in BEiT-3, which the RS2-SAM2 paper uses as
    its union encoder). Vision tokens carry a 2-D position embedding
    (learnable, initialised as 2-D sin-cos) and both modalities a learned
    type embedding inside the fusion layers.

    The image arrives normalised for SAM2 (``input_mean``/``input_std``,
    0-255 scale) at SAM2's input size; it is re-normalised for the CLIP
    tower and resized to ``image_size`` (e.g. 224) independently of the
    SAM2 input size.

    Credit: RS2-SAM2 (Rong et al., 2025, arXiv:2503.07266); BEiT-3 (Wang
    et al., 2023); towers from OpenCLIP (MIT licence).

    Args:
        model_name (str): open_clip model name, e.g. ``'ViT-L-14'``.
        pretrained (str, optional): Local checkpoint file open_clip accepts
            (``.pt``, ``.bin``, ``.safetensors``). Defaults to None (random
            init; no download is attempted).
        image_size (int): Input side of the image tower. Defaults to 224.
        context_length (int, optional): Token context; None keeps the
            model's (77 for CLIP). Defaults to None.
        model_kwargs (dict, optional): Overrides of the open_clip model
            config (``embed_dim``, ``vision_cfg``, ``text_cfg``) for custom
            (e.g. tiny) towers. Defaults to None.
        embed_dims (int): Output width C of all returned tokens.
            Defaults to 256.
        num_fusion_layers (int): Multiway layers. Defaults to 2.
        num_heads (int): Heads of the fusion layers. Defaults to 8.
        mlp_ratio (float): FFN ratio of the fusion layers. Defaults to 4.
        dropout (float): Dropout of the fusion layers. Defaults to 0.
        freeze_vision (bool): Freeze the image tower. Defaults to False.
        freeze_text (bool): Freeze the text tower. Defaults to False.
        token_vocab (Sequence[str], optional): Words whose tokens get rows
            of their own in the text tower's token embedding, built with
            only those rows (plus the padding, start and end tokens and
            one row every other token shares) instead of one per token of
            the tokenizer (49408 for CLIP). A general option for any tower
            trained from scratch on a closed vocabulary: the full table is
            most of a tiny model's parameters, updated and all-reduced
            every step though few rows are used. The synthetic demo uses
            it; the paper configs (pretrained towers) leave it off. A
            sentence with other words is encoded with a warning. Not with
            ``pretrained``. Defaults to None (the tokenizer's vocabulary).
        input_mean (Sequence[float]): Mean the input was normalised with
            (0-255 scale). Defaults to SAM2's (ImageNet) mean.
        input_std (Sequence[float]): Std the input was normalised with.
            Defaults to SAM2's (ImageNet) std.
        init_cfg (dict or list[dict], optional): Defaults to None.
    """

    def __init__(self,
                 model_name: str = 'ViT-L-14',
                 pretrained: Optional[str] = None,
                 image_size: int = 224,
                 context_length: Optional[int] = None,
                 model_kwargs: Optional[dict] = None,
                 embed_dims: int = 256,
                 num_fusion_layers: int = 2,
                 num_heads: int = 8,
                 mlp_ratio: float = 4.,
                 dropout: float = 0.,
                 freeze_vision: bool = False,
                 freeze_text: bool = False,
                 token_vocab: Optional[Sequence[str]] = None,
                 input_mean: Sequence[float] = (123.675, 116.28, 103.53),
                 input_std: Sequence[float] = (58.395, 57.12, 57.375),
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if token_vocab is not None and pretrained is not None:
            raise ValueError(
                'token_vocab builds the token embedding anew for a text '
                'tower trained from scratch; with a pretrained checkpoint '
                'leave it None.')
        if pretrained is not None and not osp.isfile(pretrained):
            raise FileNotFoundError(
                f'open_clip checkpoint {pretrained!r} does not exist (give '
                'a local file; configs: --cfg-options '
                'model.union_encoder.pretrained=PATH).')
        clip = open_clip.create_model(
            model_name,
            pretrained=pretrained,
            force_custom_text=True,
            force_image_size=image_size,
            force_context_length=context_length,
            **(model_kwargs or {}))
        self.visual, self.text = clip.visual, clip.text
        towers = open_clip.transformer
        if not isinstance(self.visual, towers.VisionTransformer) or \
                not isinstance(self.text, towers.TextTransformer):
            raise TypeError(
                f'UnionEncoder needs an open_clip model with a '
                f'VisionTransformer image tower and a TextTransformer text '
                f'tower; {model_name!r} has {type(self.visual).__name__} / '
                f'{type(self.text).__name__}.')
        self.visual.output_tokens = self.text.output_tokens = True
        # CLIP's contrastive projections of the pooled outputs are unused
        # (tokens are taken); dropping them keeps every parameter in the
        # loss, as DDP requires without find_unused_parameters
        self.visual.proj = self.text.text_projection = None
        self.tokenizer = open_clip.get_tokenizer(
            model_name, context_length=self.text.context_length)
        self.register_buffer(
            'token_map',
            None if token_vocab is None else self._restrict_vocab(
                token_vocab), False)
        self.image_size = image_size
        self.grid_size = tuple(self.visual.grid_size)
        self._register_normalisation(input_mean, input_std,
                                     self.visual.preprocess_cfg)
        for tower, frozen in ((self.visual, freeze_vision),
                              (self.text, freeze_text)):
            tower.requires_grad_(not frozen)
        self.freeze_vision, self.freeze_text = freeze_vision, freeze_text

        self.embed_dims = embed_dims
        self.vis_proj = nn.Linear(self.visual.transformer.width, embed_dims)
        self.txt_proj = nn.Linear(self.text.transformer.width, embed_dims)
        num_patches = self.grid_size[0] * self.grid_size[1]
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dims))
        self.vis_pos = nn.Parameter(torch.zeros(1, num_patches, embed_dims))
        self.type_embed = nn.Parameter(torch.zeros(2, embed_dims))
        self.layers = nn.ModuleList(
            MultiwayLayer(embed_dims, num_heads, mlp_ratio, dropout)
            for _ in range(num_fusion_layers))
        self.norm = nn.LayerNorm(embed_dims)
        for param in (self.cls_token, self.type_embed):
            nn.init.trunc_normal_(param, std=0.02)
        # explicit 2-D positions from the start (learnable): position words
        # ('left', 'top', 'left of') need them in the joint layers
        self.vis_pos.data.copy_(
            torch.from_numpy(
                get_2d_sincos_pos_embed(embed_dims, self.grid_size[0]))[None])

    def _register_normalisation(self, input_mean: Sequence[float],
                                input_std: Sequence[float],
                                preprocess_cfg: dict) -> None:
        """Affine map from the SAM2 normalisation to the CLIP one."""
        in_mean = torch.tensor(input_mean).view(1, 3, 1, 1)
        in_std = torch.tensor(input_std).view(1, 3, 1, 1)
        clip_mean = torch.tensor(preprocess_cfg['mean']).view(1, 3, 1, 1)
        clip_std = torch.tensor(preprocess_cfg['std']).view(1, 3, 1, 1)
        # clip = (raw / 255 - clip_mean) / clip_std, raw = x * in_std + mean
        self.register_buffer('renorm_scale', in_std / 255 / clip_std, False)
        self.register_buffer('renorm_shift',
                             (in_mean / 255 - clip_mean) / clip_std, False)

    def _restrict_vocab(self, token_vocab: Sequence[str]) -> Tensor:
        """Rebuild the token embedding with rows for ``token_vocab`` only.

        Args:
            token_vocab (Sequence[str]): The words that get rows.

        Returns:
            Tensor: (V,) long map from tokenizer ids to the new rows; every
            id outside the vocabulary maps to the last row.
        """
        if isinstance(token_vocab, str) or not token_vocab:
            raise ValueError('token_vocab must be a non-empty list of words, '
                             f'got {token_vocab!r}.')
        if self.text.pad_id != 0:
            raise ValueError('token_vocab needs a text tower that pads with '
                             f'id 0 (CLIP), not {self.text.pad_id}.')
        # sorted ids of the words with start, end and padding (0, row 0)
        kept = torch.unique(self.tokenizer(list(token_vocab)))
        old = self.text.token_embedding
        token_map = torch.full((old.num_embeddings, ), len(kept))
        token_map[kept] = torch.arange(len(kept))
        self.text.token_embedding = nn.Embedding(
            len(kept) + 1, old.embedding_dim)
        nn.init.normal_(
            self.text.token_embedding.weight, std=old.weight.std().item())
        return token_map

    def train(self, mode: bool = True) -> 'UnionEncoder':
        """Keep frozen towers in eval mode."""
        super().train(mode)
        for tower, frozen in ((self.visual, self.freeze_vision),
                              (self.text, self.freeze_text)):
            if frozen:
                tower.eval()
        return self

    def tokenize(self,
                 texts: List[str],
                 sample_names: Optional[List[str]] = None
                 ) -> Tuple[Tensor, Tensor]:
        """Tokenize sentences with the tower's own tokenizer.

        Args:
            texts (list[str]): B referring expressions.
            sample_names (list[str], optional): Names used in messages
                (sent_id or image). Defaults to None (batch indices).

        Returns:
            tuple[Tensor, Tensor]: ids (B, L_ctx), rows of the token
            embedding (the tokenizer's ids, mapped to the ``token_vocab``
            rows if it is set), and the real-token mask (B, L_ctx), True
            on real tokens (sot/eot included).
        """
        names = sample_names or [f'batch index {i}' for i in range(len(texts))]
        for text, name in zip(texts, names):
            if not isinstance(text, str) or not text.strip():
                raise ValueError(
                    f'Empty referring expression for sample {name}: every '
                    'sample needs a non-empty metainfo["text"].')
        context = self.text.context_length
        ids = self.tokenizer(texts).to(self.renorm_scale.device)
        real = ids != self.text.pad_id
        if self.token_map is not None:
            ids = self.token_map[ids]
            unknown = (ids == self.text.token_embedding.num_embeddings -
                       1).sum(1)
            for text, name, count in zip(texts, names, unknown.tolist()):
                if count:
                    warnings.warn(
                        f'Sample {name}: {count} token(s) of {text!r} are '
                        'not in the text vocabulary of the config '
                        '(union_encoder.token_vocab); they share one '
                        'embedding row.')
        # count with a context long enough to never truncate
        lengths = (self.tokenizer(texts, context_length=4096) !=
                   self.text.pad_id).sum(1)
        for name, length in zip(names, lengths.tolist()):
            if length > context:
                warnings.warn(
                    f'Referring expression of sample {name} has {length} '
                    f'tokens; truncated to the context length {context}.')
        return ids, real

    def forward(self,
                inputs: Tensor,
                texts: List[str],
                sample_names: Optional[List[str]] = None,
                union_inputs: Optional[Tensor] = None) -> Dict[str, Tensor]:
        """Encode images and sentences jointly.

        Args:
            inputs (Tensor): Images normalised for SAM2, (B, 3, H, W).
            texts (list[str]): B referring expressions.
            sample_names (list[str], optional): For messages. Defaults to
                None.
            union_inputs (Tensor, optional): (B, 3, h, w) images normalised
                as ``inputs``, made for this encoder by the data pipeline
                (``UnionImageResize``); used instead of ``inputs`` when
                given. Defaults to None.

        Returns:
            dict[str, Tensor]:

            - vis (B, Nv, C): visual tokens, Nv = gh * gw patches.
            - txt (B, L, C): per-token text embeddings, L = longest
              sentence of the batch (sot + tokens + eot).
            - txt_mask (B, L): True on real tokens.
            - cls (B, C): the multimodal class token.

            The patch grid is square (the tower input is resized to
            ``image_size`` x ``image_size``): gh = gw = sqrt(Nv).
        """
        ids, real = self.tokenize(texts, sample_names)
        length = int(real.sum(1).max())
        image = inputs if union_inputs is None else union_inputs
        image = image * self.renorm_scale + self.renorm_shift
        image = resize_square(image, self.image_size)
        grad = torch.is_grad_enabled()
        with torch.set_grad_enabled(grad and not self.freeze_vision):
            _, vis = self.visual(image)  # (B, Nv, Wv)
        with torch.set_grad_enabled(grad and not self.freeze_text):
            # trailing padding is cut after the tower (exact)
            _, txt = self.text(ids)  # (B, L_ctx, Wt)
        txt, txt_mask = txt[:, :length], real[:, :length]

        vis = self.vis_proj(vis) + self.vis_pos + self.type_embed[0]
        txt = self.txt_proj(txt) + self.type_embed[1]
        cls = self.cls_token.expand(len(vis), -1, -1)
        tokens = torch.cat([cls, vis, txt], dim=1)
        num_vision = 1 + vis.shape[1]
        padding = torch.cat([txt_mask.new_zeros(len(vis), num_vision),
                             ~txt_mask], dim=1)
        for layer in self.layers:
            tokens = layer(tokens, padding, num_vision)
        tokens = self.norm(tokens)
        return dict(
            cls=tokens[:, 0],
            vis=tokens[:, 1:num_vision],
            txt=tokens[:, num_vision:],
            txt_mask=txt_mask)
