"""The classical detection baseline: Laplacian-of-Gaussian blobs (scikit-image), one class.

Use :class:`LogBlobs` as the floor a learnt detector must clear, scored by the same
:func:`~areoscan.data.detection.detection_metrics` (as the majority class is for classifiers).
:meth:`LogBlobs.fit` takes from labelled data only what a hand-tuned classical pipeline would be
told: the object size range, whether objects are darker or brighter than their surroundings, and
the commonest class (every blob gets it). Each blob is a disc of radius ``sigma * sqrt(2)`` scored
by its scale-normalised LoG response (not a probability: about 0.01-1 for [0, 1] pixels), so a
score threshold trades precision for recall.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from skimage.feature import peak_local_max
from skimage.transform import rescale

from areoscan.annotations.model import AnnotationSet, Instance
from areoscan.annotations.pixels import load_gray

NAME = "log-blobs"


@dataclass
class LogBlobs:
    """LoG blob detector. label: class of every blob; polarity: ``"dark"`` or ``"bright"`` blobs."""

    classes: list[str]
    label: str
    min_sigma: float = 1.0
    max_sigma: float = 10.0
    polarity: str = "dark"
    num_sigma: int = 10
    max_blobs: int = 100
    name: str = NAME

    @classmethod
    def fit(cls, truth: AnnotationSet, max_images: int = 50) -> LogBlobs:
        """Size range (5th-95th percentile box side), polarity and majority class of ``truth``."""
        counts = truth.counts()
        label = max(counts, key=lambda c: counts[c]) if counts else truth.classes[0]
        sides = [
            math.sqrt(max(i.box[2] - i.box[0], 1.0) * max(i.box[3] - i.box[1], 1.0))
            for im in truth.images
            for i in im.instances
        ]
        lo, hi = np.percentile(sides, [5, 95]) if sides else (4.0, 20.0)
        # a disc of side s has radius s / 2 = sigma * sqrt(2)
        min_sigma, max_sigma = max(lo / (2 * math.sqrt(2)), 0.7), max(hi / (2 * math.sqrt(2)), 1.0)
        return cls(
            classes=list(truth.classes),
            label=label,
            min_sigma=float(min_sigma),
            max_sigma=float(max(max_sigma, min_sigma * 1.5)),
            polarity=_polarity(truth, max_images),
        )

    def detect(self, image: np.ndarray) -> list[Instance]:
        """Blobs of one ``(H, W)`` [0, 1] image as scored disc instances (best first)."""
        img = image if self.polarity == "bright" else 1.0 - image
        # Work at a scale where the smallest blob has sigma ~2 px: LoG cost grows with sigma.
        f = max(1.0, self.min_sigma / 2.0)
        small = rescale(img, 1.0 / f, anti_aliasing=True) if f > 1.0 else img
        small = small - float(np.median(small))
        sigmas = np.geomspace(self.min_sigma / f, self.max_sigma / f, self.num_sigma)
        cube = np.stack([-(s**2) * ndimage.gaussian_laplace(small, s) for s in sigmas], axis=-1)
        peaks = peak_local_max(
            cube, threshold_abs=1e-3, footprint=np.ones((3, 3, 3)), exclude_border=False
        )
        if len(peaks) == 0:
            return []
        scores = cube[tuple(peaks.T)]
        order = np.argsort(-scores)[: 5 * self.max_blobs]
        kept: list[tuple[float, float, float, float]] = []  # (y, x, r, score) at full scale
        for k in order:
            y, x = (peaks[k, 0] + 0.5) * f, (peaks[k, 1] + 0.5) * f
            r = max(float(sigmas[peaks[k, 2]]) * f * math.sqrt(2), 1.0)
            if all(math.hypot(y - ky, x - kx) >= max(r, kr) for ky, kx, kr, _ in kept):
                kept.append((y, x, r, float(scores[k])))
            if len(kept) == self.max_blobs:
                break
        height, width = image.shape
        yy, xx = np.ogrid[:height, :width]
        out = []
        for y, x, r, score in kept:
            mask = (yy + 0.5 - y) ** 2 + (xx + 0.5 - x) ** 2 <= r * r
            if not mask.any():
                continue
            box = (max(x - r, 0.0), max(y - r, 0.0), min(x + r, float(width)),
                   min(y + r, float(height)))  # fmt: skip
            out.append(Instance(self.label, box, mask, score, {"shape": "blob"}))
        return out

    def describe(self) -> dict[str, object]:
        """The fitted parameters (for reports and JSON)."""
        return {
            "label": self.label,
            "min_sigma": round(self.min_sigma, 3),
            "max_sigma": round(self.max_sigma, 3),
            "polarity": self.polarity,
        }


def _polarity(truth: AnnotationSet, max_images: int) -> str:
    """``"dark"`` when labelled objects are on average darker than the rest of their image."""
    diffs = []
    for im in truth.images[:max_images]:
        if not im.instances or not im.path.is_file():
            continue
        pixels = load_gray(im.path)
        inside = np.zeros(pixels.shape, bool)
        for inst in im.instances:
            if inst.mask is not None:
                inside |= inst.mask
            else:
                x0, y0, x1, y1 = (int(round(v)) for v in inst.box)
                inside[y0:y1, x0:x1] = True
        if inside.any() and (~inside).any():
            diffs.append(float(pixels[inside].mean() - pixels[~inside].mean()))
    return "bright" if diffs and float(np.mean(diffs)) > 0 else "dark"
