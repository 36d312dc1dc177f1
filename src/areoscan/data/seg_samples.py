"""Segmentation samples: tiles + per-pixel targets from scenes, real background tiles, splits.

Use :func:`scene_tiles` to cut a labelled scene (an image that :func:`areoscan.io.open_raster`
reads, plus a label GeoTIFF on the same grid: the synthetic ``*_mask.tif`` or ``*_classes.tif``)
into tiles at a resolution level, exactly as inference will read it (the JPEG2000 level is decoded,
not subsampled; the label is decimated by majority vote over 2^level blocks). Use
:func:`landmark_background_tiles` to add real HiRISE tiles with all-background targets, and
:func:`areoscan.data.splits.split_by_observation` to split by scene / source image, never by tile.

Targets hold output indices ``0..C-1`` (binary: 0 background, 1 brain coral) and 255 for pixels
that must not count (no data; outside a partial mask inside a positive tile).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from areoscan.data.landmarks import landmark_rows
from areoscan.errors import DataError
from areoscan.io.sniff import RASTER_SUFFIXES
from areoscan.io.tilefile import read_tile
from areoscan.models.classify import resize_tile
from areoscan.tiling import TileGrid

IGNORE_INDEX = 255  # target value of pixels that must not count (no data, unknown)
BINARY_VALUES: dict[int, int] = {0: 0, 1: 1}  # mask raster value -> output index


@dataclass
class SegSet:
    """Tiles ``(N, H, W)`` float32 in [0, 1], targets ``(N, H, W)`` uint8, and where each came from."""

    images: np.ndarray
    targets: np.ndarray
    observations: list[str]
    sources: list[str]
    names: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def subset(self, idx: Sequence[int] | np.ndarray) -> SegSet:
        """The tiles at ``idx`` (copies)."""
        idx = np.asarray(idx, dtype=np.int64)
        return SegSet(
            self.images[idx],
            self.targets[idx],
            [self.observations[i] for i in idx],
            [self.sources[i] for i in idx],
            [self.names[i] for i in idx] if self.names else [],
        )

    def manifest(self) -> list[str]:
        """One line per tile (name, observation, source, target hash): hashed into the model card."""
        lines = []
        for i in range(len(self)):
            digest = hashlib.sha1(self.targets[i].tobytes()).hexdigest()[:12]
            name = self.names[i] if self.names else str(i)
            lines.append(f"{name}\t{self.observations[i]}\t{self.sources[i]}\t{digest}")
        return lines

    def summary(self, n_classes: int) -> dict[str, object]:
        """Counts for the model card: tiles, observations, tiles per source, pixel share per class."""
        counts = np.bincount(self.targets.reshape(-1), minlength=256)
        valid = counts[:n_classes].sum()
        sources: dict[str, int] = {}
        for s in self.sources:
            sources[s] = sources.get(s, 0) + 1
        return {
            "tiles": len(self),
            "observations": len(set(self.observations)),
            "tiles_per_source": sources,
            "pixel_share": [round(float(c) / max(valid, 1), 4) for c in counts[:n_classes]],
            "ignored_share": round(float(counts[IGNORE_INDEX]) / max(counts.sum(), 1), 4),
            # real landmark observations (the scenes are synthetic): held-out evaluations skip them
            "landmark_observations": sorted(
                {
                    o
                    for o, src in zip(self.observations, self.sources, strict=True)
                    if src.startswith("landmark:")
                }  # fmt: skip
            ),
        }


def concat(sets: Sequence[SegSet]) -> SegSet:
    """Join several sets of equal tile size."""
    sets = [s for s in sets if len(s)]
    if not sets:
        raise DataError("no training tiles: every sample source came back empty")
    return SegSet(
        np.concatenate([s.images for s in sets]),
        np.concatenate([s.targets for s in sets]),
        [o for s in sets for o in s.observations],
        [o for s in sets for o in s.sources],
        [o for s in sets for o in (s.names or [f"{s.sources[i]}#{i}" for i in range(len(s))])],
    )


def remap_labels(raw: np.ndarray, class_values: dict[int, int]) -> np.ndarray:
    """Raster label values -> output indices; values not in ``class_values`` become 255."""
    lut = np.full(256, IGNORE_INDEX, dtype=np.uint8)
    for value, index in class_values.items():
        lut[int(value)] = int(index)
    return lut[np.asarray(raw, dtype=np.uint8)]


def decimate_labels(labels: np.ndarray, factor: int) -> np.ndarray:
    """Majority label over ``factor``×``factor`` blocks; blocks less than half valid become 255.

    The output has ``ceil(n / factor)`` pixels per axis, like a JPEG2000 reduced level.
    """
    if factor == 1:
        return labels.copy()
    h, w = labels.shape
    hh, ww = -(-h // factor), -(-w // factor)
    padded = np.full((hh * factor, ww * factor), IGNORE_INDEX, dtype=np.uint8)
    padded[:h, :w] = labels
    blocks = padded.reshape(hh, factor, ww, factor).transpose(0, 2, 1, 3).reshape(hh, ww, -1)
    values = [v for v in np.unique(labels) if v != IGNORE_INDEX]
    out = np.full((hh, ww), IGNORE_INDEX, dtype=np.uint8)
    if not values:
        return out
    counts = np.stack([(blocks == v).sum(-1) for v in values], -1)
    best = np.asarray(values, dtype=np.uint8)[counts.argmax(-1)]
    enough = counts.sum(-1) * 2 >= factor * factor
    out[enough] = best[enough]
    return out


def partial_mask_targets(target: np.ndarray, positive: int = 1) -> np.ndarray:
    """Inside a tile that holds positives, make background unknown (255), not negative.

    Use for hand-drawn masks that outline only part of the brain coral in an image: pixels outside
    the outline may be unmapped coral, so they must not teach the model "background".
    """
    out = target.copy()
    if (out == positive).any():
        out[(out != positive) & (out != IGNORE_INDEX)] = IGNORE_INDEX
    return out


def _read_labels(path: Path) -> np.ndarray:
    import warnings

    import rasterio

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
            with rasterio.open(path) as src:
                return src.read(1).astype(np.uint8)
    except rasterio.errors.RasterioIOError as exc:
        raise DataError(f"{path}: cannot read label raster ({exc})") from None


def scene_tiles(
    image_path: str | Path,
    label_path: str | Path,
    level: int,
    tile: int,
    *,
    stride: int | None = None,
    class_values: dict[int, int] | None = None,
    min_valid: float = 0.5,
    partial_masks: bool = False,
    observation: str | None = None,
    max_tiles: int | None = None,
    seed: int = 0,
) -> SegSet:
    """Tiles of one labelled image at ``level`` (image decoded at that level, labels decimated).

    Args:
        image_path: JP2 / GeoTIFF / PNG readable by :func:`areoscan.io.open_raster`.
        label_path: label GeoTIFF on the image's level-0 grid (0/1/255 mask or class ids).
        level: resolution level to cut tiles from (0 = full resolution).
        tile: tile side in pixels at that level.
        stride: distance between tiles (default ``tile``: no overlap).
        class_values: raster value -> output index (default binary: 0 -> 0, 1 -> 1).
        min_valid: skip tiles with a smaller share of labelled (non-255) pixels.
        partial_masks: treat the mask as partial (see :func:`partial_mask_targets`).
        observation: split key (default: the raster's observation id or the file stem).
        max_tiles: keep at most this many tiles, chosen at random with ``seed``.
    """
    from areoscan.io import open_raster

    class_values = BINARY_VALUES if class_values is None else class_values
    labels = _read_labels(Path(label_path))
    with open_raster(image_path) as raster:
        if labels.shape != tuple(raster.shape):
            raise DataError(
                f"{label_path}: label shape {labels.shape} differs from image {tuple(raster.shape)}; "
                "labels must be on the image's level-0 grid"
            )
        obs = observation or raster.observation_id or Path(image_path).stem
        target_full = decimate_labels(remap_labels(labels, class_values), 2**level)
        shape = raster.shape_at(level)
        target_full = target_full[: shape[0], : shape[1]]
        grid = TileGrid(shape, tile, overlap=tile - (stride or tile))
        valid = target_full != IGNORE_INDEX
        wins = grid.inside(valid, min_fraction=min_valid)
        if max_tiles is not None and len(wins) > max_tiles:
            pick = np.random.default_rng(seed).choice(len(wins), max_tiles, replace=False)
            wins = [wins[i] for i in sorted(pick)]
        images, targets, names = [], [], []
        for win in wins:
            if win.height != tile or win.width != tile:
                continue
            img = raster.read(level, win)
            tgt = target_full[win.slices]
            if partial_masks:
                tgt = partial_mask_targets(tgt)
            images.append(img.astype(np.float32))
            targets.append(tgt)
            names.append(f"{Path(image_path).name}@L{level}:{win.row},{win.col}")
    n = len(images)
    return SegSet(
        np.stack(images) if n else np.zeros((0, tile, tile), np.float32),
        np.stack(targets) if n else np.zeros((0, tile, tile), np.uint8),
        [obs] * n,
        [f"scene-L{level}"] * n,
        names,
    )


def fit_tile(image: np.ndarray, tile: int) -> tuple[np.ndarray, np.ndarray]:
    """Centre-crop or zero-pad an image to ``tile``×``tile``; return it and the valid-pixel mask."""
    out = np.zeros((tile, tile), np.float32)
    valid = np.zeros((tile, tile), bool)
    h, w = image.shape
    ch, cw = min(h, tile), min(w, tile)
    r0, c0 = (h - ch) // 2, (w - cw) // 2
    R0, C0 = (tile - ch) // 2, (tile - cw) // 2
    out[R0 : R0 + ch, C0 : C0 + cw] = image[r0 : r0 + ch, c0 : c0 + cw]
    valid[R0 : R0 + ch, C0 : C0 + cw] = True
    return out, valid


def landmark_background_tiles(
    root: str | Path,
    tile: int,
    *,
    limit_per_class: int | None = None,
    seed: int = 0,
    exclude_observations: Collection[str] = (),
) -> SegSet:
    """Real HiRISE landmark tiles (every class) as all-background targets.

    ``root`` is a hirise-landmarks-v3 or -v1 folder (:func:`~areoscan.data.landmarks.landmark_rows`). Each tile is resized
    to ``tile`` × ``tile`` (bilinear), never zero-padded: a padded border would be a shortcut (the
    U-Net learnt "no-data border → background": 0.000 of padded training tiles marked coral but
    0.150 of the same tiles unpadded). Pixels that are 0 in the image (no data) are ignored in the
    loss. Observation = the HiRISE observation; the source is ``landmark:<class>`` so per-class
    false-positive rates can be reported. Tiles of ``exclude_observations`` (a
    :func:`~areoscan.data.landmarks.landmark_holdout` list) are left out before the per-class limit is drawn.
    """

    excluded = set(exclude_observations)
    rows = [r for r in landmark_rows(root) if r[2] not in excluded]
    rng = np.random.default_rng(seed)
    if limit_per_class is not None:
        keep = []
        for cls in sorted({r[1] for r in rows}):
            of = [r for r in rows if r[1] == cls]
            if len(of) > limit_per_class:
                of = [of[i] for i in sorted(rng.choice(len(of), limit_per_class, replace=False))]
            keep.extend(of)
        rows = keep
    images, targets, obs, srcs, names = [], [], [], [], []
    for path, cls, observation in rows:
        img = resize_tile(read_tile(path), tile, "bilinear")
        images.append(img)
        targets.append(np.where(img > 0, 0, IGNORE_INDEX).astype(np.uint8))
        obs.append(observation)
        srcs.append(f"landmark:{cls}")
        names.append(path.name)
    n = len(images)
    return SegSet(
        np.stack(images) if n else np.zeros((0, tile, tile), np.float32),
        np.stack(targets) if n else np.zeros((0, tile, tile), np.uint8),
        obs,
        srcs,
        names,
    )


def upsample_tile(image: np.ndarray, factor: int) -> np.ndarray:
    """``image`` enlarged ``factor``× (bicubic), clipped to [1e-3, 1] so no pixel reads as no data.

    Use it for the real brain-coral tiles, 0.25 m/px imagery reduced ≈3× (training and evaluation).
    """
    from PIL import Image

    if factor != 1:
        pil = Image.fromarray(np.asarray(image, np.float32), mode="F")
        size = (pil.width * factor, pil.height * factor)
        image = np.asarray(pil.resize(size, Image.Resampling.BICUBIC), np.float32)
    return np.clip(image, 1e-3, 1.0)


def real_coral_tiles(
    folder: str | Path,
    tile: int,
    *,
    upsample: int = 3,
    exclude: str | None = None,
    repeat: int = 1,
) -> SegSet:
    """Real brain-coral tiles (PNG, wholly coral) as all-coral targets: the real positives.

    Each image is upsampled ``upsample``× (bicubic; the 12 tiles of ../shared/data are 0.25 m/px
    imagery reduced ≈3×) and cut into a 3 × 3 grid of overlapping ``tile`` crops, each listed
    ``repeat`` times (sampling weight; augmentation makes the copies differ). ``exclude``: a regex;
    matching files are left out (held out for evaluation). Observation = the file.
    """

    files = sorted(Path(folder).glob("*.png"))
    if exclude:
        files = [f for f in files if not re.search(exclude, f.name)]
    if not files:
        raise DataError(f"{folder}: no PNG brain-coral tiles to train on")
    images, obs, names = [], [], []
    for f in files:
        big = upsample_tile(read_tile(f), upsample)
        if min(big.shape) < tile:
            big = fit_tile(big, tile)[0]
        for r in np.linspace(0, big.shape[0] - tile, 3).astype(int):
            for c in np.linspace(0, big.shape[1] - tile, 3).astype(int):
                for _ in range(repeat):
                    images.append(big[r : r + tile, c : c + tile])
                    obs.append(f"coral:{f.stem}")
                    names.append(f"{f.name}@{r},{c}")
    stack = np.stack(images)
    return SegSet(
        stack, np.where(stack > 0, 1, IGNORE_INDEX).astype(np.uint8), obs,
        ["real-coral"] * len(images), names,
    )  # fmt: skip


TERRAIN_MODES = ("binary", "terrain")


def class_setup(mode: str) -> tuple[list[str], dict[int, int], str]:
    """Class names, raster value -> index map, and the label-file suffix for a target mode.

    ``binary``: background / brain_coral from ``*_mask.tif``; ``terrain``: one class per synthetic
    terrain kind (:class:`areoscan.synth.classes.Terrain`) from ``*_classes.tif``.
    """
    if mode == "binary":
        return ["background", "brain_coral"], dict(BINARY_VALUES), "_mask.tif"
    if mode == "terrain":
        from areoscan.synth.classes import Terrain

        kinds = sorted(Terrain, key=int)
        return [t.slug for t in kinds], {int(t): i for i, t in enumerate(kinds)}, "_classes.tif"
    raise DataError(f"unknown target mode {mode!r}; choose from {TERRAIN_MODES}")


def find_scenes(folder: str | Path, suffix: str = "_mask.tif") -> list[tuple[Path, Path]]:
    """(image, label) pairs in ``folder``: ``X.JP2`` / ``X.tif`` / ``X.IMG`` / ``X.cub`` / ``X.vrt``
    (any image :func:`areoscan.io.open_raster` reads) with ``X<suffix>`` beside it."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: scene folder not found")
    pairs = []
    for img in sorted(folder.iterdir()):
        if img.suffix.lower() not in RASTER_SUFFIXES or img.stem.endswith(("_mask", "_classes")):
            continue
        label = img.with_name(img.stem + suffix)
        if label.is_file():
            pairs.append((img, label))
    return pairs


