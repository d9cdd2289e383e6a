"""Bidirectional hierarchical fusion (BHF) adapter for Hiera blocks."""
from typing import Tuple

import torch
from sam2.modeling.backbones.hieradet import MultiScaleBlock, do_pool
from sam2.modeling.backbones.utils import window_partition, window_unpartition
from torch import Tensor, nn


def hiera_attention(block: MultiScaleBlock,
                    x: Tensor) -> Tuple[Tensor, Tensor]:
    """The first half of ``MultiScaleBlock.forward``, before its residual.

    SAM2's block runs attention and MLP in one ``forward``; BHF must act
    inside it, so the block is driven through its own submodules
    (``norm1``, ``proj``/``pool``, windowing, ``attn``). With
    ``shortcut + drop_path(attn)`` and :func:`hiera_mlp_residual` this
    reproduces ``block(x)`` exactly, which the tests check against the
    unmodified block.

    Args:
        block (MultiScaleBlock): A SAM2 Hiera block.
        x (Tensor): Tokens of shape (B, H, W, C_in).

    Returns:
        tuple[Tensor, Tensor]: The shortcut and the attention output, both
        (B, H', W', C_out) (H' = H / 2 on the first block of a stage with
        q-pooling).
    """
    shortcut = x
    x = block.norm1(x)
    if block.dim != block.dim_out:
        shortcut = do_pool(block.proj(x), block.pool)
    window_size = block.window_size
    if window_size > 0:
        H, W = x.shape[1], x.shape[2]
        x, pad_hw = window_partition(x, window_size)
    x = block.attn(x)
    if block.q_stride:
        # shapes changed by q-pooling
        window_size = block.window_size // block.q_stride[0]
        H, W = shortcut.shape[1:3]
        pad_h = (window_size - H % window_size) % window_size
        pad_w = (window_size - W % window_size) % window_size
        pad_hw = (H + pad_h, W + pad_w)
    if block.window_size > 0:
        x = window_unpartition(x, window_size, pad_hw, (H, W))
    return shortcut, x


def hiera_mlp_residual(block: MultiScaleBlock, x: Tensor) -> Tensor:
    """The second half of ``MultiScaleBlock.forward``: MLP + residual."""
    return x + block.drop_path(block.mlp(block.norm2(x)))


