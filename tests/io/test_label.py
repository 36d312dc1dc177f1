"""PDS3 label parsing/writing against label text composed here (no archive files)."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from areoscan.errors import LabelError
from areoscan.io.label import MapLabel, read_label
from areoscan.io.label_writer import write_label

# Laid out like a HiRISE RDR label: IMAGE nested in UNCOMPRESSED_FILE, namespaced keys, units,
# comments, a bit mask and CRLF line endings.
EQUI = """PDS_VERSION_ID            = PDS3
/* Identification Information */
OBSERVATION_ID            = "ESP_013951_1955"
PRODUCT_ID                = "ESP_013951_1955_RED"
TARGET_NAME               = MARS
OBJECT = IMAGE_MAP_PROJECTION
    MAP_PROJECTION_TYPE          = "EQUIRECTANGULAR"
    A_AXIS_RADIUS                = 3394.8398133163 <KM>
    B_AXIS_RADIUS                = 3394.8398133163 <KM>
    C_AXIS_RADIUS                = 3394.8398133163 <KM>
    COORDINATE_SYSTEM_NAME       = PLANETOCENTRIC
    POSITIVE_LONGITUDE_DIRECTION = EAST
    /* NOTE: CENTER_LATITUDE is the latitude of true scale */
    CENTER_LATITUDE              = 15.000 <DEG>
    CENTER_LONGITUDE             = 180.000 <DEG>
    MAP_PROJECTION_ROTATION      = 0.0 <DEG>
    MAP_SCALE                    = 0.5 <METERS/PIXEL>
    MAXIMUM_LATITUDE             = 15.797211542227 <DEG>
    MINIMUM_LATITUDE             = 15.228493633562 <DEG>
    LINE_PROJECTION_OFFSET       = 1872006.5 <PIXEL>
    SAMPLE_PROJECTION_OFFSET     = 12278395.5 <PIXEL>
    EASTERNMOST_LONGITUDE        = 72.899868557294 <DEG>
    WESTERNMOST_LONGITUDE        = 72.731756232301 <DEG>
END_OBJECT = IMAGE_MAP_PROJECTION
GROUP = INSTRUMENT_SETTING_PARAMETERS
    MRO:BINNING                 = (1, 1, -9998)
END_GROUP = INSTRUMENT_SETTING_PARAMETERS
OBJECT = COMPRESSED_FILE
    FILE_NAME                  = "ESP_013951_1955_RED.JP2"
END_OBJECT = COMPRESSED_FILE
OBJECT = UNCOMPRESSED_FILE
    FILE_NAME    = "ESP_013951_1955_RED.IMG"
    OBJECT = IMAGE
        LINES                      = 67395
        LINE_SAMPLES               = 19243
        BANDS                      = 1
        SAMPLE_BITS                = 16
        SAMPLE_BIT_MASK            = 2#0000001111111111#
        SCALING_FACTOR             = 1.5e-04
        OFFSET                     = 0.05
        CORE_NULL                  = 0
        MRO:MINIMUM_STRETCH        = 3
    END_OBJECT = IMAGE
