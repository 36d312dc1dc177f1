import numpy as np
import pytest
from PIL import Image

from areoscan.data.samples import concat, from_landmarks_v1, from_landmarks_v3, load_source
from areoscan.data.splits import assign_groups, split_by_group
from areoscan.errors import DataError
from areoscan.io.obsid import find_observation_id
from areoscan.models.classify import resize_tile


def test_v3_variants_are_undone_and_grouped(landmarks_v3):
    root, originals = landmarks_v3
    s = from_landmarks_v3(root, 36)
    assert len(s) == 24 and s.classes == ["other", "crater", "dark dune"]
    for i, key in enumerate(s.keys):
        lid = key.split("/", 1)[1]
        if s.variants[i] != "brt":
            np.testing.assert_allclose(s.images[i], originals[lid] / 255.0, atol=1e-6)
    assert set(s.groups) == {f"ESP_{20000 + o:06d}_1900" for o in range(6)}


def test_split_is_by_group_and_test_has_no_brightness_copies(landmarks_v3):
    s = from_landmarks_v3(landmarks_v3[0], 36)
    tr, va, te = split_by_group(s, (0.5, 0.25, 0.25), seed=3)
    groups = [set(s.groups[i] for i in part) for part in (tr, va, te)]
    assert (
        not (groups[0] & groups[1]) and not (groups[0] & groups[2]) and not (groups[1] & groups[2])
    )
    assert all(s.variants[i] != "brt" for i in te)
    assert len(tr) + len(va) + len(te) >= 24 - sum(v == "brt" for v in s.variants)
    again = split_by_group(s, (0.5, 0.25, 0.25), seed=3)
    assert all(np.array_equal(a, b) for a, b in zip((tr, va, te), again, strict=True))


def test_rare_class_reaches_every_split():
    from areoscan.data.samples import SampleSet

    groups = [f"g{i}" for i in range(30)]
    labels = np.array([1 if i < 6 else 0 for i in range(30)])  # 6 groups hold the rare class
    s = SampleSet(np.zeros((30, 4, 4), np.float32), labels, ["a", "b"], groups, groups)
    parts = split_by_group(s, (0.5, 0.25, 0.25), seed=0)
    assert all((labels[p] == 1).any() for p in parts)


def test_k_fold_parts_hold_whole_groups_and_spread_a_rare_class():
    from areoscan.data.samples import SampleSet

    groups = [f"g{i // 3}" for i in range(60)]  # 20 groups of 3 tiles
    labels = np.array([1 if i < 12 else 0 for i in range(60)])  # 4 groups hold the rare class
    s = SampleSet(np.zeros((60, 4, 4), np.float32), labels, ["a", "b"], groups, groups)
    part = assign_groups(s.groups, s.labels, [0.25] * 4, seed=1)
    assert set(part.tolist()) == {0, 1, 2, 3}
    for g in set(groups):  # a group never straddles two folds
        assert len({part[i] for i in range(60) if groups[i] == g}) == 1
    assert all((labels[part == k] == 1).any() for k in range(4))
    assert np.array_equal(part, assign_groups(s.groups, s.labels, [0.25] * 4, seed=1))
    # the three-part split is the same assignment
    tr, va, te = split_by_group(s, (0.5, 0.25, 0.25), seed=0, test_variants=None)
    three = assign_groups(s.groups, s.labels, (0.5, 0.25, 0.25), seed=0)
    assert np.array_equal(tr, np.flatnonzero(three == 0))
    assert np.array_equal(te, np.flatnonzero(three == 2))


def test_v1_maps_classes_and_drops_edge(tmp_path):
    root = tmp_path / "v1"
    (root / "images").mkdir(parents=True)
    (root / "classmap.csv").write_text(
        "0,other\n1,crater\n2,dark_dune\n3,streak\n4,bright_dune\n5,impact\n6,edge\n"
    )
    lines = []
    for i, c in enumerate([0, 2, 3, 6]):
        name = f"ESP_0{i}1234_1825_RED-{i:04d}.jpg"
        Image.fromarray(np.full((20, 20), 100 + i, np.uint8)).save(root / "images" / name)
        lines.append(f"{name} {c}")
    (root / "labels.txt").write_text("\n".join(lines) + "\n")
    s = from_landmarks_v1(root, 32)
    assert len(s) == 3  # edge dropped
    assert [s.classes[y] for y in s.labels] == ["other", "dark dune", "slope streak"]
    assert s.groups[0] == "ESP_001234_1825"
    (root / "labels.txt").write_text("broken line here\n")
    with pytest.raises(DataError, match="bad line"):
        from_landmarks_v1(root, 32)


