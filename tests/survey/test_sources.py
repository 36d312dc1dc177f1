from pathlib import Path

import pytest

from areoscan.errors import DataError
from areoscan.io import MapLabel, write_label
from areoscan.survey.foldersource import is_product, jobs_from_folder
from areoscan.survey.indexsource import index_size_bound
from areoscan.survey.jobs import HIRISE_PDS_URL, Selection
from areoscan.survey.sources import collect_jobs, source_kind

from .indexfile import write_index


def _spec(obs: str, product: str = "RED") -> str:
    orbit = int(obs[4:10]) // 100 * 100
    return f"RDR/ESP/ORB_{orbit:06d}_{orbit + 99:06d}/{obs}/{obs}_{product}.JP2"


def _product(root: Path, obs: str, lat: float | None = None, lon: float = 10.0, scale=0.25):
    path = root / _spec(obs)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"not really a jp2")
    if lat is not None:
        label = MapLabel(
            projection="EQUIRECTANGULAR",
            map_scale=scale,
            center_latitude=lat,
            center_longitude=180.0,
            line_projection_offset=0.0,
            sample_projection_offset=0.0,
            lines=100,
            line_samples=100,
            minimum_latitude=lat - 0.05,
            maximum_latitude=lat + 0.05,
            westernmost_longitude=lon - 0.02,
            easternmost_longitude=lon + 0.02,
            product_id=f"{obs}_RED",
            observation_id=obs,
        )
        write_label(path.with_suffix(".LBL"), label)
    return path


def _warn(msgs):
    return msgs.append


def test_source_kind(tmp_path: Path):
    (tmp_path / "ids.txt").write_text("ESP_011277_1825\n")
    (tmp_path / "X.TAB").write_text("")
    assert source_kind(str(tmp_path)) == "folder"
    assert source_kind(str(tmp_path / "ids.txt")) == "id-list"
    assert source_kind(str(tmp_path / "X.TAB")) == "index"
    assert source_kind("https://h.example/PDS/INDEX/RDRCUMINDEX.TAB") == "index"
    assert source_kind("https://h.example/PDS/RDR/") == "http-tree"
    for bad in ["ftp://h/x", str(tmp_path / "missing")]:
        with pytest.raises(DataError):
            source_kind(bad)


def test_folder_source_selects_with_labels(tmp_path: Path):
    archive = tmp_path / "archive"
    _product(archive, "ESP_011277_2200", lat=40.0, lon=10.0)
    _product(archive, "ESP_011278_2200", lat=40.0, lon=200.0)
    _product(archive, "ESP_011279_2200", lat=40.0, lon=10.0, scale=1.0)
    _product(archive, "ESP_011280_2200")  # no label
    msgs: list[str] = []
    jobs = jobs_from_folder(archive, Selection(), msgs.append)
    assert [j.observation_id for j in jobs] == [
        "ESP_011277_2200",
        "ESP_011278_2200",
        "ESP_011279_2200",
        "ESP_011280_2200",
    ]
    assert all(not j.remote and Path(j.url).is_file() for j in jobs)
    chosen = jobs_from_folder(
        archive, Selection(bbox=(35, 45, -20, 20), max_scale=0.5), msgs.append
    )
    assert [j.observation_id for j in chosen] == ["ESP_011277_2200"]
    assert chosen[0].lat == pytest.approx(40.0) and chosen[0].scale == 0.25
    assert any("no label" in m for m in msgs)


def test_folder_without_products(tmp_path: Path):
    with pytest.raises(DataError, match="no \\*_RED.JP2"):
        jobs_from_folder(tmp_path, Selection(), print)


def _index_products():
    return [
        {
            "FILE_NAME_SPECIFICATION": _spec("ESP_011277_2200"),
            "MAP_SCALE": 0.25,
            "IMAGE_LINES": 1000,
            "LINE_SAMPLES": 500,
            "MINIMUM_LATITUDE": 39.9,
            "MAXIMUM_LATITUDE": 40.1,
            "MINIMUM_LONGITUDE": 9.9,
            "MAXIMUM_LONGITUDE": 10.1,
        },
        {
            "FILE_NAME_SPECIFICATION": _spec("ESP_011277_2200", "COLOR"),
            "MAP_SCALE": 0.25,
            "MINIMUM_LATITUDE": 39.9,
            "MAXIMUM_LATITUDE": 40.1,
            "MINIMUM_LONGITUDE": 9.9,
            "MAXIMUM_LONGITUDE": 10.1,
        },
        {
            "FILE_NAME_SPECIFICATION": _spec("ESP_011300_2200"),
            "MAP_SCALE": 0.5,
            "IMAGE_LINES": 1000,
            "LINE_SAMPLES": 500,
            "MINIMUM_LATITUDE": 39.9,
            "MAXIMUM_LATITUDE": 40.1,
            "MINIMUM_LONGITUDE": 359.95,
            "MAXIMUM_LONGITUDE": 0.05,
        },
        {
            "FILE_NAME_SPECIFICATION": _spec("ESP_011400_1800"),
            "MAP_SCALE": 0.25,
            "IMAGE_LINES": 1000,
            "LINE_SAMPLES": 500,
            "MINIMUM_LATITUDE": -0.1,
            "MAXIMUM_LATITUDE": 0.1,
            "MINIMUM_LONGITUDE": 9.9,
            "MAXIMUM_LONGITUDE": 10.1,
        },
    ]