class BHFAdapter(nn.Module):
    """One BHF adapter: vision <-> text exchange inside a Hiera block.

    On a map X (B, H, W, C) of the block and the running text T (B, L, Ct):

    .. code:: text

        A   = GELU(W_down X)                 C -> d (d = C * ratio)
        A'  = A + MHA(A, T^, T^)             vision attends to text
        T^' = T^ + MHA(T^, A', A')           text attends to new vision
        T   = (1 - a) T + a W_out T^'        text carried to the next block
        X   = X + s_attn W_up A'

    with T^ = W_in LN(T) (``text_norm``) or W_in T. Two layouts place it
    in the block (S = shortcut, Y = attention output, n2 = norm2, M = the
    block MLP, A_mlp = the MLP adapter):

    .. code:: text

        'post_residual' (ours):  X = BHF(S + Y);  X = X + M(n2(X));
                                 X = X + s_mlp A_mlp(X)
        'official':              X = S + BHF(Y);
                                 X = X + M(n2(X)) + s_mlp A_mlp(n2(X))

    'official' with ``text_norm=False`` and ``zero_init=False`` is the
    official ``MultiScaleBlock`` with its ``Space_Adapter`` and
    ``MLP_Adapter`` (``hieradet.py``; parameter map: ``D_fc1/D_fc2`` ->
    ``down/up``, ``text_in_linear/text_out_linear`` -> ``text_in/
    text_out``, ``vlfusion_module/lvfusion_module.multihead_attn`` ->
    ``vision_to_text/text_to_vision``, ``MLP_Adapter.D_fc1/D_fc2`` ->
    ``mlp_adapter.0/2``). Unlike it, padded text tokens are masked out of
    the vision-to-text attention (the official code has no mask); with
    one sentence per batch, as the official training and test, nothing
    is padded and the two are equal.

    Our improvements, each an option: ``zero_init`` zero-initialises W_up
    and the MLP adapter's output layer so the adapted encoder starts as
    exactly SAM2; ``text_norm``: without it the text stream, carried
    through every block, can grow until the cross-attention gradients
    explode.

    Args:
        dims (int): Block width C.
        text_dims (int): Text width Ct (official: 256).
        ratio (float): Adapter width d / C. Defaults to 0.25.
        num_heads (int): Heads of both cross-attentions; d is rounded up to
            a multiple. Defaults to 4.
        attn_scale (float): s_attn. Defaults to 1.0.
        mlp_scale (float): s_mlp. Defaults to 0.5.
        text_update (float): a. Defaults to 0.2.
        layout (str): 'post_residual' or 'official'.
            Defaults to 'post_residual'.
        text_norm (bool): LayerNorm on the text read. Defaults to True.
        zero_init (bool): Zero-initialise the output layers.
            Defaults to True.
    """

    def __init__(self,
                 dims: int,
                 text_dims: int,
                 ratio: float = 0.25,
                 num_heads: int = 4,
                 attn_scale: float = 1.0,
                 mlp_scale: float = 0.5,
                 text_update: float = 0.2,
                 layout: str = 'post_residual',
                 text_norm: bool = True,
                 zero_init: bool = True) -> None:
        super().__init__()
        if layout not in ('post_residual', 'official'):
            raise ValueError(
                "BHFAdapter layout (SAM2HieraBHF adapter_layout) must be "
                f"'post_residual' or 'official', got {layout!r}")
        hidden = -(-max(1, round(dims * ratio)) // num_heads) * num_heads
        self.attn_scale, self.mlp_scale = attn_scale, mlp_scale
        self.text_update = text_update
        self.layout = layout
        self.down = nn.Linear(dims, hidden)
        self.text_norm = nn.LayerNorm(text_dims) if text_norm else None
        self.text_in = nn.Linear(text_dims, hidden)
        self.vision_to_text = nn.MultiheadAttention(
            hidden, num_heads, batch_first=True)
        self.text_to_vision = nn.MultiheadAttention(
            hidden, num_heads, batch_first=True)
        self.text_out = nn.Linear(hidden, text_dims)
        self.up = nn.Linear(hidden, dims)
        self.mlp_adapter = nn.Sequential(
            nn.Linear(dims, hidden), nn.GELU(), nn.Linear(hidden, dims))
        if zero_init:
            for layer in (self.up, self.mlp_adapter[-1]):
                nn.init.zeros_(layer.weight)
                nn.init.zeros_(layer.bias)

    def forward(self, block: MultiScaleBlock, x: Tensor, text: Tensor,
                text_mask: Tensor) -> Tuple[Tensor, Tensor]:
        """Run the Hiera block with this adapter in its ``layout``.

        Args:
            block (MultiScaleBlock): The (frozen) SAM2 block.
            x (Tensor): Block input, (B, H, W, C_in).
            text (Tensor): Running text, (B, L, Ct).
            text_mask (Tensor): (B, L), True on real tokens.

        Returns:
            tuple[Tensor, Tensor]: Block output (B, H', W', C) and the
            updated text (B, L, Ct).
        """
        shortcut, y = hiera_attention(block, x)
        if self.layout == 'official':
            y, text = self.fuse(y, text, text_mask)
            x = shortcut + block.drop_path(y)
            normed = block.norm2(x)
            return x + block.drop_path(block.mlp(normed)) + \
                self.mlp_scale * self.mlp_adapter(normed), text
        x, text = self.fuse(shortcut + block.drop_path(y), text, text_mask)
        x = hiera_mlp_residual(block, x)
        return x + self.mlp_scale * self.mlp_adapter(x), text

    def fuse(self, x: Tensor, text: Tensor,
             text_mask: Tensor) -> Tuple[Tensor, Tensor]:
        """Exchange information between the block tokens and the text.

        Args:
            x (Tensor): Block tokens X, (B, H, W, C).
            text (Tensor): Running text, (B, L, Ct).
            text_mask (Tensor): (B, L), True on real tokens.

        Returns:
            tuple[Tensor, Tensor]: Updated tokens (B, H, W, C) and text
            (B, L, Ct).
        """
        B, H, W, C = x.shape
        a = nn.functional.gelu(self.down(x.reshape(B, H * W, C)))
        t = self.text_in(
            text if self.text_norm is None else self.text_norm(text))
        ignore = ~text_mask
        a = a + self.vision_to_text(
            a, t, t, key_padding_mask=ignore, need_weights=False)[0]
        t = t + self.text_to_vision(t, a, a, need_weights=False)[0]
        text = (1 - self.text_update) * text + \
            self.text_update * self.text_out(t)
        x = x + self.attn_scale * self.up(a).reshape(B, H, W, C)
        return x, text


class TextVisualGate(nn.Module):
    """Post-trunk fusion of the stride-16 SAM2 embedding with language.

    .. code:: text

        F  = MHA(E + pos, W_t T, W_t T) + resize(W_v V)
        E' = E * (1 + g * F)              g zero-initialised (per channel)

    E is the image embedding (B, D, h, w), T the BHF-updated text, V the
    union encoder's text-aware visual tokens on their patch grid. The
    official RS2-SAM2 code uses E * MHA(...) without the identity path and
    without V; with g = 0 at init the adapted encoder starts as SAM2.

    Args:
        dims (int): Embedding width D (SAM2: 256).
        text_dims (int): Width of T and V (union encoder width).
        num_heads (int): Attention heads. Defaults to 8.
    """

    def __init__(self, dims: int, text_dims: int, num_heads: int = 8) -> None:
        super().__init__()
        self.text_proj = nn.Linear(text_dims, dims)
        self.vis_proj = nn.Linear(text_dims, dims)
        self.attn = nn.MultiheadAttention(dims, num_heads, batch_first=True)
        self.gate = nn.Parameter(torch.zeros(dims))

    def forward(self, embed: Tensor, pos: Tensor, text: Tensor,
                text_mask: Tensor, vis: Tensor) -> Tensor:
        """Gate the embedding.

        Args:
            embed (Tensor): E, (B, D, h, w).
            pos (Tensor): Its positional encoding, (B, D, h, w).
            text (Tensor): T, (B, L, Ct).
            text_mask (Tensor): (B, L), True on real tokens.
            vis (Tensor): V, (B, gh * gw, Ct) on a square grid.

        Returns:
            Tensor: E', (B, D, h, w).
        """
        B, D, h, w = embed.shape
        query = (embed + pos).flatten(2).transpose(1, 2)  # (B, hw, D)
        t = self.text_proj(text)
        attended = self.attn(
            query, t, t, key_padding_mask=~text_mask, need_weights=False)[0]
        attended = attended.transpose(1, 2).reshape(B, D, h, w)
        side = int(vis.shape[1]**0.5)
        v = self.vis_proj(vis).transpose(1, 2).reshape(B, D, side, side)
        v = nn.functional.interpolate(
            v, (h, w), mode='bilinear', align_corners=False)
        return embed * (1 + self.gate.view(1, D, 1, 1) * (attended + v))
