"""BEiT-3: the multiway transformer RS2-SAM2 uses as its union encoder."""
from typing import Callable, Optional

import numpy as np
import torch
import torch.nn.functional as F
from mmcv.cnn.bricks.drop import DropPath
from mmengine.model.weight_init import trunc_normal_
from torch import Tensor, nn
from torch.utils.checkpoint import checkpoint

#: Positions of both modalities start at 2 (the fairseq convention BEiT-3
#: keeps), so a table of P rows holds P - 2 tokens.
POSITION_OFFSET = 2


class Multiway(nn.Module):
    """Two experts of one module: ``A`` for vision tokens, ``B`` for text.

    The tokens before ``split`` (the class token and the patches) go
    through ``A``, the rest (the sentence) through ``B``.

    Args:
        vision (nn.Module): Expert ``A``.
        text (nn.Module): Expert ``B``.
    """

    def __init__(self, vision: nn.Module, text: nn.Module) -> None:
        super().__init__()
        self.A, self.B = vision, text

    @classmethod
    def twin(cls, build: Callable[[], nn.Module]) -> 'Multiway':
        """Two experts of the same kind, each made by ``build()``."""
        return cls(build(), build())

    def forward(self, x: Tensor, split: int) -> Tensor:
        """Apply the experts.

        Args:
            x (Tensor): Tokens (B, N, ...).
            split (int): Number of leading vision tokens, 0 < split < N.

        Returns:
            Tensor: (B, N, ...) as the experts map them.
        """
        return torch.cat([self.A(x[:, :split]), self.B(x[:, split:])], dim=1)


class MultiwayAttention(nn.Module):
    """Self-attention with expert projections and sub-LN.

    Queries, keys, values and the output projection are multiway; so is the
    LayerNorm on the attention output before ``out_proj`` (the Magneto
    "sub-LN", ``inner_attn_ln``). Scaling is head_dims ** -0.5.

    Args:
        embed_dims (int): Token width C.
        num_heads (int): Attention heads.
        eps (float): LayerNorm epsilon.
    """

    def __init__(self, embed_dims: int, num_heads: int, eps: float) -> None:
        super().__init__()
        if embed_dims % num_heads:
            raise ValueError(f'embed_dims {embed_dims} is not divisible by '
                             f'num_heads {num_heads}.')
        self.num_heads = num_heads
        for name in ('q_proj', 'k_proj', 'v_proj', 'out_proj'):
            setattr(self, name,
                    Multiway.twin(lambda: nn.Linear(embed_dims, embed_dims)))
        self.inner_attn_ln = Multiway.twin(
            lambda: nn.LayerNorm(embed_dims, eps))

    def forward(self, x: Tensor, key_padding: Optional[Tensor],
                split: int) -> Tensor:
        """Attend.

        Args:
            x (Tensor): Normed tokens (B, N, C).
            key_padding (Tensor, optional): (B, N), True on keys to ignore.
            split (int): Number of leading vision tokens.

        Returns:
            Tensor: (B, N, C).
        """
        batch, length, dims = x.shape

        def heads(proj: Multiway) -> Tensor:  # (B, heads, N, C / heads)
            return proj(x, split).view(batch, length, self.num_heads,
                                       -1).transpose(1, 2)

        keep = None if key_padding is None else ~key_padding[:, None, None]
        out = F.scaled_dot_product_attention(
            heads(self.q_proj),
            heads(self.k_proj),
            heads(self.v_proj),
            attn_mask=keep)
        out = out.transpose(1, 2).reshape(batch, length, dims)
        return self.out_proj(self.inner_attn_ln(out, split), split)


class SubLNFeedForward(nn.Module):
    """fc1 -> GELU (exact, in fp32) -> LayerNorm (sub-LN) -> fc2.

    Args:
        embed_dims (int): Token width C.
        ffn_dims (int): Hidden width.
        eps (float): LayerNorm epsilon.
    """

    def __init__(self, embed_dims: int, ffn_dims: int, eps: float) -> None:
        super().__init__()
        self.fc1 = nn.Linear(embed_dims, ffn_dims)
        self.ffn_layernorm = nn.LayerNorm(ffn_dims, eps)
        self.fc2 = nn.Linear(ffn_dims, embed_dims)

    def forward(self, x: Tensor) -> Tensor:
        """(B, N, C) -> (B, N, C)."""
        x = self.fc1(x)
        x = F.gelu(x.float()).type_as(x)
        return self.fc2(self.ffn_layernorm(x))


