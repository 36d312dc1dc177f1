"""Synthetic scenes of each coral family, cached on disk: shared by family_eval.py and lofo.py.

Every scene is written by :func:`areoscan.synth.generate_scene` (JP2 + label + masks), so the
benchmarks read it exactly as the scan and the training recipe read their data. The coral
fraction of each scene is drawn from its seed in 12-48 % (the range of the five real layout
masks); the layout defaults to ``regions`` (a few large regions, like real observations).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from areoscan.synth import generate_scene

CORAL_FRACTION = (0.12, 0.48)


def coral_fraction(seed: int) -> float:
    """The scene's coral fraction, drawn from its seed in CORAL_FRACTION."""
    return float(np.random.default_rng([seed, 19]).uniform(*CORAL_FRACTION))


def family_scenes(
    cache: Path,
    family: str,
    seeds: list[int],
    size: tuple[int, int],
    scale: float = 0.25,
    layout: str = "regions",
    tag: str = "",
) -> list[tuple[Path, Path]]:
    """(image, mask) pairs of the family's scenes in ``cache``; missing ones are generated.

    ``tag`` names the folder (``train``/``test``): one folder per use, since the training
    recipe takes every scene of a folder.
    """
    folder = cache / f"{family}-{layout}-{int(round(scale * 100)):03d}-{size[0]}x{size[1]}{tag}"
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for s in seeds:
        img = folder / f"SYN_{s:06d}_{family.upper()}.JP2"
        mask = folder / f"SYN_{s:06d}_{family.upper()}_mask.tif"
        if not (img.is_file() and mask.is_file()):
            generate_scene(
                img, size, s, scale, coral_fraction(s), family=family, layout=layout, threads=2
            )
        out.append((img, mask))
    return out


HARD_NEGATIVES = ("knobby", "layered", "ripples", "rim_polygons", "tars")


def negative_scenes(
    cache: Path, family: str, seeds: list[int], size: tuple[int, int], scale: float = 0.25
) -> Path:
    """Folder of scenes with one hard-negative kind each (``HARD_NEGATIVES`` in turn) beside
    coral of ``family`` (layout ``regions``, 12-48 %); missing ones are generated."""
    folder = cache / f"{family}-negatives-{int(round(scale * 100)):03d}-{size[0]}x{size[1]}"
    folder.mkdir(parents=True, exist_ok=True)
    for k, s in enumerate(seeds):
        kind = HARD_NEGATIVES[k % len(HARD_NEGATIVES)]
        img = folder / f"SYN_{s:06d}_{family.upper()}_{kind.upper()}.JP2"
        if not (img.is_file() and img.with_name(img.stem + "_mask.tif").is_file()):
            generate_scene(
                img, size, s, scale, coral_fraction(s), kinds=[kind], family=family,
                layout="regions", threads=2,
            )  # fmt: skip
    return folder