def test_folders_at_class_and_concat(class_folders, landmarks_v3):
    a = load_source(str(class_folders), 32)
    assert a.classes == ["blobs", "checker", "stripes"] and len(a) == 48
    assert a.groups[0] == find_observation_id(a.keys[0])
    b = load_source(f"{class_folders / 'blobs'}@background", 32)
    assert b.classes == ["background"] and len(b) == 16
    v3 = load_source(str(landmarks_v3[0]), 32)
    merged = concat([v3, b])
    assert merged.classes == ["other", "crater", "dark dune", "background"]
    assert merged.counts()["background"] == 16
    assert len(merged.manifest_lines()) == len(merged)


def test_bad_sources_are_data_errors(tmp_path):
    with pytest.raises(DataError, match="no such"):
        load_source(str(tmp_path / "absent"), 32)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no image tiles"):
        load_source(str(tmp_path / "empty"), 32)
    with pytest.raises(DataError, match="synth:N"):
        load_source("synth:many", 32)


def test_resize_tile():
    x = np.arange(64, dtype=np.float32).reshape(8, 8) / 64
    small = resize_tile(x, 4)
    assert small[0, 0] == pytest.approx(x[:2, :2].mean(), abs=1e-6)  # area rule = block mean
    assert resize_tile(x, 16).shape == (16, 16)


def test_synth_source_gives_both_classes_in_groups_of_four():
    s = load_source("synth:8", 32, seed=3)
    assert s.classes == ["background", "brain_coral"] and len(s) <= 8
    assert s.images.shape == (len(s), 32, 32) and 0 <= s.images.min() and s.images.max() <= 1
    assert len(set(s.groups)) == 2
    again = load_source("synth:8", 32, seed=3)
    assert np.array_equal(s.images, again.images)


def test_synth_partly_covered_tiles_are_labelled_by_their_coral_share():
    from areoscan.data.synth_samples import coral_tile_label, from_synth
    from areoscan.synth import Terrain

    lab = np.full((10, 10), int(Terrain.MANTLE), np.uint8)
    assert coral_tile_label(lab, 0.15) == 0  # no coral: background
    lab[:1, :5] = Terrain.BRAIN_CORAL
    assert coral_tile_label(lab, 0.15) is None  # 5 % coral: a sliver, left out
    lab[:2] = Terrain.BRAIN_CORAL
    assert coral_tile_label(lab, 0.15) == 1  # 20 % coral: the screen must flag it
    s = from_synth(32, 64, seed=5, positive_share=0.0, partial_share=1.0, partial_min=0.15)
    assert 1 in s.labels.tolist() and len(s) <= 32  # partly covered tiles are positives
    assert all(k.startswith("synth/partial/") for k in s.keys)


def test_synth_spec_carries_its_own_mix():
    from areoscan.data.synth_samples import DEFAULT_MIX, SynthMix, parse_synth_spec

    assert parse_synth_spec("synth:40") == (40, DEFAULT_MIX)
    n, mix = parse_synth_spec("synth:16,families=turing+cells,layout=regions,negatives=tars")
    assert (n, mix) == (16, SynthMix(("turing", "cells"), "regions", ("tars",)))
    wide = SynthMix(("cells",), "regions", ("ripples",))
    assert parse_synth_spec("synth:8,negatives=none", wide)[1] == SynthMix(("cells",), "regions")
    assert parse_synth_spec("synth:8,layout=patches", wide)[1].extra_kinds == ("ripples",)
    for bad in (
        "synth:8,families=lava",
        "synth:8,layout=x",
        "synth:8,colour=red",
        "synth:8,layout",
    ):
        with pytest.raises(DataError, match="synth:8"):
            parse_synth_spec(bad)
    # the spec's mix wins over the one passed in (the --synth-* options); same seed, same tiles
    a = load_source("synth:4,families=cells", 32, seed=1, mix=SynthMix(("turing",)))
    b = load_source("synth:4", 32, seed=1, mix=SynthMix(("cells",)))
    assert np.array_equal(a.images, b.images)


@pytest.mark.slow
def test_synth_mix_adds_hard_negative_kinds_and_families():
    from areoscan.data.synth_samples import SynthMix, from_synth

    plain = from_synth(160, 32, seed=2)
    mix = SynthMix(("cells", "bandpass"), "regions", ("tars", "ripples"))
    s = load_source("synth:160", 32, seed=2, mix=mix)
    slugs = {k.split("/")[1] for k in s.keys}
    assert {"tars", "ripples"} <= slugs  # the hard negatives are among the background patches
    assert {"tars", "ripples"}.isdisjoint({k.split("/")[1] for k in plain.keys})
    assert set(s.labels.tolist()) == {0, 1}
    coral = [i for i, k in enumerate(s.keys) if k.startswith("synth/brain_coral/")]
    same = [i for i, k in enumerate(plain.keys) if k.startswith("synth/brain_coral/")]
    assert coral and same and not np.array_equal(s.images[coral[0]], plain.images[same[0]])
    with pytest.raises(DataError, match="unknown synthetic terrain kind"):
        from_synth(8, 32, mix=SynthMix(extra_kinds=("lava",)))


