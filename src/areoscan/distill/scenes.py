"""Generated scenes with exact instance masks: pits (dark, shadowed) and mounds (bright) on terrain.

Use :func:`pit_scene` wherever a teacher or a decoder must be scored against masks known pixel for
pixel (tests, ``benchmarks/bench_distill.py``); the real data has boxes only. The look follows the
HiRISE pits/skylights crops: a dark floor, a shadow against the sun-facing wall, a bright opposite
rim, on smooth-plus-grainy terrain. Same seed, same scene.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import ndimage

from areoscan.annotations.model import AnnotatedImage, AnnotationSet, Instance, box_of_mask


@dataclass
class Scene:
    """One generated image (uint8 ``(H, W)``) with its instances (exact masks, tight boxes)."""

    image: np.ndarray
    instances: list[Instance]


def _blob(shape: tuple[int, int], cy: float, cx: float, r: float, rng: np.random.Generator):
    """A bool star-shaped blob (ellipse with a wavy radius) and its normalised radius field."""
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    ang = np.arctan2(yy - cy, xx - cx)
    ecc = rng.uniform(0.7, 1.0)
    theta = rng.uniform(0, np.pi)
    wobble = 1.0 + sum(
        rng.uniform(0.0, 0.12) * np.cos(k * ang + rng.uniform(0, 2 * np.pi)) for k in (2, 3, 5)
    )
    dx, dy = xx - cx, yy - cy
    u = dx * np.cos(theta) + dy * np.sin(theta)
    v = (-dx * np.sin(theta) + dy * np.cos(theta)) / ecc
    rho = np.hypot(u, v) / (r * wobble)
    return rho < 1.0, rho


def pit_scene(
    seed: int,
    size: int = 192,
    n: int = 5,
    classes: tuple[str, ...] = ("pit",),
    floor: str = "dark",
) -> Scene:
    """A ``size`` x ``size`` scene with up to ``n`` non-overlapping objects of ``classes``.

    ``"pit"`` objects are dark with a shadowed wall, any other class is a bright mound, so a
    two-class scene tests multi-class decoders. Radii 6..size/8 pixels. ``floor="plains"`` gives
    pits the look of the real HiRISE pit crops: the floor keeps the plains' grey and texture, and
    only a shadow crescent under the sun-side wall and the lit opposite wall mark the pit (the case
    where GrabCut's intensity models fail; :mod:`areoscan.distill.rim` is built for it).
    """
    if floor not in ("dark", "plains"):
        raise ValueError(f"floor must be 'dark' or 'plains', not {floor!r}")
    rng = np.random.default_rng(seed)
    terrain = ndimage.gaussian_filter(rng.normal(0, 1, (size, size)), size / 12)
    terrain = terrain / (terrain.std() + 1e-6) * 12 + 128
    terrain += ndimage.gaussian_filter(rng.normal(0, 1, (size, size)), 1.0) * 18
    taken = np.zeros((size, size), bool)
    instances: list[Instance] = []
    for _ in range(n * 20):
        if len(instances) == n:
            break
        r = rng.uniform(6, size / 8)
        cy, cx = rng.uniform(r + 2, size - r - 2, 2)
        mask, rho = _blob((size, size), cy, cx, r, rng)
        if (ndimage.binary_dilation(mask, iterations=3) & taken).any():
            continue
        label = classes[int(rng.integers(len(classes)))]
        yy, xx = np.mgrid[0:size, 0:size]
        side = ((xx - cx) + 0.5 * (yy - cy)) / r  # sun from the left: shadow on the left wall
        if label == "pit" and floor == "plains":
            terrain = _plains_pit(terrain, rho, side, r, rng)
        else:
            if label == "pit":
                tone = rng.uniform(35, 70) + 25 * np.clip(side, -1, 1)
                rim = np.clip(1.25 - rho, 0, 1) * (rho > 1.0) * np.clip(side, 0, 1) * 45
            else:
                tone = rng.uniform(170, 210) - 25 * np.clip(side, -1, 1)
                rim = np.clip(1.25 - rho, 0, 1) * (rho > 1.0) * np.clip(-side, 0, 1) * -35
            edge = np.clip((1.0 - rho) * r / 1.5, 0, 1)  # a 1.5 px soft wall
            terrain = terrain * (1 - edge) + tone * edge + rim
        exact = (1.0 - rho) * r / 1.5 >= 0.5  # the wall's mid-tone: where an annotator would draw
        taken |= mask
        box = box_of_mask(exact)
        if box is None:
            continue
        instances.append(Instance(label, box, mask=exact))
    image = np.clip(terrain, 0, 255).astype(np.uint8)
    return Scene(image, instances)


def _plains_pit(
    terrain: np.ndarray, rho: np.ndarray, side: np.ndarray, r: float, rng: np.random.Generator
) -> np.ndarray:
    """``terrain`` with a pit whose floor is the plains: a shadow crescent and a lit far wall only.

    The shadow under the sun-side wall ends at a random terminator on the floor; the wall opposite
    the sun is lit towards the rim. Where neither reaches, the pit's edge is invisible.
    """
    edge = np.clip((1.0 - rho) * r / 1.5, 0, 1)
    terminator = rng.uniform(-0.5, 0.1)
    shadow = np.clip((terminator - side) * r / 1.5, 0, 1)
    lit = np.clip((side - 0.2) / 0.8, 0, 1) * np.clip((rho - 0.55) / 0.45, 0, 1)
    inside = terrain + lit * rng.uniform(35, 70)
    inside = inside * (1 - shadow) + rng.uniform(30, 60) * shadow
    return terrain * (1 - edge) + inside * edge


def scene_set(
    seeds: list[int], classes: tuple[str, ...] = ("pit",), size: int = 192
) -> tuple[AnnotationSet, list[np.ndarray]]:
    """Scenes for ``seeds`` as an :class:`AnnotationSet` (paths ``scene_<seed>.png``) and images."""
    images, arrays = [], []
    for s in seeds:
        sc = pit_scene(s, size=size, classes=classes)
        images.append(
            AnnotatedImage(
                path=Path(f"scene_{s}.png"),
                height=size,
                width=size,
                instances=sc.instances,
                group=f"scene_{s}",
            )
        )
        arrays.append(sc.image)
    return AnnotationSet(classes=list(classes), images=images), arrays
