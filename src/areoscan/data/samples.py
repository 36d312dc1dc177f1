"""Labelled tiles for classifier training: one ``--data`` spec -> a :class:`SampleSet`.

Use :func:`load_source` with one ``--data`` spec per source and :func:`concat` to merge them into
one :class:`SampleSet` (tiles already resized to the model's input size, float32 in [0, 1]). The
real-tile readers live here; the set itself in :mod:`areoscan.data.sample_set`, the synthetic tiles
in :mod:`areoscan.data.synth_samples`, the JP2 + mask tiles in :mod:`areoscan.data.image_samples`.
Sources:

* a HiRISE landmark set v3 (folder with ``manifest.csv``) — geometric variants (r90/r180/r270/fh/fv)
  are turned back into the original orientation (they are pixel-exact copies), ``brt`` variants
  are kept for training only;
* a landmark set v1 (folder with ``labels.txt`` + ``classmap.csv``), classes mapped onto v3 names,
  ``edge`` dropped;
* a folder of class folders (``root/<class>/*.png``) or a flat folder with ``PATH@CLASS``;
* ``synth:N`` — N in-memory synthetic patches from :mod:`areoscan.synth` (see :func:`~areoscan.data.synth_samples.from_synth`);
  ``synth-terrain:N`` — the same labelled by terrain kind, for pretraining;
* a JP2 with ``<stem>_mask.tif`` beside it: tiles at a resolution level, labelled by mask coverage
  (:func:`~areoscan.data.image_samples.from_image_mask`).

Every sample carries a ``group`` (the HiRISE observation id when known): :func:`areoscan.data.splits.split_by_group`
keeps each group — and so every augmented variant of one landmark — inside one split.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from areoscan.data.image_samples import from_image_mask
from areoscan.data.landmarks import V1_TO_V3, landmark_v1_rows, read_classmap, read_csv_rows
from areoscan.data.sample_set import SampleSet, concat, from_tiles, relabel
from areoscan.data.synth_samples import (
    DEFAULT_MIX,
    SynthMix,
    from_synth,
    from_synth_terrain,
    parse_synth_spec,
)
from areoscan.errors import DataError
from areoscan.io.obsid import find_observation_id
from areoscan.io.tilefile import IMAGE_SUFFIXES, read_tile
from areoscan.models.classify import resize_tile

__all__ = [
    "SampleSet",
    "SynthMix",
    "concat",
    "cut_tiles",
    "from_folder",
    "from_landmarks_v1",
    "from_landmarks_v3",
    "load_source",
    "relabel",
]

# How to undo each v3 augmentation (rotations are clockwise in the data set's README).
_UNDO = {
    "orig": lambda a: a,
    "r90": lambda a: np.rot90(a, 1),
    "r180": lambda a: np.rot90(a, 2),
    "r270": lambda a: np.rot90(a, 3),
    "fh": lambda a: a[:, ::-1],
    "fv": lambda a: a[::-1, :],
    "brt": lambda a: a,
}


def from_landmarks_v3(root: Path, size: int, resize: str = "area") -> SampleSet:
    """HiRISE landmarks v3: every tile in ``manifest.csv``, geometric variants undone."""
    rows = read_csv_rows(
        root / "manifest.csv", ["file", "landmark_id", "variant", "class_name", "source_image"]
    )
    classes = read_classmap(root / "classmap.csv")
    tiles, labels, groups, keys, variants = [], [], [], [], []
    for r in rows:
        if r["variant"] not in _UNDO:
            raise DataError(
                f"{root / 'manifest.csv'}: unknown variant {r['variant']!r} for {r['file']}"
            )
        if r["class_name"] not in classes:
            raise DataError(
                f"{root / 'manifest.csv'}: class {r['class_name']!r} not in classmap.csv"
            )
        img = _UNDO[r["variant"]](read_tile(root / "images" / r["file"]))
        tiles.append(resize_tile(np.ascontiguousarray(img), size, resize))
        labels.append(classes.index(r["class_name"]))
        groups.append(r["source_image"])
        keys.append(f"v3/{r['landmark_id']}")
        variants.append(r["variant"])
    return from_tiles(tiles, labels, classes, groups, keys, "landmarks-v3", size, variants)


def from_landmarks_v1(root: Path, size: int, resize: str = "area") -> SampleSet:
    """HiRISE landmarks v1 with classes renamed to v3 names; ``edge`` tiles are dropped."""
    v1_names = read_classmap(root / "classmap.csv")
    classes = [c for c in dict.fromkeys(V1_TO_V3.get(n, n) for n in v1_names) if c]
    tiles, labels, groups, keys = [], [], [], []
    for path, name, group in landmark_v1_rows(root):
        tiles.append(resize_tile(read_tile(path), size, resize))
        labels.append(classes.index(name))
        groups.append(group)
        keys.append(f"v1/{path.stem}")
    return from_tiles(tiles, labels, classes, groups, keys, "landmarks-v1", size)


def from_folder(
    root: Path, size: int, resize: str = "area", as_class: str | None = None, cut: int = 0
) -> SampleSet:
    """``root/<class>/*.png|jpg|tif`` (or a flat folder when ``as_class`` is given).

    Group = HiRISE observation id in the file name, else the file stem (each tile on its own).
    ``cut`` > 0: each image gives ``cut`` x ``cut`` tiles of ``size`` px at its own resolution
    (spread evenly over it, no resizing) instead of one resized tile — for large crops such as the
    900 px HiRISE pit crops, whose texture a screen must see at the scale it scans.
    """
    if as_class:
        per_class = {as_class: _images_in(root)}
    else:
        per_class = {d.name: _images_in(d) for d in sorted(root.iterdir()) if d.is_dir()}
    per_class = {c: fs for c, fs in per_class.items() if fs}
    if not per_class:
        raise DataError(
            f"{root}: no image tiles found (expected class folders, or PATH@CLASS for a flat folder)"
        )
    classes = list(per_class)
    tiles, labels, groups, keys = [], [], [], []
    for ci, (c, files) in enumerate(per_class.items()):
        for f in files:
            img = read_tile(f)
            pieces = cut_tiles(img, size, cut) if cut else {"": resize_tile(img, size, resize)}
            for where, tile in pieces.items():
                tiles.append(tile)
                labels.append(ci)
                groups.append(find_observation_id(f.name) or f"{root.name}/{f.stem}")
                keys.append(f"{root.name}/{c}/{f.name}{where}")
    return from_tiles(tiles, labels, classes, groups, keys, root.name, size)


def cut_tiles(img: np.ndarray, size: int, per_side: int) -> dict[str, np.ndarray]:
    """``per_side`` x ``per_side`` tiles of ``size`` px spread evenly over ``img`` (they overlap when
    it is smaller than ``per_side * size``), keyed ``/ROW_COL``; an image smaller than one tile is
    resized to it."""
    h, w = img.shape
    if h < size or w < size:
        return {"": resize_tile(img, size, "bilinear")}
    rows = np.linspace(0, h - size, per_side).round().astype(int)
    cols = np.linspace(0, w - size, per_side).round().astype(int)
    return {
        f"/{r}_{c}": np.ascontiguousarray(img[r : r + size, c : c + size], dtype=np.float32)
        for r in dict.fromkeys(rows.tolist())
        for c in dict.fromkeys(cols.tolist())
    }


def _images_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def load_source(
    spec: str,
    size: int,
    resize: str = "area",
    level: int = 2,
    scale: float = 1.0,
    seed: int = 0,
    mix: SynthMix = DEFAULT_MIX,
) -> SampleSet:
    """One ``--data`` spec -> SampleSet.

    ``DIR`` (landmarks v3 / v1 / class folders, detected from the files), ``DIR@CLASS`` or
    ``FILE.jp2@CLASS`` (every tile gets CLASS), ``IMAGE.jp2`` (with ``IMAGE_mask.tif``; tiles at
    ``level``), ``synth:N`` (N synthetic tiles at ``scale`` m/px, seeded by ``seed``: coral vs
    background, made as ``mix`` says; ``synth:N,families=turing+cells,layout=regions,negatives=tars``
    overrides it for this spec, see :func:`~areoscan.data.synth_samples.parse_synth_spec`), ``cutK:DIR[@CLASS]`` (each image of a folder cut into K x K
    tiles at its own resolution, see :func:`from_folder`), ``synth-terrain:N`` (N synthetic tiles labelled by terrain
    kind, 1–6 m/px).
    """
    target, cut = None, 0
    if spec.startswith("cut"):
        head, _, rest = spec.partition(":")
        if not rest or not head[3:].isdigit() or int(head[3:]) < 1:
            raise DataError(f"{spec}: expected cutK:DIR[@CLASS] with K >= 1 tiles per side")
        cut, spec = int(head[3:]), rest
    if spec.startswith("synth-terrain:"):
        try:
            n = int(spec.split(":", 1)[1])
        except ValueError:
            raise DataError(f"{spec}: expected synth-terrain:N with N a number of tiles") from None
        return from_synth_terrain(n, size, seed=seed)
    if spec.startswith("synth:"):
        n, mix = parse_synth_spec(spec, mix)
        return from_synth(n, size, scale=scale, seed=seed, mix=mix)
    if "@" in spec:
        spec, target = spec.rsplit("@", 1)
    path = Path(spec)
    if not path.exists():
        raise DataError(f"{path}: no such data folder or file")
    if path.is_file():
        out = from_image_mask(path, level, size)
    elif (path / "manifest.csv").is_file():
        out = from_landmarks_v3(path, size, resize)
    elif (path / "labels.txt").is_file() and (path / "classmap.csv").is_file():
        out = from_landmarks_v1(path, size, resize)
    elif target and _images_in(path):
        out = from_folder(path, size, resize, as_class=target, cut=cut)
    else:
        out = from_folder(path, size, resize, cut=cut)
    return relabel(out, target) if target else out