def test_cut_spec_tiles_large_images_at_their_own_resolution(tmp_path):
    from areoscan.data.samples import cut_tiles

    img = np.arange(100 * 90, dtype=np.float32).reshape(100, 90) / 9000
    pieces = cut_tiles(img, 32, 3)
    assert list(pieces) == [f"/{r}_{c}" for r in (0, 34, 68) for c in (0, 29, 58)]
    assert np.array_equal(pieces["/34_29"], img[34:66, 29:61])
    assert list(cut_tiles(img[:20], 32, 3)) == [""]  # smaller than a tile: resized, one tile
    root = tmp_path / "crops"
    root.mkdir()
    for i in range(2):
        Image.fromarray((img * 255).astype(np.uint8)).save(root / f"ESP_01234{i}_1755_RED_x.png")
    s = load_source(f"cut2:{root}@background", 32)
    assert len(s) == 8 and s.classes == ["background"]
    assert sorted(set(s.groups)) == ["ESP_012340_1755", "ESP_012341_1755"]
    assert s.keys[1].endswith("ESP_012340_1755_RED_x.png/0_58")
    for bad in ("cut:x@a", "cut0:x@a", "cutx:y"):
        with pytest.raises(DataError, match="cutK"):
            load_source(bad, 32)


@pytest.mark.slow
def test_image_mask_pair_tiles_by_coverage_at_a_level(tmp_path):
    from areoscan.data.image_samples import from_image_mask
    from areoscan.io import write_geotiff, write_jp2

    h, w = 256, 384
    rng = np.random.default_rng(0)
    dn = rng.integers(200, 800, (h, w)).astype(np.uint16)
    dn[:, -64:] = 0  # no data on the right
    mask = np.zeros((h, w), np.uint8)
    mask[:128, :128] = 1  # one coral block
    mask[128:, 160:224] = 1  # half covers the level-1 tiles at columns 64 and 96: skipped
    mask[dn == 0] = 255
    img = write_jp2(tmp_path / "ESP_012345_1850_RED.JP2", dn, numres=4)
    write_geotiff(tmp_path / "ESP_012345_1850_RED_mask.tif", mask, overviews=False)
    s = load_source(str(img), 32, level=1)
    assert s.groups[0] == "ESP_012345_1850"
    # level 1: 128 x 192 px; 32-px tiles = 4 x 6; the last column of tiles is no data
    pos = [k for k, y in zip(s.keys, s.labels, strict=True) if y == 1]
    assert len(pos) == 4  # the 2 x 2 tiles under the 128 x 128 level-0 block
    assert all(k.split("/")[-1] in {"0_0", "0_32", "32_0", "32_32"} for k in pos)
    assert not any(k.endswith("_160") for k in s.keys)
    assert len(s) == 4 * 5 - 4  # 5 columns of tiles with data, 4 half-covered tiles skipped
    loose = from_image_mask(img, 1, 32, coverage=0.5, negative_max=0.0)
    assert (loose.labels == 1).sum() == 8


def test_synth_terrain_source_labels_every_kind():
    s = load_source("synth-terrain:28", 32, seed=1)
    assert s.classes[0] == "brain_coral" and len(s.classes) == 7
    assert set(s.counts().values()) == {4}


def test_image_mask_pair_of_a_pds3_img_and_an_isis3_cube(tmp_path):
    """The classifier's image + mask reader takes any format open_raster reads."""
    from areoscan.io import write_geotiff
    from areoscan.io.pdswriters import MapSpec, write_isis3, write_pds3

    dn = np.random.default_rng(1).integers(200, 800, (128, 128)).astype(np.uint16)
    mask = np.zeros((128, 128), np.uint8)
    mask[:64, :64] = 1
    spec = MapSpec("SINUSOIDAL", "MOON", 1737.4, 0.0, 0.0, 1.0, 0.0, 0.0)
    for image in (
        write_pds3(tmp_path / "M123_LE.IMG", dn, spec, bits=10),
        write_isis3(tmp_path / "N456.cub", dn << 6, spec),
    ):
        write_geotiff(image.with_name(f"{image.stem}_mask.tif"), mask, overviews=False)
        s = load_source(str(image), 32, level=1)
        assert s.groups[0] == image.stem and len(s) == 4  # level 1: 64 x 64 px, 2 x 2 tiles
        assert (s.labels == 1).sum() == 1 and s.images.max() <= 1.0