def synthesize_scenes(
    folder: str | Path,
    n: int,
    *,
    seed: int = 0,
    size: tuple[int, int] = (2048, 2048),
    scale: float = 0.25,
    coral_fraction: float = 0.3,
    sun_azimuth: float | None = None,
    incidence: float | None = None,
    families: Sequence[str] = ("bandpass",),
    layout: str = "patches",
) -> list[Path]:
    """Make ``n`` synthetic scenes (seeds ``seed .. seed+n-1``) in ``folder``; existing ones are kept.

    Each scene gets its own seed, hence its own terrain mix, coral patches and (unless given)
    sun azimuth (drawn in 200–300°) and incidence (40–65°); see
    :func:`areoscan.synth.generate_scene`. ``families`` are the coral pattern families, taken in
    turn (scene k has ``families[k % len(families)]``), ``layout`` where the coral lies. The
    file name records seed, scale, fixed sun angles and any non-default family or layout.
    """
    from areoscan.synth import generate_scene

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    sun = ""
    if sun_azimuth is not None:
        sun += f"_AZ{int(round(sun_azimuth)):03d}"
    if incidence is not None:
        sun += f"_IN{int(round(incidence)):02d}"
    if not families:
        raise DataError("no coral family given")
    paths = []
    for k, s in enumerate(range(seed, seed + n)):
        fam = families[k % len(families)]
        tag = ("" if fam == "bandpass" else f"_{fam.upper()}") + (
            "" if layout == "patches" else f"_{layout.upper()}"
        )
        out = folder / f"SYN_{s:06d}_{int(scale * 100):03d}{sun}{tag}.JP2"
        if not (out.is_file() and out.with_name(out.stem + "_mask.tif").is_file()):
            generate_scene(
                out,
                size=size,
                seed=s,
                scale=scale,
                coral_fraction=coral_fraction,
                sun_azimuth=sun_azimuth,
                incidence=incidence,
                classes=True,
                family=fam,
                layout=layout,
            )
        paths.append(out)
    return paths


def scenes_dataset(
    folders: Sequence[str | Path],
    levels: Sequence[int],
    tile: int,
    mode: str = "binary",
    *,
    max_tiles: int | None = None,
    seed: int = 0,
    partial_masks: bool = False,
) -> SegSet:
    """Tiles from every scene in ``folders`` at every level in ``levels`` (observation = scene)."""
    _, values, suffix = class_setup(mode)
    parts = []
    for folder in folders:
        pairs = find_scenes(folder, suffix)
        if not pairs:
            raise DataError(f"{folder}: no scenes (image + '{suffix}' label) found")
        for k, (img, lab) in enumerate(pairs):
            for level in levels:
                parts.append(
                    scene_tiles(
                        img,
                        lab,
                        level,
                        tile,
                        class_values=values,
                        max_tiles=max_tiles,
                        seed=seed + 1000 * k + level,
                        partial_masks=partial_masks,
                        observation=img.stem,
                    )
                )
    return concat(parts)