class MultiwayEncoderLayer(nn.Module):
    """Pre-norm layer: x + attn(ln(x)), then x + ffn(ln(x)), all multiway.

    Args:
        embed_dims (int): Token width C.
        num_heads (int): Attention heads.
        ffn_dims (int): FFN hidden width.
        drop_path (float): Stochastic depth rate of this layer.
        eps (float): LayerNorm epsilon.
    """

    def __init__(self, embed_dims: int, num_heads: int, ffn_dims: int,
                 drop_path: float, eps: float) -> None:
        super().__init__()
        self.self_attn = MultiwayAttention(embed_dims, num_heads, eps)
        self.self_attn_layer_norm = Multiway.twin(
            lambda: nn.LayerNorm(embed_dims, eps))
        self.ffn = Multiway.twin(
            lambda: SubLNFeedForward(embed_dims, ffn_dims, eps))
        self.final_layer_norm = Multiway.twin(
            lambda: nn.LayerNorm(embed_dims, eps))
        self.drop_path = DropPath(drop_path) if drop_path else nn.Identity()

    def forward(self, x: Tensor, key_padding: Optional[Tensor],
                split: int) -> Tensor:
        """(B, N, C) -> (B, N, C); see :meth:`MultiwayAttention.forward`."""
        x = x + self.drop_path(
            self.self_attn(
                self.self_attn_layer_norm(x, split), key_padding, split))
        return x + self.drop_path(
            self.ffn(self.final_layer_norm(x, split), split))


class VisionEmbedding(nn.Module):
    """Patch embedding with a prepended class token.

    Args:
        image_size (int): Input side S.
        patch_size (int): Patch side P.
        in_channels (int): Image channels.
        embed_dims (int): Token width C.
    """

    def __init__(self, image_size: int, patch_size: int, in_channels: int,
                 embed_dims: int) -> None:
        super().__init__()
        if image_size % patch_size:
            raise ValueError(f'image_size {image_size} is not a multiple of '
                             f'patch_size {patch_size}.')
        self.image_size = image_size
        self.num_patches = (image_size // patch_size)**2
        self.proj = nn.Conv2d(
            in_channels, embed_dims, patch_size, stride=patch_size)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dims))
        # BEiT-3's masked-image-modelling token: kept so checkpoints load
        # strictly, frozen because no RS2-SAM2 path uses it
        self.mask_token = nn.Parameter(
            torch.zeros(1, 1, embed_dims), requires_grad=False)

    def forward(self, images: Tensor) -> Tensor:
        """(B, 3, S, S) images -> (B, 1 + S^2 / P^2, C) [CLS; patches]."""
        if images.shape[-2:] != (self.image_size, self.image_size):
            raise ValueError(
                f'BEiT-3 takes {self.image_size}x{self.image_size} images, '
                f'got {tuple(images.shape[-2:])}.')
        patches = self.proj(images).flatten(2).transpose(1, 2)
        cls = self.cls_token.expand(len(patches), -1, -1)
        return torch.cat([cls, patches], dim=1)


class BEiT3Encoder(nn.Module):
    """Positions, the multiway layers and the final multiway LayerNorm.

    Args:
        embed_dims (int): Token width C.
        num_layers (int): Layers.
        num_heads (int): Attention heads.
        ffn_dims (int): FFN hidden width.
        num_vision_tokens (int): Class token + patches.
        max_text_positions (int): Rows of the text position table.
        drop_path_rate (float): Stochastic depth of the last layer (linear
            from 0 at the first).
        eps (float): LayerNorm epsilon.
    """

    def __init__(self, embed_dims: int, num_layers: int, num_heads: int,
                 ffn_dims: int, num_vision_tokens: int,
                 max_text_positions: int, drop_path_rate: float,
                 eps: float) -> None:
        super().__init__()
        self.embed_positions = Multiway(
            nn.Embedding(num_vision_tokens + POSITION_OFFSET, embed_dims),
            nn.Embedding(max_text_positions, embed_dims))
        rates = np.linspace(0, drop_path_rate, num_layers).tolist()
        self.layers = nn.ModuleList(
            MultiwayEncoderLayer(embed_dims, num_heads, ffn_dims, rate, eps)
            for rate in rates)
        self.layer_norm = Multiway.twin(lambda: nn.LayerNorm(embed_dims, eps))


