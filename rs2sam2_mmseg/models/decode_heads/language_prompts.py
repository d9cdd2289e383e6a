"""Language-side parts of the SAM2 mask prompt head (official RS2-SAM2)."""
from typing import Tuple

import torch.nn.functional as F
from torch import Tensor, nn


class MaskPromptGenerator(nn.Module):
    """Turns the union encoder output into a pseudo-mask (official MPG).

    .. code:: text

        c' = c * MHA(c, F_v, F_v)
        g  = Linear(c')
        P  = Linear_{C->1}(F_v * g)        logits on the union patch grid

    The official ``vmtoken.multihead_attn``, ``mask_linear`` and
    ``mask_product`` (``lib/evf_sam.py``) are ``attn``, ``gate`` and
    ``out``.

    Args:
        dims (int): Union encoder width C.
        num_heads (int): Attention heads. Defaults to 8.
    """

    def __init__(self, dims: int, num_heads: int = 8) -> None:
        super().__init__()
        self.attn = nn.MultiheadAttention(dims, num_heads, batch_first=True)
        self.gate = nn.Linear(dims, dims)
        self.out = nn.Linear(dims, 1)

    def forward(self, cls: Tensor, vis: Tensor) -> Tensor:
        """Predict the pseudo-mask.

        Args:
            cls (Tensor): Class token c, (B, C).
            vis (Tensor): Visual tokens F_v on a square grid, (B, Nv, C).

        Returns:
            Tensor: Pseudo-mask logits, (B, 1, gh, gw).
        """
        c = cls[:, None]  # (B, 1, C)
        c = c * self.attn(c, vis, vis, need_weights=False)[0]
        logits = self.out(vis * self.gate(c))  # (B, Nv, 1)
        side = int(vis.shape[1]**0.5)
        return logits.transpose(1, 2).reshape(len(vis), 1, side, side)


class DecoderTextFusion(nn.Module):
    """The official decoder-side fusion of the SAM2 embedding with text.

    .. code:: text

        E' = E * MHA(E + PE, T, T)        multiplicative, no residual

    E is the stride-16 embedding with ``no_mem_embed`` added, PE the prompt
    encoder's dense positional encoding and T the projected union text
    (not the BHF-updated text): the ``vlfusion_module`` of the official
    ``MaskDecoder.forward`` (``mask_decoder.py``), whose
    ``multihead_attn`` is ``attn`` here. Padded text tokens are masked
    out of the attention (the official code has no mask: with one
    sentence per batch, as it trains and tests, nothing is padded and the
    two are equal).

    Args:
        dims (int): Width D of E and T (SAM2: 256).
        num_heads (int): Attention heads. Defaults to 8.
    """

    def __init__(self, dims: int, num_heads: int = 8) -> None:
        super().__init__()
        self.attn = nn.MultiheadAttention(dims, num_heads, batch_first=True)

    def forward(self, embed: Tensor, pos: Tensor, text: Tensor,
                text_mask: Tensor) -> Tensor:
        """Fuse.

        Args:
            embed (Tensor): E, (B, D, h, w).
            pos (Tensor): PE, (1 or B, D, h, w).
            text (Tensor): T, (B, L, D).
            text_mask (Tensor): (B, L), True on real tokens.

        Returns:
            Tensor: E', (B, D, h, w).
        """
        B, D, h, w = embed.shape
        tokens = embed.flatten(2).transpose(1, 2)  # (B, hw, D)
        query = tokens + pos.flatten(2).transpose(1, 2)
        attended = self.attn(
            query, text, text, key_padding_mask=~text_mask,
            need_weights=False)[0]
        return (tokens * attended).transpose(1, 2).reshape(B, D, h, w)


def mask_prompt(pseudo: Tensor, size: Tuple[int, int]) -> Tensor:
    """The dense prompt of a pseudo-mask, as the official code makes it.

    ``sigmoid``, then bilinear resizing with antialiasing in float32
    (``lib/evf_sam.py``; antialiased resizing has no bfloat16 CPU kernel).
    For the 14 -> 256 upsampling of the paper model antialiasing changes
    the values by about 1e-7 only; it matters when the grid is larger
    than the prompt.

    Args:
        pseudo (Tensor): Pseudo-mask logits, (B, 1, gh, gw).
        size (tuple[int, int]): The prompt encoder's ``mask_input_size``.

    Returns:
        Tensor: Probabilities, (B, 1, *size).
    """
    return F.interpolate(
        pseudo.sigmoid().float(),
        size,
        mode='bilinear',
        align_corners=False,
        antialias=True)