END_OBJECT = UNCOMPRESSED_FILE
END
""".replace("\n", "\r\n")


def _write(tmp_path: Path, text: str, name: str = "X_RED.LBL") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_reads_hirise_layout(tmp_path: Path) -> None:
    lab = read_label(_write(tmp_path, EQUI))
    assert lab.projection == "EQUIRECTANGULAR"
    assert lab.map_scale == 0.5
    assert (lab.center_latitude, lab.center_longitude) == (15.0, 180.0)
    assert (lab.line_projection_offset, lab.sample_projection_offset) == (1872006.5, 12278395.5)
    assert lab.a_axis_radius == pytest.approx(3394.8398133163)
    assert (lab.lines, lab.line_samples, lab.bands) == (67395, 19243, 1)
    assert (lab.sample_bits, lab.sample_bit_mask, lab.bit_depth) == (16, 1023, 10)
    assert lab.core_null == 0
    assert lab.observation_id == "ESP_013951_1955"
    assert lab.product_id == "ESP_013951_1955_RED"
    assert lab.compressed_file == "ESP_013951_1955_RED.JP2"
    assert lab.easternmost_longitude == pytest.approx(72.899868557294)
    assert lab.scaling_factor == pytest.approx(1.5e-4)


def test_units_are_converted(tmp_path: Path) -> None:
    text = EQUI.replace("0.5 <METERS/PIXEL>", "0.001 <KM/PIXEL>")
    text = text.replace("3394.8398133163 <KM>", "3394839.8133163 <METERS>")
    lab = read_label(_write(tmp_path, text))
    assert lab.map_scale == pytest.approx(1.0)
    assert lab.c_axis_radius == pytest.approx(3394.8398133163)


def test_west_longitudes_become_east(tmp_path: Path) -> None:
    text = EQUI.replace(
        "POSITIVE_LONGITUDE_DIRECTION = EAST", "POSITIVE_LONGITUDE_DIRECTION = WEST"
    )
    lab = read_label(_write(tmp_path, text))
    assert lab.center_longitude == pytest.approx(180.0)  # 180 W == 180 E
    # 72.8998 W is 287.1001 E; the easternmost east longitude is the smallest west one
    assert lab.easternmost_longitude == pytest.approx(360 - 72.731756232301)
    assert lab.westernmost_longitude == pytest.approx(360 - 72.899868557294)


def test_longitudes_in_minus_180_are_normalised(tmp_path: Path) -> None:
    text = EQUI.replace(
        "CENTER_LONGITUDE             = 180.000", "CENTER_LONGITUDE             = -90.0"
    )
    assert read_label(_write(tmp_path, text)).center_longitude == 270.0


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (("    MAP_SCALE                    = 0.5 <METERS/PIXEL>\r\n", ""), "missing MAP_SCALE"),
        (("        LINES                      = 67395\r\n", ""), "missing LINES"),
        (("0.5 <METERS/PIXEL>", '"fast" <METERS/PIXEL>'), "not a number"),
        (("0.5 <METERS/PIXEL>", "-0.5 <METERS/PIXEL>"), "must be positive"),
        (("0.5 <METERS/PIXEL>", "0.5 <FURLONGS/PIXEL>"), "does not understand"),
        (('"EQUIRECTANGULAR"', '"SINUSOIDAL"'), "SINUSOIDAL"),
        (
            ("CENTER_LATITUDE              = 15.000", "CENTER_LATITUDE              = 115.0"),
            "outside -90..90",
        ),
        (("2#0000001111111111#", "2#0000001111011111#"), "SAMPLE_BIT_MASK"),
        (("3394.8398133163 <KM>", "33.9 <KM>"), "not plausible"),
        (("= 67395", "= 0"), "not positive"),
        (("OBJECT = IMAGE_MAP_PROJECTION", "OBJECT = MAP_THING"), "IMAGE_MAP_PROJECTION"),
        (("EAST\r\n", "UP\r\n"), "POSITIVE_LONGITUDE_DIRECTION"),
    ],
)
def test_bad_keys_give_one_line(tmp_path: Path, edit: tuple[str, str], message: str) -> None:
    text = EQUI.replace(*edit).replace(
        "END_OBJECT = IMAGE_MAP_PROJECTION",
        "END_OBJECT = " + ("MAP_THING" if "MAP_THING" in edit[1] else "IMAGE_MAP_PROJECTION"),
    )
    assert text != EQUI
    path = _write(tmp_path, text)
    with pytest.raises(LabelError) as info:
        read_label(path)
    text_msg = str(info.value)
    assert message in text_msg
    assert str(path) in text_msg
    assert "\n" not in text_msg


def test_unreadable_labels(tmp_path: Path) -> None:
    with pytest.raises(LabelError, match="label not found"):
        read_label(tmp_path / "missing.LBL")
    with pytest.raises(LabelError, match="empty"):
        read_label(_write(tmp_path, "   \n"))
    with pytest.raises(LabelError, match="not a readable PDS3 label"):
        read_label(_write(tmp_path, "OBJECT = IMAGE\n  LINES = = =\n"))
    (tmp_path / "blob.LBL").write_bytes(bytes(range(256)) * 4)
    with pytest.raises(LabelError):
        read_label(tmp_path / "blob.LBL")


def test_polar_label_must_be_centred_on_a_pole(tmp_path: Path) -> None:
    text = EQUI.replace('"EQUIRECTANGULAR"', '"POLAR STEREOGRAPHIC"')
    with pytest.raises(LabelError, match="must be ±90"):
        read_label(_write(tmp_path, text))
    text = text.replace(
        "CENTER_LATITUDE              = 15.000", "CENTER_LATITUDE              = -90.0"
    )
    assert read_label(_write(tmp_path, text)).is_polar


def test_write_then_read_round_trips(tmp_path: Path) -> None:
    lab = read_label(_write(tmp_path, EQUI))
    out = write_label(tmp_path / "copy" / "ESP_013951_1955_RED.LBL", lab)
    again = read_label(out)
    assert again == lab
    raw = out.read_bytes()
    assert b"\r\n" in raw
    text = raw.decode()
    # the layout other tools expect from a HiRISE RDR label
    assert text.index("OBJECT = UNCOMPRESSED_FILE") < text.index("OBJECT = IMAGE\r\n")
    assert re.search(r'FILE_NAME +\= "ESP_013951_1955_RED.JP2"', text)
    assert re.search(r"SAMPLE_BIT_MASK +\= 2#0000001111111111#", text)
    assert [p.name for p in out.parent.iterdir()] == [out.name]  # no temp file left


def test_write_minimal_label_fills_names(tmp_path: Path) -> None:
    lab = MapLabel(
        projection="POLAR STEREOGRAPHIC",
        map_scale=1.0,
        center_latitude=90.0,
        center_longitude=0.0,
        line_projection_offset=100.5,
        sample_projection_offset=-20.5,
        lines=64,
        line_samples=48,
        c_axis_radius=3376.2,
        sample_bit_mask=255,
        sample_bits=8,
    )
    again = read_label(write_label(tmp_path / "PSP_001234_2650_RED.LBL", lab))
    assert again.product_id == "PSP_001234_2650_RED"
    assert again.observation_id == "PSP_001234_2650"
    assert again.compressed_file == "PSP_001234_2650_RED.JP2"
    assert again.bit_depth == 8
    assert (
        dataclasses.replace(again, product_id=None, observation_id=None, compressed_file=None)
        == lab
    )