def test_index_source_selects_from_columns(tmp_path: Path):
    table = write_index(tmp_path / "INDEX", _index_products())
    kind, jobs = collect_jobs(str(table), Selection(), work_dir=tmp_path / "out")
    assert kind == "index"
    assert [j.observation_id for j in jobs] == [
        "ESP_011277_2200",
        "ESP_011300_2200",
        "ESP_011400_1800",
    ]
    assert jobs[0].url == HIRISE_PDS_URL + _spec("ESP_011277_2200")
    assert jobs[0].remote and jobs[0].max_bytes == index_size_bound(1000, 500) == 1_000_000 + 2**20
    assert jobs[1].bounds == (39.9, 40.1, 359.95, 0.05) and jobs[1].lon == pytest.approx(0.0)
    sel = Selection(bbox=(35, 45, -5, 20), max_scale=0.25)
    _, jobs = collect_jobs(
        str(table), sel, work_dir=tmp_path / "out", base_url="http://m.example/P/"
    )
    assert [j.url for j in jobs] == ["http://m.example/P/" + _spec("ESP_011277_2200")]
    _, jobs = collect_jobs(str(table), Selection(bbox=(35, 45, -1, 1)), work_dir=tmp_path / "o")
    assert [j.observation_id for j in jobs] == ["ESP_011300_2200"]  # across the 0/360 seam


def test_index_source_local_tree_and_label_path(tmp_path: Path):
    root = tmp_path / "PDS"
    table = write_index(root / "INDEX", _index_products())
    (root / "RDR").mkdir()
    _, jobs = collect_jobs(str(table.with_suffix(".LBL")), Selection(), work_dir=tmp_path / "o")
    assert not jobs[0].remote and jobs[0].url == str((root / _spec("ESP_011277_2200")).resolve())


def test_index_refuses_unsafe_paths(tmp_path: Path):
    rows = [{"FILE_NAME_SPECIFICATION": "RDR/../../../etc/ESP_011277_2200_RED.JP2"}]
    table = write_index(tmp_path, rows)
    with pytest.raises(DataError, match="unsafe path"):
        collect_jobs(str(table), Selection(), work_dir=tmp_path / "out")


def test_id_list(tmp_path: Path):
    local = _product(tmp_path / "a", "ESP_011500_2200")
    ids = tmp_path / "ids.csv"
    ids.write_text(
        "name,title,comment\n"
        "ESP_011277_2200,Candidate, with, commas\n"
        "# a comment\n\n"
        "esp_011277_2200\n"
        f"https://m.example/x/ESP_011300_2200_RED.JP2\n"
        f"{local}\n"
        f"file://{local.parent}/ESP_011500_2200_RED.JP2\n"
    )
    kind, jobs = collect_jobs(str(ids), Selection(), work_dir=tmp_path / "o", base_url="http://b/")
    assert kind == "id-list"
    assert [(j.observation_id, j.remote) for j in jobs] == [
        ("ESP_011500_2200", False),
        ("ESP_011277_2200", True),
        ("ESP_011300_2200", True),
    ]
    assert jobs[1].url == "http://b/" + _spec("ESP_011277_2200")


@pytest.mark.parametrize(
    "line", ["../../etc/passwd", "ftp://h/ESP_011277_2200_RED.JP2", "http://h/a/../ESP_0_RED.JP2"]
)
def test_id_list_refuses_bad_lines(tmp_path: Path, line: str):
    ids = tmp_path / "ids.txt"
    ids.write_text(f"ESP_011277_2200\n{line}\n")
    with pytest.raises(DataError, match="line 2"):
        collect_jobs(str(ids), Selection(), work_dir=tmp_path / "o")


def test_folder_source_finds_every_product_format(tmp_path: Path):
    """CTX-like IMG (+ label), ISIS3 cube, GeoTIFF and VRT products beside a RED JP2; masks skipped."""
    import numpy as np
    from rasterio.shutil import copy as rio_copy

    from areoscan.io import write_geotiff
    from areoscan.io.pdswriters import MapSpec, write_isis3, write_pds3

    archive = tmp_path / "mixed"
    _product(archive, "ESP_011277_2200", lat=40.0, lon=10.0)
    data = np.full((64, 64), 500, np.uint16)
    near = MapSpec("EQUIRECTANGULAR", "MARS", 3396.19, 0.0, 10.0, 6.0, 0.0, 40.0 * 59275.0)
    far = MapSpec("EQUIRECTANGULAR", "MARS", 3396.19, 0.0, 200.0, 6.0, 0.0, 40.0 * 59275.0)
    ctx = archive / "ctx"
    ctx.mkdir()
    write_pds3(ctx / "P22_009816_1745_XI_05S073W.IMG", data, near, detached=True)
    write_isis3(ctx / "H1234_0000.cub", data, far)
    write_geotiff(ctx / "mosaic.tif", data, overviews=False)
    rio_copy(ctx / "mosaic.tif", ctx / "mosaic2.vrt", driver="VRT")
    write_geotiff(ctx / "mosaic_mask.tif", data.astype(np.uint8), overviews=False)
    assert not is_product("mosaic_mask.tif") and not is_product("X.LBL") and is_product("a.CUB")
    msgs: list[str] = []
    jobs = jobs_from_folder(archive, Selection(), msgs.append)
    ids = sorted(j.observation_id for j in jobs)
    expected = ["ESP_011277_2200", "H1234_0000", "P22_009816_1745_XI_05S073W", "mosaic", "mosaic2"]
    assert ids == sorted(expected)
    assert all(not j.remote for j in jobs) and not msgs
    # --bbox reads each product's own georeference (the cube is at 200 E, the IMG at 10 E)
    picked = jobs_from_folder(archive, Selection(bbox=(35, 45, 0, 20)), msgs.append)
    assert sorted(j.observation_id for j in picked) == [
        "ESP_011277_2200",
        "P22_009816_1745_XI_05S073W",
    ]
