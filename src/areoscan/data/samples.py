"""Labelled tiles for classifier training, and splits by observation.

Use :func:`load_source` with one ``--data`` spec per source and :func:`concat` to merge them into
one :class:`SampleSet` (tiles already resized to the model's input size, float32 in [0, 1]).
Sources:

* a HiRISE landmark set v3 (folder with ``manifest.csv``) — geometric variants (r90/r180/r270/fh/fv)
  are turned back into the original orientation (they are pixel-exact copies), ``brt`` variants
  are kept for training only;
* a landmark set v1 (folder with ``labels.txt`` + ``classmap.csv``), classes mapped onto v3 names,
  ``edge`` dropped;
* a folder of class folders (``root/<class>/*.png``) or a flat folder with ``PATH@CLASS``;
* ``synth:N`` — N in-memory synthetic patches from :mod:`areoscan.synth` (see :func:`from_synth`);
  ``synth-terrain:N`` — the same labelled by terrain kind, for pretraining;
* a JP2 with ``<stem>_mask.tif`` beside it: tiles at a resolution level, labelled by mask coverage
  (:func:`from_image_mask`).

Every sample carries a ``group`` (the HiRISE observation id when known): :func:`areoscan.data.splits.split_by_group`
keeps each group — and so every augmented variant of one landmark — inside one split.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from areoscan.data.landmarks import V1_TO_V3, landmark_v1_rows, read_classmap, read_csv_rows
from areoscan.errors import DataError
from areoscan.io.obsid import find_observation_id
from areoscan.io.tilefile import IMAGE_SUFFIXES, read_tile
from areoscan.models.classify import resize_tile

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


def _stack(tiles: list[np.ndarray], size: int) -> np.ndarray:
    return np.stack(tiles).astype(np.float32) if tiles else np.zeros((0, size, size), np.float32)


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
    return SampleSet(
        _stack(tiles, size),
        np.array(labels),
        classes,
        groups,
        keys,
        variants,
        ["landmarks-v3"] * len(labels),
    )


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
    n = len(labels)
    return SampleSet(
        _stack(tiles, size),
        np.array(labels),
        classes,
        groups,
        keys,
        ["orig"] * n,
        ["landmarks-v1"] * n,
    )


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
    n = len(labels)
    return SampleSet(
        _stack(tiles, size), np.array(labels), classes, groups, keys, ["orig"] * n, [root.name] * n
    )


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


def coral_tile_label(labels: np.ndarray, partial_min: float) -> int | None:
    """Screen label of a synthetic tile from its terrain labels: 1 when at least ``partial_min``
    of it is brain coral, 0 when none is, None (leave the tile out) in between."""
    from areoscan.synth import Terrain

    share = float((labels == Terrain.BRAIN_CORAL).mean())
    if share >= partial_min:
        return 1
    return 0 if share == 0.0 else None


@dataclass(frozen=True)
class SynthMix:
    """What ``synth:N`` tiles are made of.

    families: coral pattern families, taken in turn by the coral and mixed patches (``bandpass``,
    ``turing``, ``cells``; :mod:`areoscan.synth.families`). layout: where the coral of a mixed crop
    lies (``patches`` or ``regions``). extra_kinds: hard-negative kinds (slugs of
    ``areoscan.synth.EXTRA_KINDS``: tars, knobby, layered, ripples, rim_polygons) added to the
    background kinds of the background and mixed patches. The default is the mix every recipe so
    far was trained on (same tiles, same pixels).
    """

    families: tuple[str, ...] = ("bandpass",)
    layout: str = "patches"
    extra_kinds: tuple[str, ...] = ()


def from_synth(
    n: int,
    size: int,
    scale: float = 1.0,
    seed: int = 0,
    positive_share: float = 0.3,
    partial_share: float = 0.25,
    partial_min: float = 0.15,
    mix: SynthMix = SynthMix(),
) -> SampleSet:
    """About ``n`` synthetic tiles from :func:`areoscan.synth.render_patch`: ``brain_coral`` vs ``background``.

    Patches of 2x2 tiles are rendered at once (4x cheaper per tile) and cut into 4 tiles that share a
    group. ``positive_share`` of the patches are all coral (partly mantled, as generated);
    ``partial_share`` are mixed-scene crops holding 15-60 % coral, whose tiles are ``brain_coral``
    when at least ``partial_min`` of their pixels are coral, ``background`` when none are, and
    left out in between: a screen must flag the partly covered tiles at a patch's edge, since the
    segmenter only sees flagged tiles. The rest cycle through every background kind (``mix``'s
    hard negatives included) and coral-free mixed crops.
    """
    try:
        from areoscan.synth import BACKGROUNDS, Terrain, render_patch
    except ImportError as exc:
        raise DataError(f"synth:{n}: areoscan.synth is not available ({exc})") from None
    try:
        extra = [Terrain.parse(k) for k in mix.extra_kinds]
    except (KeyError, ValueError):
        raise DataError(f"unknown synthetic terrain kind in {list(mix.extra_kinds)}") from None
    rng = np.random.default_rng(seed)
    tiles, labels, keys, groups = [], [], [], []
    kinds: list[Terrain | None] = [*BACKGROUNDS, *extra, None]
    mixed_kinds = [*BACKGROUNDS, *extra] if extra else None  # None: the defaults, same pixels
    for i in range((n + 3) // 4):
        s = int(rng.integers(0, 2**31 - 1))
        draw = rng.random()
        fam = mix.families[i % len(mix.families)]
        if draw < positive_share:
            img, lab = render_patch(Terrain.BRAIN_CORAL, 2 * size, scale, s, family=fam)
            slug = "brain_coral"
        elif draw < positive_share + partial_share:
            frac = float(rng.uniform(0.15, 0.6))
            img, lab = render_patch(
                None, 2 * size, scale, s, coral_fraction=frac, family=fam, layout=mix.layout,
                kinds=mixed_kinds,
            )  # fmt: skip
            slug = "partial"
        else:
            kind = kinds[i % len(kinds)]
            img, lab = render_patch(
                kind, 2 * size, scale, s, coral_fraction=0.0, family=fam, layout=mix.layout,
                kinds=mixed_kinds,
            )  # fmt: skip
            slug = getattr(kind, "slug", "mixed")
        name = f"synth/{slug}/{s}"
        for r in (0, size):
            for c in (0, size):
                label = coral_tile_label(lab[r : r + size, c : c + size], partial_min)
                if label is None:
                    continue  # a sliver of coral: neither a clear positive nor a negative
                tiles.append(img[r : r + size, c : c + size].astype(np.float32))
                labels.append(label)
                keys.append(f"{name}/{r}_{c}")
                groups.append(name)
    m = len(labels)
    return SampleSet(
        _stack(tiles, size),
        np.array(labels),
        ["background", "brain_coral"],
        groups,
        keys,
        ["orig"] * m,
        ["synth"] * m,
    )


def from_synth_terrain(
    n: int, size: int, scales: tuple[float, float] = (1.0, 6.0), seed: int = 0
) -> SampleSet:
    """About ``n`` synthetic tiles labelled with their terrain kind (7 classes: brain coral, mantle,
    rough, craters, dunes, polygons, boulders), at ground scales log-uniform in ``scales`` m/px.

    Use as a pretext task: pretrain a classifier on it, then fine-tune on real tiles with
    ``--init`` (exact labels for free; teaches craters, dunes and ridged textures).
    """
    try:
        from areoscan.synth import DEFAULT_KINDS, render_patch
    except ImportError as exc:
        raise DataError(f"synth-terrain:{n}: areoscan.synth is not available ({exc})") from None
    rng = np.random.default_rng(seed)
    kinds = list(DEFAULT_KINDS)  # the seven kinds the shipped recipe pretrained on
    tiles, labels, keys, groups = [], [], [], []
    for i in range((n + 3) // 4):
        s = int(rng.integers(0, 2**31 - 1))
        kind = kinds[i % len(kinds)]
        scale = float(np.exp(rng.uniform(np.log(scales[0]), np.log(scales[1]))))
        img, _ = render_patch(kind, 2 * size, scale=scale, seed=s)
        name = f"synth/{kind.slug}/{s}"
        for r in (0, size):
            for c in (0, size):
                tiles.append(img[r : r + size, c : c + size].astype(np.float32))
                labels.append(i % len(kinds))
                keys.append(f"{name}/{r}_{c}")
                groups.append(name)
    m = len(labels)
    return SampleSet(
        _stack(tiles, size),
        np.array(labels),
        [k.slug for k in kinds],
        groups,
        keys,
        ["orig"] * m,
        ["synth-terrain"] * m,
    )


def from_image_mask(
    image: Path,
    level: int,
    size: int,
    mask: Path | None = None,
    coverage: float = 0.9,
    negative_max: float = 0.0,
    min_valid: float = 0.95,
    stride: int | None = None,
) -> SampleSet:
    """Tiles of a JP2 (or any raster) at ``level``, labelled from a level-0 mask GeoTIFF.

    ``mask`` (default ``<stem>_mask.tif`` beside the image; None and absent = a background image):
    0 background, 1 brain coral, 255 no data. A tile is ``brain_coral`` when the coral share of its
    level-0 footprint (2**level times larger) is >= ``coverage``, ``background`` when it is <=
    ``negative_max``; tiles in between are skipped, and so are tiles with less than ``min_valid``
    data (image pixels != 0 and mask != 255). Group = the image's observation id.
    """
    import rasterio
    from rasterio.windows import Window

    from areoscan.io import open_raster

    if mask is None:
        cand = image.with_name(f"{image.stem}_mask.tif")
        mask = cand if cand.is_file() else None
    stride = stride or size
    f = 2**level
    tiles, labels, keys = [], [], []
    with open_raster(image) as r:
        group = r.observation_id or image.stem
        h, w = r.shape_at(level)
        with rasterio.open(mask) if mask else _NoMask() as m:
            if m is not None and (m.height, m.width) != tuple(r.shape):
                raise DataError(
                    f"{mask}: mask is {m.height}x{m.width} but {image} is {r.shape[0]}x{r.shape[1]}"
                )
            for row in range(0, h - size + 1, stride):
                for col in range(0, w - size + 1, stride):
                    img = r.read(level, (row, col, size, size))
                    valid = float((img > 0).mean())
                    cover = 0.0
                    if m is not None:
                        mk = m.read(1, window=Window(col * f, row * f, size * f, size * f))
                        valid = min(valid, float((mk != 255).mean()))
                        cover = float((mk == 1).mean())
                    if valid < min_valid:
                        continue
                    if cover >= coverage:
                        labels.append(1)
                    elif cover <= negative_max:
                        labels.append(0)
                    else:
                        continue
                    tiles.append(img.astype(np.float32))
                    keys.append(f"{image.name}/L{level}/{row}_{col}")
    n = len(labels)
    return SampleSet(
        _stack(tiles, size),
        np.array(labels, np.int64),
        ["background", "brain_coral"],
        [group] * n,
        keys,
        ["orig"] * n,
        [image.name] * n,
    )


class _NoMask:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def load_source(
    spec: str,
    size: int,
    resize: str = "area",
    level: int = 2,
    scale: float = 1.0,
    seed: int = 0,
    mix: SynthMix = SynthMix(),
) -> SampleSet:
    """One ``--data`` spec -> SampleSet.

    ``DIR`` (landmarks v3 / v1 / class folders, detected from the files), ``DIR@CLASS`` or
    ``FILE.jp2@CLASS`` (every tile gets CLASS), ``IMAGE.jp2`` (with ``IMAGE_mask.tif``; tiles at
    ``level``), ``synth:N`` (N synthetic tiles at ``scale`` m/px, seeded by ``seed``: coral vs
    background, made as ``mix`` says), ``cutK:DIR[@CLASS]`` (each image of a folder cut into K x K
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
        try:
            n = int(spec.split(":", 1)[1])
        except ValueError:
            raise DataError(f"{spec}: expected synth:N with N a number of tiles") from None
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