class BEiT3(nn.Module):
    """BEiT-3 (Wang et al., 2023), parameter-compatible with torchscale.

    Our implementation of torchscale 0.3.0's ``BEiT3`` (microsoft/unilm,
    MIT licence) as the BEiT-3 configs build it (multiway, pre-norm with
    sub-LN, no embedding scale or LayerNorm, output LayerNorm, no output
    projection, dropout 0): same parameter names, so a unilm checkpoint's
    ``beit3.*`` entries load by prefix, and the same outputs (a test
    compares it with torchscale's module). Tokens are ``[CLS; patches;
    text]``; the vision expert (``A``) takes the class token and the
    patches, the text expert (``B``) the text.

    Args:
        embed_dims (int): Token width C. Defaults to 1024.
        num_layers (int): Layers. Defaults to 24.
        num_heads (int): Attention heads. Defaults to 16.
        ffn_dims (int): FFN hidden width. Defaults to 4096.
        vocab_size (int): Rows of the token embedding. Defaults to 64010.
        image_size (int): Input side S. Defaults to 224.
        patch_size (int): Patch side P. Defaults to 16.
        in_channels (int): Image channels. Defaults to 3.
        max_text_positions (int): Rows of the text position table; a
            sentence holds at most this - 2 tokens. Defaults to 1024.
        drop_path_rate (float): Stochastic depth of the last layer.
            Defaults to 0.
        layernorm_eps (float): LayerNorm epsilon. Defaults to 1e-5.
        with_cp (bool): Activation checkpointing of each layer when
            gradients are needed. Defaults to False.
    """

    #: Presets of the unilm BEiT-3 configs (``beit3/modeling_utils.py``).
    arch_zoo = dict(
        base=dict(embed_dims=768, num_layers=12, num_heads=12, ffn_dims=3072),
        large=dict(
            embed_dims=1024, num_layers=24, num_heads=16, ffn_dims=4096))

    def __init__(self,
                 embed_dims: int = 1024,
                 num_layers: int = 24,
                 num_heads: int = 16,
                 ffn_dims: int = 4096,
                 vocab_size: int = 64010,
                 image_size: int = 224,
                 patch_size: int = 16,
                 in_channels: int = 3,
                 max_text_positions: int = 1024,
                 drop_path_rate: float = 0.,
                 layernorm_eps: float = 1e-5,
                 with_cp: bool = False) -> None:
        super().__init__()
        self.with_cp = with_cp
        self.max_text_length = max_text_positions - POSITION_OFFSET
        self.text_embed = nn.Embedding(vocab_size, embed_dims)
        self.vision_embed = VisionEmbedding(image_size, patch_size,
                                            in_channels, embed_dims)
        self.encoder = BEiT3Encoder(embed_dims, num_layers, num_heads,
                                    ffn_dims,
                                    1 + self.vision_embed.num_patches,
                                    max_text_positions, drop_path_rate,
                                    layernorm_eps)
        self.init_weights()

    def init_weights(self) -> None:
        """The unilm initialisation (BEiT3Wrapper and torchscale).

        Linear layers: normal with std 0.02 truncated at +-0.02 (unilm's
        ``trunc_normal_`` cuts at one std), zero bias; LayerNorms 1/0; the
        patch convolution PyTorch's default; token embedding N(0, C^-0.5);
        position tables N(0, 1); class token zero.
        """
        for module in self.modules():
            if isinstance(module, nn.Linear):
                trunc_normal_(module.weight, std=.02, a=-.02, b=.02)
                nn.init.zeros_(module.bias)
            elif isinstance(module, (nn.LayerNorm, nn.Conv2d)):
                module.reset_parameters()
        nn.init.normal_(
            self.text_embed.weight, std=self.text_embed.embedding_dim**-.5)
        for table in (self.encoder.embed_positions.A,
                      self.encoder.embed_positions.B):
            table.reset_parameters()

    def embed(self, images: Tensor, text_ids: Tensor) -> Tensor:
        """Token and position embeddings of ``[CLS; patches; text]``.

        Each modality's positions are rows 2, 3, ... of its own table.

        Args:
            images (Tensor): (B, 3, S, S).
            text_ids (Tensor): (B, L) token ids.

        Returns:
            Tensor: (B, 1 + Np + L, C), Np = S^2 / P^2.
        """
        if text_ids.shape[1] > self.max_text_length:
            raise ValueError(
                f'{text_ids.shape[1]} text tokens exceed the '
                f'{self.max_text_length} text positions of BEiT-3.')
        vision = self.vision_embed(images)
        text = self.text_embed(text_ids)
        tables, first = self.encoder.embed_positions, POSITION_OFFSET
        vision = vision + tables.A.weight[first:first + vision.shape[1]]
        text = text + tables.B.weight[first:first + text.shape[1]]
        return torch.cat([vision, text], dim=1)

    def forward(self,
                images: Tensor,
                text_ids: Tensor,
                text_padding: Optional[Tensor] = None) -> Tensor:
        """Encode images and sentences jointly.

        As torchscale's ``BEiT3(visual_tokens=images, textual_tokens=
        text_ids, text_padding_position=text_padding)['encoder_out']``.

        Args:
            images (Tensor): Normalised images (B, 3, S, S).
            text_ids (Tensor): Token ids (B, L).
            text_padding (Tensor, optional): (B, L) bool, True on padding
                tokens: zeroed after the embedding and never attended to.
                Defaults to None (no padding).

        Returns:
            Tensor: ``encoder_out`` (B, 1 + Np + L, C) of ``[CLS; patches;
            text]``.
        """
        x = self.embed(images, text_ids)
        split = 1 + self.vision_embed.num_patches
        padding = None
        if text_padding is not None:
            padding = F.pad(text_padding.bool(), (split, 0))
            x = x * (~padding)[..., None].to(x.dtype)
        for layer in self.encoder.layers:
            if self.with_cp and self.training and torch.is_grad_enabled():
                x = checkpoint(layer, x, padding, split, use_reentrant=False)
            else:
                x = layer(x, padding, split)
        return self.encoder.layer_norm(x, split)
