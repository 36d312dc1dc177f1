"""The tile sample set of classifier training and evaluation: :class:`SampleSet`, merged with
:func:`concat`, relabelled with :func:`relabel`.

Use it for any labelled tile collection (every ``--data`` source yields one, see
:func:`areoscan.data.samples.load_source`). Every sample carries a ``group`` (the HiRISE
observation id when known): :func:`areoscan.data.splits.split_by_group` keeps each group inside one
split.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from areoscan.errors import DataError


@dataclass
class SampleSet:
    """Tiles (N, S, S) float32 in [0, 1] with labels, groups and provenance, one row per tile."""

    images: np.ndarray
    labels: np.ndarray
    classes: list[str]
    groups: list[str]
    keys: list[str]
    variants: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        n = len(self.labels)
        self.labels = np.asarray(self.labels, dtype=np.int64)
        self.variants = self.variants or ["orig"] * n
        self.sources = self.sources or [""] * n
        if not (
            len(self.images)
            == n
            == len(self.groups)
            == len(self.keys)
            == len(self.variants)
            == len(self.sources)
        ):
            raise DataError("SampleSet fields have different lengths")

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, idx: np.ndarray | Sequence[int]) -> SampleSet:
        """The samples at ``idx`` (same class list)."""
        idx = np.asarray(idx, dtype=np.int64)
        pick = lambda xs: [xs[i] for i in idx]  # noqa: E731
        return SampleSet(
            self.images[idx],
            self.labels[idx],
            list(self.classes),
            pick(self.groups),
            pick(self.keys),
            pick(self.variants),
            pick(self.sources),
        )

    def counts(self) -> dict[str, int]:
        """Samples per class name (every class listed, zero included)."""
        c = Counter(self.labels.tolist())
        return {name: int(c.get(i, 0)) for i, name in enumerate(self.classes)}

    def manifest_lines(self) -> list[str]:
        """One canonical line per sample (key, class, group, variant) for hashing."""
        return [
            f"{k}\t{self.classes[y]}\t{g}\t{v}"
            for k, y, g, v in zip(self.keys, self.labels, self.groups, self.variants, strict=True)
        ]

    def summary(self) -> dict[str, object]:
        """JSON-ready description for model cards."""
        return {
            "n": len(self),
            "groups": len(set(self.groups)),
            "per_class": self.counts(),
            "per_source": dict(Counter(self.sources)),
        }


def _norm_name(name: str) -> str:
    return name.strip().lower().replace("_", " ")


def concat(sets: Iterable[SampleSet], classes: list[str] | None = None) -> SampleSet:
    """Merge sample sets; class lists are united by name (``dark_dune`` == ``dark dune``)."""
    sets = [s for s in sets if len(s)]
    if not sets:
        raise DataError("no samples: every --data source was empty")
    size = {s.images.shape[1:] for s in sets}
    if len(size) != 1:
        raise DataError(f"sources were loaded at different tile sizes: {sorted(size)}")
    out_classes = list(classes) if classes else []
    for s in sets:
        for c in s.classes:
            if _norm_name(c) not in map(_norm_name, out_classes):
                out_classes.append(c)
    lookup = {_norm_name(c): i for i, c in enumerate(out_classes)}
    labels = []
    for s in sets:
        remap = np.array([lookup.get(_norm_name(c), -1) for c in s.classes], dtype=np.int64)
        if (remap[s.labels] < 0).any():
            raise DataError(f"classes {s.classes} do not fit the requested classes {out_classes}")
        labels.append(remap[s.labels])
    return SampleSet(
        np.concatenate([s.images for s in sets]),
        np.concatenate(labels),
        out_classes,
        [g for s in sets for g in s.groups],
        [k for s in sets for k in s.keys],
        [v for s in sets for v in s.variants],
        [src for s in sets for src in s.sources],
    )


def relabel(samples: SampleSet, target: str) -> SampleSet:
    """Every sample becomes class ``target`` (e.g. all landmark tiles -> ``background``)."""
    return SampleSet(
        samples.images,
        np.zeros(len(samples), np.int64),
        [target],
        samples.groups,
        samples.keys,
        samples.variants,
        samples.sources,
    )


def stack_tiles(tiles: list[np.ndarray], size: int) -> np.ndarray:
    """(N, size, size) float32 from a list of tiles (an empty set has N = 0)."""
    return np.stack(tiles).astype(np.float32) if tiles else np.zeros((0, size, size), np.float32)


def from_tiles(
    tiles: list[np.ndarray],
    labels: Sequence[int],
    classes: list[str],
    groups: list[str],
    keys: list[str],
    source: str,
    size: int,
    variants: list[str] | None = None,
) -> SampleSet:
    """The :class:`SampleSet` of tiles a reader has just collected from one ``source`` (every tile
    an original, ``orig``, unless ``variants`` says otherwise). Use it at the end of a reader."""
    n = len(labels)
    return SampleSet(
        stack_tiles(tiles, size),
        np.asarray(labels, dtype=np.int64),
        classes,
        groups,
        keys,
        variants or ["orig"] * n,
        [source] * n,
    )
