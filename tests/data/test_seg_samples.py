"""Segmentation samples: label decimation, partial masks, real background tiles, observation splits."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from areoscan.data.landmarks import held_out_observations, landmark_holdout
from areoscan.data.seg_samples import (
    IGNORE_INDEX,
    SegSet,
    concat,
    decimate_labels,
    fit_tile,
    landmark_background_tiles,
    partial_mask_targets,
    remap_labels,
)
from areoscan.data.splits import split_by_observation
from areoscan.errors import DataError


def test_decimate_labels_majority_ceil_shape_and_nodata() -> None:
    labels = np.zeros((5, 6), np.uint8)
    labels[:2, :2] = 1
    labels[0, 2:4] = 1  # one of four -> background
    labels[2:4, 4:6] = IGNORE_INDEX  # all no data
    labels[4, :] = (
        IGNORE_INDEX  # bottom row: padded block only half... of a 2x2 block: 2 of 4 valid? no: 0
    )
    out = decimate_labels(labels, 2)
    assert out.shape == (3, 3)
    assert out[0, 0] == 1 and out[0, 1] == 0
    assert out[1, 2] == IGNORE_INDEX
    assert np.all(out[2] == IGNORE_INDEX)
    assert np.array_equal(decimate_labels(labels, 1), labels)


def test_remap_labels() -> None:
    raw = np.array([[1, 2, 7], [255, 0, 3]], np.uint8)
    out = remap_labels(raw, {1: 0, 2: 1, 7: 2})
    assert out.tolist() == [[0, 1, 2], [255, 255, 255]]


def test_partial_mask_only_inside_positive_tiles() -> None:
    t = np.array([[0, 1], [0, IGNORE_INDEX]], np.uint8)
    assert partial_mask_targets(t).tolist() == [[255, 1], [255, 255]]
    neg = np.zeros((2, 2), np.uint8)
    assert np.array_equal(partial_mask_targets(neg), neg)


def test_fit_tile_pads_and_crops() -> None:
    img = np.ones((5, 9), np.float32)
    out, valid = fit_tile(img, 7)
    assert out.shape == (7, 7) and valid.sum() == 5 * 7
    assert out[0].sum() == 0 and out[3].sum() == 7


def _write_landmarks(root: Path, tiles: list[tuple[str, str]] | None = None) -> None:
    from PIL import Image

    (root / "images").mkdir(parents=True)
    rows = ["file,landmark_id,variant,class_id,class_name,source_image"]
    rng = np.random.default_rng(0)
    for i, (cls, obs) in enumerate(
        tiles or [("other", "A"), ("other", "B"), ("crater", "C"), ("crater", "C")]
    ):
        for variant in ("orig", "r90"):
            name = f"t{i}-{variant}.jpg"
            Image.fromarray(rng.integers(1, 255, (20, 24), dtype=np.uint8)).save(
                root / "images" / name
            )
            rows.append(f"{name},t{i},{variant},0,{cls},{obs}")
    (root / "manifest.csv").write_text("\n".join(rows) + "\n")


def test_landmark_tiles_are_all_background_and_resized_not_padded(tmp_path: Path) -> None:
    _write_landmarks(tmp_path)
    s = landmark_background_tiles(tmp_path, 32)
    assert len(s) == 4 and s.images.shape == (4, 32, 32)
    # the whole tile is image (no zero-padded border the model could key on) and background
    assert (s.images > 0).all() and (s.targets == 0).all()
    assert s.sources == ["landmark:other", "landmark:other", "landmark:crater", "landmark:crater"]
    assert s.observations == ["A", "B", "C", "C"]
    assert len(landmark_background_tiles(tmp_path, 32, limit_per_class=1)) == 2
    with pytest.raises(DataError, match="not a HiRISE landmark set"):
        landmark_background_tiles(tmp_path / "nope", 32)


def test_landmark_holdout_is_fixed_stratified_and_left_out_of_training(tmp_path: Path) -> None:
    tiles = [("other", o) for o in "ABCDEFGH" for _ in range(3)]
    tiles += [("crater", "I"), ("crater", "J"), ("crater", "J"), ("dune", "K"), ("dune", "L")]
    _write_landmarks(tmp_path, tiles)
    held = landmark_holdout([tmp_path], 0.25)
    assert held == landmark_holdout([tmp_path], 0.25)  # the same list for every training step
    # whole observations; every class spread over >= 2 observations keeps one out
    assert {"I", "J"} & set(held) and {"K", "L"} & set(held)
    assert 1 <= len(set(held) & set("ABCDEFGH")) <= 3
    s = landmark_background_tiles(tmp_path, 32, exclude_observations=held)
    assert not set(s.observations) & set(held)
    assert len(s) == len(tiles) - sum(o in held for _, o in tiles)
    with pytest.raises(DataError, match="between 0 and 1"):
        landmark_holdout([tmp_path], 1.0)


def test_pinned_observations_join_the_fixed_holdout(tmp_path: Path) -> None:
    tiles = [("other", o) for o in "ABCDEFGH" for _ in range(3)]
    _write_landmarks(tmp_path, tiles)
    fixed = landmark_holdout([tmp_path], 0.25)
    assert held_out_observations([tmp_path], 0.25) == fixed  # nothing pinned: unchanged
    free = next(o for o in "ABCDEFGH" if o not in fixed)
    both = held_out_observations([tmp_path], 0.25, [free])
    assert both == sorted({*fixed, free})
    assert held_out_observations([tmp_path], 0.0, [free]) == [free]
    assert held_out_observations([tmp_path], 0.0) == []
    with pytest.raises(DataError, match="ESP_000000_0000 are in none of the landmark sets"):
        held_out_observations([tmp_path], 0.25, ["ESP_000000_0000"])


def test_landmark_v1_folders_are_read_with_v3_class_names(tmp_path: Path) -> None:
    from PIL import Image

    (tmp_path / "images").mkdir()
    img = np.full((20, 24), 90, np.uint8)
    img[:, :4] = 0  # no data: ignored in the loss
    lines = []
    for name, cid in [
        ("ESP_011386_2065_RED-0002.png", 0),
        ("ESP_011386_2065_RED-0004.png", 6),
        ("PSP_001_2000_RED-0001.png", 3),
    ]:  # fmt: skip  (PNG: exact zeros)
        Image.fromarray(img).save(tmp_path / "images" / name)
        lines.append(f"{name} {cid}")
    (tmp_path / "labels.txt").write_text("\n".join(lines) + "\n")
    (tmp_path / "classmap.csv").write_text(
        "0,other\n1,crater\n2,dark_dune\n3,streak\n4,bright_dune\n5,impact\n6,edge\n"
    )
    s = landmark_background_tiles(tmp_path, 32)
    assert s.sources == ["landmark:other", "landmark:slope streak"]  # 'edge' is dropped
    assert s.observations == ["ESP_011386_2065", "PSP_001_2000"]
    assert (s.targets[:, :, :4] == IGNORE_INDEX).all() and (s.targets[:, :, 8:] == 0).all()


def test_split_by_observation_never_splits_an_observation() -> None:
    obs = [f"obs{i % 13}" for i in range(200)]
    parts = split_by_observation(obs, seed=3)
    seen = {k: {obs[i] for i in v} for k, v in parts.items()}
    assert (
        not (seen["train"] & seen["val"])
        and not (seen["train"] & seen["test"])
        and not (seen["val"] & seen["test"])
    )
    assert sum(len(v) for v in parts.values()) == 200
    assert all(len(v) for v in parts.values())
    assert abs(len(parts["train"]) / 200 - 0.7) < 0.15
    again = split_by_observation(obs, seed=3)
    assert all(np.array_equal(parts[k], again[k]) for k in parts)


def test_segset_subset_concat_manifest_summary() -> None:
    imgs = np.zeros((3, 4, 4), np.float32)
    tg = np.zeros((3, 4, 4), np.uint8)
    tg[0, :2] = 1
    tg[2, 0] = IGNORE_INDEX
    s = SegSet(
        imgs, tg, ["a", "a", "b"], ["scene-L0", "scene-L1", "landmark:other"], ["x", "y", "z"]
    )
    both = concat([s, s.subset([2])])
    assert len(both) == 4 and both.names[-1] == "z"
    assert len(s.manifest()) == 3 and s.manifest()[0].startswith("x\ta\tscene-L0\t")
    summ = s.summary(2)
    assert summ["tiles"] == 3 and summ["observations"] == 2
    assert summ["pixel_share"] == [
        pytest.approx(36 / 44, abs=1e-4),
        pytest.approx(8 / 44, abs=1e-4),
    ]
    with pytest.raises(DataError):
        concat([])


def _tiny_scene(folder: Path, name: str = "SCN_000001_0001") -> tuple[Path, Path]:
    """A 256x192 10-bit JP2 with a coral square, a no-data border and a matching 0/1/255 mask."""
    from areoscan.io import write_geotiff, write_jp2

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    dn = rng.integers(300, 700, (256, 192)).astype(np.uint16)
    mask = np.zeros((256, 192), np.uint8)
    mask[64:192, 64:160] = 1
    dn[:, :16] = 0
    mask[:, :16] = IGNORE_INDEX
    img = folder / f"{name}.JP2"
    write_jp2(img, dn, bit_depth=10, numres=3)
    write_geotiff(folder / f"{name}_mask.tif", mask, nodata=255, overviews=False)
    classes = np.where(mask == 1, 1, 2).astype(np.uint8)
    classes[:, :16] = 255
    write_geotiff(folder / f"{name}_classes.tif", classes, nodata=255, overviews=False)
    return img, folder / f"{name}_mask.tif"


def test_scene_tiles_at_level_0_and_1(tmp_path: Path) -> None:
    from areoscan.data.seg_samples import scene_tiles
    from areoscan.io import open_raster

    img, mask = _tiny_scene(tmp_path)
    s0 = scene_tiles(img, mask, 0, 64)
    assert s0.images.shape[1:] == (64, 64) and s0.images.dtype == np.float32
    assert len(s0) == 4 * 3 and set(s0.observations) == {"SCN_000001_0001"}
    with open_raster(img) as r:
        expected = r.read(0, (64, 64, 64, 64))
    k = s0.names.index("SCN_000001_0001.JP2@L0:64,64")
    assert np.array_equal(s0.images[k], expected)
    assert np.all(s0.targets[k] == 1)
    s1 = scene_tiles(img, mask, 1, 32, stride=32)
    assert len(s1) == 4 * 3 and s1.sources == ["scene-L1"] * 12
    k = s1.names.index("SCN_000001_0001.JP2@L1:32,32")
    assert np.all(s1.targets[k] == 1)  # level-1 label = majority of the level-0 mask
    assert np.all(s1.targets[s1.names.index("SCN_000001_0001.JP2@L1:0,0")][:, :8] == IGNORE_INDEX)
    partial = scene_tiles(img, mask, 0, 64, partial_masks=True)
    edge = partial.names.index("SCN_000001_0001.JP2@L0:128,128")
    assert set(np.unique(partial.targets[edge])) == {1, IGNORE_INDEX}
    assert len(scene_tiles(img, mask, 0, 64, max_tiles=5)) == 5


def test_scenes_dataset_binary_and_terrain(tmp_path: Path) -> None:
    from areoscan.data.seg_samples import class_setup, find_scenes, scenes_dataset

    _tiny_scene(tmp_path / "s", "A")
    _tiny_scene(tmp_path / "s", "B")
    assert [p[0].name for p in find_scenes(tmp_path / "s")] == ["A.JP2", "B.JP2"]
    data = scenes_dataset([tmp_path / "s"], [0, 1], 64)
    assert set(data.observations) == {"A", "B"} and {"scene-L0", "scene-L1"} <= set(data.sources)
    names, values, suffix = class_setup("terrain")
    assert names[0] == "brain_coral" and values[1] == 0 and suffix == "_classes.tif"
    terr = scenes_dataset([tmp_path / "s"], [0], 64, "terrain")
    assert set(np.unique(terr.targets)) <= {0, 1, IGNORE_INDEX}
    with pytest.raises(DataError, match="no scenes"):
        scenes_dataset([tmp_path], [0], 64)
    with pytest.raises(DataError, match="unknown target"):
        class_setup("rgb")


@pytest.mark.slow
def test_synthesize_scenes_names_and_reuse(tmp_path: Path) -> None:
    from areoscan.data.seg_samples import scenes_dataset, synthesize_scenes

    paths = synthesize_scenes(tmp_path, 1, seed=7, size=(192, 160), sun_azimuth=120, incidence=30)
    assert [p.name for p in paths] == ["SYN_000007_025_AZ120_IN30.JP2"]
    stamp = paths[0].stat().st_mtime_ns
    assert (
        synthesize_scenes(tmp_path, 1, seed=7, size=(192, 160), sun_azimuth=120, incidence=30)
        == paths
    )
    assert paths[0].stat().st_mtime_ns == stamp  # reused, not regenerated
    data = scenes_dataset([tmp_path], [0], 64)
    assert len(data) >= 1 and set(data.observations) == {"SYN_000007_025_AZ120_IN30"}


def test_synthesize_scenes_takes_families_in_turn_and_names_them(tmp_path: Path) -> None:
    import json

    from areoscan.data.seg_samples import synthesize_scenes

    paths = synthesize_scenes(
        tmp_path, 3, seed=1, size=(96, 96), families=("bandpass", "cells"), layout="regions"
    )
    assert [p.name for p in paths] == [
        "SYN_000001_025_REGIONS.JP2",
        "SYN_000002_025_CELLS_REGIONS.JP2",
        "SYN_000003_025_REGIONS.JP2",
    ]
    desc = json.loads(paths[1].with_suffix(".json").read_text())
    assert desc["coral_family"] == "cells" and desc["coral_layout"] == "regions"


def test_real_coral_tiles_are_all_coral_crops_and_held_out_ones_are_left_out(
    tmp_path: Path,
) -> None:
    from PIL import Image

    from areoscan.data.seg_samples import real_coral_tiles

    rng = np.random.default_rng(1)
    for name in ("bc_tile_r0c0.png", "bc_tile_r0c4.png", "bc_tile_r1c1.png"):
        Image.fromarray(rng.integers(1, 255, (20, 22), dtype=np.uint8)).save(tmp_path / name)
    s = real_coral_tiles(tmp_path, 32, upsample=3, exclude=r"r[01]c[45]", repeat=2)
    assert len(s) == 2 * 9 * 2  # two files, a 3 x 3 grid of crops, each listed twice
    assert s.images.shape == (36, 32, 32) and (s.targets == 1).all()
    assert set(s.observations) == {"coral:bc_tile_r0c0", "coral:bc_tile_r1c1"}
    assert s.sources == ["real-coral"] * 36
    with pytest.raises(DataError, match="no PNG"):
        real_coral_tiles(tmp_path, 32, exclude=".")


def test_scenes_of_every_format(tmp_path: Path) -> None:
    """PDS3 IMG, ISIS3 cube and VRT scenes are found and tiled like JP2 / GeoTIFF ones."""
    from rasterio.shutil import copy as rio_copy

    from areoscan.data.seg_samples import find_scenes, scene_tiles
    from areoscan.io import write_geotiff
    from areoscan.io.pdswriters import MapSpec, write_isis3, write_pds3

    folder = tmp_path / "mixed"
    folder.mkdir()
    spec = MapSpec("EQUIRECTANGULAR", "MOON", 1737.4, 0.0, 0.0, 0.5, 1000.0, 2000.0)
    img = np.random.default_rng(3).integers(100, 1000, (128, 128)).astype(np.uint16)
    mask = np.zeros((128, 128), np.uint8)
    mask[:64] = 1
    write_pds3(folder / "CTX_A.IMG", img, spec, detached=True, bits=10)
    write_isis3(folder / "HRSC_B.cub", img << 6, spec)
    write_geotiff(folder / "C.tif", img, nbits=10, overviews=False)
    rio_copy(folder / "C.tif", folder / "D.vrt", driver="VRT")
    for stem in ("CTX_A", "HRSC_B", "D"):
        write_geotiff(folder / f"{stem}_mask.tif", mask, overviews=False)
    pairs = find_scenes(folder)
    assert [p[0].name for p in pairs] == ["CTX_A.IMG", "D.vrt", "HRSC_B.cub"]
    for image, label in pairs:
        tiles = scene_tiles(image, label, 0, 64)
        assert len(tiles) == 4 and tiles.images.shape[1:] == (64, 64)
        top = [i for i, n in enumerate(tiles.names) if n.endswith("@L0:0,0")][0]
        assert np.all(tiles.targets[top] == 1)
        assert tiles.images[top].max() <= 1.0 and tiles.images[top].mean() > 0.05
