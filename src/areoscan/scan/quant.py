"""Probabilities stored as one byte per pixel while an image is being scanned.

Use :func:`quantise` / :func:`dequantise` wherever segment probabilities are kept for a whole
window: ``uint8`` code ``q`` in 0..250 means probability ``q / 250`` (steps of 0.004);
:data:`NODATA` (254) marks a pixel that was segmented but is no data in the image, and
:data:`NO_VALUE` (255) a pixel that was not segmented at all. A flagged area of 200 Mpx then costs
200 MB instead of 800 MB in float32.
"""

from __future__ import annotations

import math

import numpy as np

LEVELS = 250
NODATA = 254
NO_VALUE = 255


def quantise(p: np.ndarray) -> np.ndarray:
    """uint8 codes (0..250) of probabilities in [0, 1] (values outside are clipped)."""
    out = np.clip(np.asarray(p, dtype=np.float32), 0.0, 1.0) * np.float32(LEVELS)
    out += np.float32(0.5)
    return out.astype(np.uint8)


def dequantise(q: np.ndarray) -> np.ndarray:
    """float32 probabilities of codes; :data:`NODATA` and :data:`NO_VALUE` become NaN."""
    q = np.asarray(q)
    out = q.astype(np.float32) / np.float32(LEVELS)
    out[q > LEVELS] = np.nan
    return out


def threshold_code(threshold: float) -> int:
    """Smallest code at or above ``threshold``: ``q >= code`` means p >= threshold (to ±0.002)."""
    return int(min(LEVELS, max(0, math.ceil(float(threshold) * LEVELS - 1e-6))))
