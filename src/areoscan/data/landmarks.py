"""The HiRISE landmark sets (v3 and v1): one reader for their files, classes and observations.

Use :func:`landmark_rows` for the original tiles of either version as ``(path, class, observation)``
(segmenter backgrounds, evaluation), :func:`landmark_v1_rows` for v1 with classes renamed to v3
names, and :func:`landmark_holdout` / :func:`held_out_observations` for the observations a training
run must never see. :mod:`areoscan.data.samples` builds classifier samples from the same readers.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from areoscan.data.splits import assign_groups
from areoscan.errors import DataError

if TYPE_CHECKING:
    from areoscan.models.card import ModelCard

V1_TO_V3 = {
    "other": "other",
    "crater": "crater",
    "dark_dune": "dark dune",
    "streak": "slope streak",
    "bright_dune": "bright dune",
    "impact": "impact ejecta",
    "edge": None,
}


def read_csv_rows(path: Path, need: list[str]) -> list[dict[str, str]]:
    """Rows of a CSV that must have the columns ``need``; DataError naming what is missing."""
    try:
        with open(path, newline="") as fh:
            rows = list(csv.DictReader(fh))
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror})") from None
    missing = [k for k in need if rows and k not in rows[0]]
    if not rows or missing:
        raise DataError(
            f"{path}: expected a CSV with columns {need}; missing {missing or 'all rows'}"
        )
    return rows


def read_classmap(path: Path) -> list[str]:
    """Class names from ``classmap.csv`` (lines ``<id>,<name>``, ids 0..n-1)."""
    names: dict[int, str] = {}
    try:
        for line in path.read_text().splitlines():
            if line.strip():
                i, name = line.split(",", 1)
                names[int(i)] = name.strip()
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: expected lines '<id>,<name>' ({exc})") from None
    if sorted(names) != list(range(len(names))):
        raise DataError(f"{path}: class ids must be 0..n-1, got {sorted(names)}")
    return [names[i] for i in range(len(names))]


def landmark_v1_rows(root: Path) -> list[tuple[Path, str, str]]:
    """``(image path, v3 class name, observation)`` per tile of a landmarks v1 folder.

    Classes are renamed to v3 names and ``edge`` tiles dropped; the observation is the first three
    ``_`` fields of the file name (e.g. ``ESP_011386_2065``).
    """
    v1_names = read_classmap(root / "classmap.csv")
    try:
        lines = (root / "labels.txt").read_text().split("\n")
    except OSError as exc:
        raise DataError(f"{root / 'labels.txt'}: cannot read ({exc.strerror})") from None
    rows = []
    for line in lines:
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 2 or not parts[1].isdigit() or int(parts[1]) >= len(v1_names):
            raise DataError(
                f"{root / 'labels.txt'}: bad line {line!r}; expected '<file> <class id>'"
            )
        name = V1_TO_V3.get(v1_names[int(parts[1])], v1_names[int(parts[1])])
        if name:
            rows.append((root / "images" / parts[0], name, "_".join(parts[0].split("_")[:3])))
    return rows


def landmark_rows(root: str | Path) -> list[tuple[Path, str, str]]:
    """``(image path, class, observation)`` of the original tiles of a HiRISE landmark set.

    v3 (``manifest.csv``: ``variant == orig``, observation = ``source_image``) or v1
    (``labels.txt`` + ``classmap.csv``: classes renamed to v3 names, ``edge`` dropped, observation
    = the first three ``_`` fields of the file name).
    """
    root = Path(root)
    if (root / "manifest.csv").is_file():
        with open(root / "manifest.csv", newline="") as fh:
            return [
                (root / "images" / r["file"], r["class_name"], r["source_image"])
                for r in csv.DictReader(fh)
                if r["variant"] == "orig"
            ]
    if (root / "labels.txt").is_file() and (root / "classmap.csv").is_file():
        return landmark_v1_rows(root)
    raise DataError(
        f"{root}: not a HiRISE landmark set (expected manifest.csv (v3) or labels.txt + "
        "classmap.csv (v1))"
    )


def held_out_observations(
    roots: Sequence[str | Path], fraction: float, pinned: Sequence[str] = (), seed: int = 0
) -> list[str]:
    """The landmark observations a training run must never see: the fixed stratified share
    (:func:`landmark_holdout`, none when ``fraction`` is 0) plus ``pinned`` ones by name.

    Pin an observation when it is the evidence for a known failure (a field of transverse aeolian
    ridges the U-Net marks as coral): otherwise adding scenes to the training data moves it between
    the per-run train/val/test splits, and it stops being held out.
    """
    held = set(landmark_holdout(roots, fraction, seed)) if fraction else set()
    if pinned:
        known = {r[2] for root in roots for r in landmark_rows(root)}
        missing = sorted(set(pinned) - known)
        if missing:
            raise DataError(
                f"held-out observation(s) {', '.join(missing)} are in none of the landmark sets "
                f"({', '.join(str(r) for r in roots)}): check the observation ids"
            )
        held |= set(pinned)
    return sorted(held)


def landmark_holdout(roots: Sequence[str | Path], fraction: float, seed: int = 0) -> list[str]:
    """Landmark observations to keep out of training altogether, stratified by class.

    Use it when every class needs strictly held-out evidence (e.g. dunes, which span few
    observations): a per-run train/val/test split moves with the rest of the data, so two training
    steps see different observations. This list depends only on the landmark sets' original
    tiles, ``fraction`` (share of each class's tiles) and ``seed``; whole observations, every class
    with at least two observations gets at least one (:func:`areoscan.data.splits.assign_groups`).
    """
    if not 0.0 < fraction < 1.0:
        raise DataError(f"landmark hold-out fraction must be between 0 and 1, got {fraction}")
    rows = [r for root in roots for r in landmark_rows(root)]
    if not rows:
        return []
    classes = sorted({r[1] for r in rows})
    labels = np.array([classes.index(r[1]) for r in rows])
    groups = [r[2] for r in rows]
    part = assign_groups(groups, labels, (1.0 - fraction, fraction), seed=seed)
    return sorted({g for g, k in zip(groups, part, strict=True) if k == 1})


def seen_landmark_observations(card: ModelCard) -> set[str]:
    """Landmark observations a segmenter's card says it (or the model it was fine-tuned from) was
    trained or validated on: leave them out when scoring it, record them in a fine-tune's card."""
    training = card.training or {}
    data = training.get("data", {})
    seen = {o for k in ("train", "val") for o in data.get(k, {}).get("landmark_observations", [])}
    return seen | set(training.get("init_landmark_observations", []))
