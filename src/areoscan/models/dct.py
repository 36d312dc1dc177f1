"""An exact 8×8 block DCT as a fixed, non-trainable first layer (the reference's "DCT mode").

Use :class:`BlockDCT` in front of a backbone to feed it JPEG-style frequency coefficients: a
(N, 1, S, S) tile becomes (N, 64, S/8, S/8), channel ``8*u + v`` holding the orthonormal DCT-II
coefficient of vertical frequency ``u`` and horizontal frequency ``v`` of each 8×8 block — exactly
``scipy.fft.dctn(block, norm="ortho")``. The reference obtained the same representation by
JPEG-encoding every tile at quality 100 and reading the coefficients back with ``jpeg2dct``; a
strided convolution with a fixed basis needs no extra dependency, runs in the same graph and
exports to ONNX. The basis is a non-persistent buffer: it is rebuilt, never loaded from weights.
"""

from __future__ import annotations

import math

import torch
from torch import nn

BLOCK = 8


def dct_matrix(n: int = BLOCK) -> torch.Tensor:
    """Orthonormal DCT-II matrix ``C`` (n, n): ``C @ x`` is the 1-D DCT of column vector ``x``."""
    k = torch.arange(n, dtype=torch.float64)[:, None]
    i = torch.arange(n, dtype=torch.float64)[None, :]
    c = torch.cos(math.pi * (2 * i + 1) * k / (2 * n)) * math.sqrt(2.0 / n)
    c[0] /= math.sqrt(2.0)
    return c


def dct_basis(n: int = BLOCK) -> torch.Tensor:
    """(n*n, 1, n, n) convolution kernels; kernel ``n*u + v`` is the outer product ``C[u] ⊗ C[v]``."""
    c = dct_matrix(n)
    return torch.einsum("ui,vj->uvij", c, c).reshape(n * n, 1, n, n)


class BlockDCT(nn.Module):
    """Fixed 8×8 block DCT: (N, C, H, W) -> (N, 64*C, H/8, W/8); H and W must be multiples of 8."""

    basis: torch.Tensor

    def __init__(self, in_channels: int = 1, block: int = BLOCK):
        super().__init__()
        self.in_channels = in_channels
        self.block = block
        basis = dct_basis(block).to(torch.float32).repeat(in_channels, 1, 1, 1)
        self.register_buffer("basis", basis, persistent=False)

    @property
    def out_channels(self) -> int:
        return self.in_channels * self.block * self.block

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.conv2d(x, self.basis, stride=self.block, groups=self.in_channels)
