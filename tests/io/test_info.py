"""`areoscan info`: the report, --json, and a corpus of bad inputs that must give one line and exit 2."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import glymur
import numpy as np
import pytest
from PIL import Image

from areoscan.cli import main
from areoscan.io import write_geotiff, write_jp2, write_label
from areoscan.io.georef import label_centred_on
from areoscan.io.pdswriters import MapSpec, write_pds3


def test_info_text(scene: tuple[Path, np.ndarray, Any], capsys: pytest.CaptureFixture[str]) -> None:
    path, data, _ = scene
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "320 x 256 px" in out
    assert "levels       4" in out
    assert "bit depth    10" in out
    assert "0.25 m/px" in out
    assert "EQUIRECTANGULAR" in out
    assert "ESP_012345_1850" in out
    assert re.search(r"centre +143\.100000 +-35\.200000", out)
    assert f"{100 * (data != 0).mean():.2f}%" in out.split("footprint")[1]


def test_info_json(scene: tuple[Path, np.ndarray, Any], capsys: pytest.CaptureFixture[str]) -> None:
    path, data, _ = scene
    assert main(["info", str(path), "--json", "--lon-range", "180", "--footprint-level", "0"]) == 0
    facts = json.loads(capsys.readouterr().out)
    assert (facts["height"], facts["width"], facts["levels"], facts["bit_depth"]) == (
        320,
        256,
        4,
        10,
    )
    assert facts["scale_m_per_px"] == 0.25
    assert facts["projection"] == "EQUIRECTANGULAR"
    assert facts["centre_lonlat"] == pytest.approx([143.1, -35.2])
    ul, lr = facts["corners_lonlat"]["upper_left"], facts["corners_lonlat"]["lower_right"]
    assert ul[1] > -35.2 > lr[1] and ul[0] < 143.1 < lr[0]
    # 320 rows of 0.25 m span 80 m: about 80 / (R * pi / 180) degrees of latitude
    assert ul[1] - lr[1] == pytest.approx(80 / (3389574.35 * np.pi / 180), rel=1e-5)
    assert facts["footprint_fraction"] == pytest.approx((data != 0).mean(), abs=1e-6)
    assert facts["nodata"] == 0 and facts["observation_id"] == "ESP_012345_1850"


def test_info_without_label(
    bare_jp2: tuple[Path, np.ndarray], capsys: pytest.CaptureFixture[str]
) -> None:
    path, _ = bare_jp2
    assert main(["info", str(path)]) == 0
    assert "georef       none" in capsys.readouterr().out


# ------------------------------------------------------------------------------------------------
# bad inputs: each is (name, builder(tmp_path, good_jp2, good_lbl) -> argv, text expected in message)

Builder = Callable[[Path, bytes, Path], list[str]]


def _file(name: str, content: bytes) -> Builder:
    def build(tmp: Path, jp2: bytes, lbl: Path) -> list[str]:
        (tmp / name).write_bytes(content)
        return [str(tmp / name)]

    return build


def _truncated(at: int | None, frac: float | None = None) -> Builder:
    def build(tmp: Path, jp2: bytes, lbl: Path) -> list[str]:
        cut = at if at is not None else int(len(jp2) * (frac or 0.5))
        path = tmp / f"cut{cut}_RED.JP2"
        path.write_bytes(jp2[:cut])
        return [str(path)]

    return build


def _png_renamed(tmp: Path, jp2: bytes, lbl: Path) -> list[str]:
    Image.fromarray(np.zeros((40, 40), np.uint8)).save(tmp / "x.png")
    (tmp / "x.png").rename(tmp / "ESP_1_RED.JP2")
    return [str(tmp / "ESP_1_RED.JP2")]


def _rgb(tmp: Path, jp2: bytes, lbl: Path) -> list[str]:
    glymur.Jp2k(str(tmp / "rgb.jp2"), data=np.zeros((64, 64, 3), np.uint8), numres=2)
    return [str(tmp / "rgb.jp2")]


def _one_pixel(tmp: Path, jp2: bytes, lbl: Path) -> list[str]:
    write_jp2(tmp / "dot.jp2", np.ones((1, 1), np.uint16), numres=1)
    return [str(tmp / "dot.jp2")]


def _with_label(text_edit: tuple[str, str] | None, name: str) -> Builder:
    def build(tmp: Path, jp2: bytes, lbl: Path) -> list[str]:
        (tmp / f"{name}.JP2").write_bytes(jp2)
        if text_edit is not None:
            text = lbl.read_text().replace(*text_edit)
            assert text != lbl.read_text()
            (tmp / f"{name}.LBL").write_text(text)
        return [str(tmp / f"{name}.JP2"), "--require-label"]

    return build


def _label_elsewhere(missing: bool) -> Builder:
    def build(tmp: Path, jp2: bytes, lbl: Path) -> list[str]:
        (tmp / "img.JP2").write_bytes(jp2)
        other = tmp / "other.LBL"
        if not missing:
            write_label(other, label_centred_on(10.0, 10.0, 999, 256))
        return [str(tmp / "img.JP2"), "--label", str(other)]

    return build


def _pds3(edit: Callable[[Path], Path]) -> Builder:
    """A PDS3 product (attached label unless ``edit`` detaches it), spoiled by ``edit``."""

    def build(tmp: Path, jp2: bytes, lbl: Path) -> list[str]:
        data = np.random.default_rng(2).integers(1, 1024, (64, 96)).astype(np.uint16)
        spec = MapSpec("EQUIRECTANGULAR", "MARS", 3396.19, 0.0, 10.0, 6.0, 1000.0, 2000.0)
        detached = edit.__name__.startswith("detached")
        return [str(edit(write_pds3(tmp / "CTX_P01.IMG", data, spec, detached=detached)))]

    return build


def _replace_same_length(path: Path, old: bytes, new: bytes) -> Path:
    assert len(old) == len(new)
    text = path.read_bytes()
    assert old in text
    path.write_bytes(text.replace(old, new, 1))
    return path


def detached_image_missing(img: Path) -> Path:
    img.unlink()
    return img.with_suffix(".LBL")


def record_bytes_doubled(img: Path) -> Path:
    return _replace_same_length(img, b"RECORD_BYTES = 192", b"RECORD_BYTES = 384")


def truncated_img(img: Path) -> Path:
    img.write_bytes(img.read_bytes()[: img.stat().st_size * 2 // 3])
    return img


def unknown_body(img: Path) -> Path:
    return _replace_same_length(img, b'"MARS"', b'"ZORG"')


def _unprojected_cube(tmp: Path, jp2: bytes, lbl: Path) -> list[str]:
    import rasterio

    with rasterio.open(tmp / "lev1.cub", "w", driver="ISIS3", width=64, height=64, count=1,
                       dtype="uint16") as ds:  # fmt: skip
        ds.write(np.ones((1, 64, 64), np.uint16))
    return [str(tmp / "lev1.cub")]


def _multiband_tif(tmp: Path, jp2: bytes, lbl: Path) -> list[str]:
    write_geotiff(tmp / "rgb.tif", np.ones((3, 64, 64), np.uint8), overviews=False)
    return [str(tmp / "rgb.tif")]


BAD_INPUTS: list[tuple[str, Builder, str]] = [
    ("PDS3 label pointing at a missing file", _pds3(detached_image_missing), "which is not in"),
    ("PDS3 wrong RECORD_BYTES", _pds3(record_bytes_doubled), "RECORD_BYTES is wrong"),
    ("PDS3 truncated IMG", _pds3(truncated_img), "is truncated"),
    ("PDS3 unknown body", _pds3(unknown_body), "target body 'ZORG' is unknown"),
    ("ISIS3 cube without map", _unprojected_cube, "unprojected"),
    ("multi-band GeoTIFF", _multiband_tif, "pass --band N (1..3)"),
    ("zero bytes", _file("empty_RED.JP2", b""), "file is empty"),
    ("truncated in box headers", _truncated(20), "truncated"),
    ("truncated in codestream header", _truncated(150), "truncated"),
    ("truncated at half", _truncated(None, 0.5), "truncated"),
    ("truncated before end marker", _truncated(None, 0.999), "truncated"),
    ("png renamed .JP2", _png_renamed, "is a PNG file but named .JP2"),
    ("random bytes", _file("noise_RED.JP2", np.random.default_rng(0).bytes(5000)), "unrecognised"),
    ("html error page", _file("page_RED.JP2", b"<!DOCTYPE html><html>503</html>"), "HTML"),
    ("RGB JP2", _rgb, "has 3 bands"),
    (
        "label claims more bits than the JP2",
        _with_label(("2#0000001111111111#", "2#0000111111111111#"), "deep_RED"),
        "says 12-bit samples but deep_RED.JP2 has 10-bit",
    ),
    ("1x1 image", _one_pixel, "1 x 1 px"),
    ("missing label", _with_label(None, "nolabel_RED"), "no PDS3 label"),
    (
        "label missing keys",
        _with_label(("MAP_SCALE", "MAP_SCALE_X"), "nokey_RED"),
        "missing MAP_SCALE",
    ),
    ("label nonsense", _with_label(('"EQUIRECTANGULAR"', '"TEAPOT"'), "teapot_RED"), "TEAPOT"),
    (
        "label not a label",
        _with_label(("OBJECT = IMAGE_MAP_PROJECTION", "OBJECT = = ="), "garbled_RED"),
        "label",
    ),
    ("--label missing", _label_elsewhere(True), "label not found"),
    ("label of another image", _label_elsewhere(False), "describes 999 x 256"),
    ("no such file", lambda tmp, jp2, lbl: [str(tmp / "ghost_RED.JP2")], "image not found"),
]


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, Path]:
    folder = tmp_path_factory.mktemp("good")
    rng = np.random.default_rng(1)
    jp2 = write_jp2(folder / "g.JP2", rng.integers(1, 1024, (256, 256)).astype(np.uint16))
    lbl = write_label(folder / "g.LBL", label_centred_on(10.0, 10.0, 256, 256))
    return jp2.read_bytes(), lbl


@pytest.mark.parametrize(("name", "build", "expected"), BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_bad_input_gives_one_line_and_exit_2(
    name: str,
    build: Builder,
    expected: str,
    good: tuple[bytes, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = build(tmp_path, good[0], good[1])
    code = main(["info", *argv])
    captured = capsys.readouterr()
    assert code == 2, captured
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("areoscan: ")
    assert expected in lines[0]
    named = (
        Path(argv[2]).name if "--label" in argv and "not found" in expected else Path(argv[0]).name
    )
    assert named in lines[0] or Path(argv[0]).stem in lines[0]
    assert "Traceback" not in captured.err and captured.out == ""


def test_url_answering_404(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    import http.server
    import threading

    class NotFound(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_error(404, "Not Found")

        def log_message(self, *args: Any) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), NotFound)
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}/x/ESP_9_RED.JP2"
        code = main(["info", url, "--cache-dir", str(tmp_path)])
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and "HTTP 404" in err[0] and "ESP_9_RED.JP2" in err[0]


def test_console_script_subprocess(tmp_path: Path) -> None:
    bad = tmp_path / "broken_RED.JP2"
    bad.write_bytes(b"\x00\x00\x00\x0cjP  \r\n\x87\n" + b"\x00" * 30)
    script = Path(sys.executable).with_name("areoscan")
    argv = [str(script)] if script.exists() else [sys.executable, "-m", "areoscan"]
    proc = subprocess.run([*argv, "info", str(bad)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "broken_RED.JP2" in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr


def test_info_of_a_moon_pds3_product(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = np.random.default_rng(4).integers(1, 1024, (64, 96)).astype(np.uint16)
    spec = MapSpec("SINUSOIDAL", "MOON", 1737.4, 0.0, 30.0, 100.0, 0.0, 0.0)
    img = write_pds3(tmp_path / "WAC_MOSAIC.IMG", data, spec, detached=True, bits=10)
    assert main(["info", str(img.with_suffix(".LBL")), "--json"]) == 0
    facts = json.loads(capsys.readouterr().out)
    assert facts["body"] == "Moon" and facts["projection"] == "Sinusoidal"
    assert facts["scale_m_per_px"] == 100.0 and facts["bit_depth"] == 10
    assert facts["format"] == "pds3" and facts["path"].endswith("WAC_MOSAIC.IMG")
    lon, lat = facts["corners_lonlat"]["upper_left"]
    assert lon == pytest.approx(30.0) and lat == pytest.approx(0.0)
    assert main(["info", str(img)]) == 0
    text = capsys.readouterr().out
    assert "body         Moon" in text and "projection   Sinusoidal" in text
    assert "scale        100 m/px" in text and "upper left" in text
