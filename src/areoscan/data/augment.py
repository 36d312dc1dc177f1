"""Batch augmentation on torch tensors: flips, 90° rotations, brightness/contrast/gamma, noise, scale.

Use :class:`Augment` inside a training loop on (N, 1, S, S) float batches in [0, 1]; each sample
draws its own parameters from the given generator, so a seeded run is reproducible. Pixels equal to
0 (no data) stay 0. Everything runs vectorised on the batch (no per-sample Python loops except the
8-way dihedral grouping), so augmentation costs little next to the network on a CPU.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F


@dataclass
class AugmentConfig:
    """Ranges of the random transforms (set a range to (1, 1) or 0 to switch one off).

    dihedral: random flips and 90° rotations (all 8 views of a square tile).
    brightness: additive shift, uniform in ±brightness (units of full scale).
    contrast: multiplicative stretch about the tile mean, log-uniform in the range.
    gamma: x ** g, log-uniform in the range (changes the shape of the histogram, not just its scale).
    noise: Gaussian noise σ uniform in [0, noise] (detector noise, JPEG artefacts).
    scale: zoom factor, log-uniform in the range (mild: ground scale varies a little between images).
    """

    dihedral: bool = True
    brightness: float = 0.1
    contrast: tuple[float, float] = (0.7, 1.4)
    gamma: tuple[float, float] = (0.75, 1.33)
    noise: float = 0.03
    scale: tuple[float, float] = (0.87, 1.15)

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def _log_uniform(lo: float, hi: float, n: int, gen: torch.Generator) -> torch.Tensor:
    u = torch.rand(n, generator=gen)
    return torch.exp(
        torch.log(torch.tensor(lo))
        + u * (torch.log(torch.tensor(hi)) - torch.log(torch.tensor(lo)))
    )


def random_dihedral(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Each sample gets one of the 8 flips/rotations of the square."""
    from areoscan.models.classifiers import dihedral

    ks = torch.randint(0, 8, (x.shape[0],), generator=gen)
    out = x.clone()
    for k in range(1, 8):
        sel = ks == k
        if sel.any():
            out[sel] = dihedral(x[sel], k)
    return out


def random_scale(x: torch.Tensor, lo: float, hi: float, gen: torch.Generator) -> torch.Tensor:
    """Zoom each sample about its centre by a log-uniform factor (reflection at the borders)."""
    n = x.shape[0]
    s = 1.0 / _log_uniform(lo, hi, n, gen)  # sampling step: < 1 zooms in
    theta = torch.zeros(n, 2, 3, dtype=x.dtype)
    theta[:, 0, 0] = s
    theta[:, 1, 1] = s
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)


class Augment:
    """Callable batch augmenter: ``aug(x) -> x'`` with its own seeded generator."""

    def __init__(self, config: AugmentConfig | None = None, seed: int = 0):
        self.config = config or AugmentConfig()
        self.gen = torch.Generator().manual_seed(seed)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        c, g, n = self.config, self.gen, x.shape[0]
        valid = (x > 0).to(x.dtype)
        if c.dihedral:
            x, valid = _same_dihedral(x, valid, g)
        if c.scale[0] != 1.0 or c.scale[1] != 1.0:
            both = random_scale(torch.cat([x, valid], dim=1), c.scale[0], c.scale[1], g)
            x, valid = both[:, :1], (both[:, 1:] > 0.5).to(x.dtype)
        shape = (n, 1, 1, 1)
        if c.gamma[0] != 1.0 or c.gamma[1] != 1.0:
            x = x.clamp(1e-4, 1.0) ** _log_uniform(*c.gamma, n, g).reshape(shape)
        if c.contrast[0] != 1.0 or c.contrast[1] != 1.0:
            mean = (x * valid).sum(dim=(1, 2, 3), keepdim=True) / valid.sum(
                dim=(1, 2, 3), keepdim=True
            ).clamp_min(1)
            x = mean + (x - mean) * _log_uniform(*c.contrast, n, g).reshape(shape)
        if c.brightness:
            x = x + (torch.rand(shape, generator=g) * 2 - 1) * c.brightness
        if c.noise:
            x = x + torch.randn(x.shape, generator=g) * (torch.rand(shape, generator=g) * c.noise)
        return x.clamp(1e-3, 1.0) * valid


def _same_dihedral(
    x: torch.Tensor, valid: torch.Tensor, gen: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    both = random_dihedral(torch.cat([x, valid], dim=1), gen)
    return both[:, :1], both[:, 1:]


def swap_brightness_contrast(x: np.ndarray, mean: float, std: float) -> np.ndarray:
    """Give every tile (N, H, W) the mean and standard deviation of another group (trap (i) test)."""
    m = x.mean(axis=(1, 2), keepdims=True)
    s = x.std(axis=(1, 2), keepdims=True) + 1e-6
    return np.clip((x - m) / s * std + mean, 0.0, 1.0).astype(np.float32)
