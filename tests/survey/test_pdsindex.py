from pathlib import Path

import pytest

from areoscan.errors import DataError
from areoscan.survey.pdsindex import find_label_for_table, iter_rows, read_index_label

from .indexfile import COLUMNS, write_index

SPEC = "RDR/ESP/ORB_011200_011299/ESP_011277_1825/ESP_011277_1825_RED.JP2"


def test_layout_from_label(tmp_path: Path):
    table = write_index(tmp_path, [{"FILE_NAME_SPECIFICATION": SPEC, "MAP_SCALE": 0.25}])
    layout = read_index_label(find_label_for_table(table))
    assert layout.table_file == "RDRCUMINDEX.TAB"
    assert set(layout.columns) == {c[0] for c in COLUMNS}
    # VOLUME_ID: quote at byte 1, text from byte 2; MAP_SCALE after '"MROHR_0001",'
    assert layout.columns["VOLUME_ID"].start_byte == 2
    assert layout.columns["MAP_SCALE"].start_byte == 14
    assert layout.row_bytes == len(table.read_bytes().split(b"\n")[0]) + 1


def test_rows_parse_by_type_crlf_and_lf(tmp_path: Path):
    products = [
        {
            "FILE_NAME_SPECIFICATION": SPEC,
            "MAP_SCALE": 0.25,
            "IMAGE_LINES": 40000,
            "LINE_SAMPLES": 20000,
            "MINIMUM_LATITUDE": 2.25,
            "MAXIMUM_LATITUDE": 2.5,
            "MINIMUM_LONGITUDE": 359.9,
            "MAXIMUM_LONGITUDE": 0.1,
        },
        {"FILE_NAME_SPECIFICATION": SPEC.replace("RED", "COLOR"), "MAP_SCALE": None},
    ]
    table = write_index(tmp_path, products)
    layout = read_index_label(table.with_suffix(".LBL"))
    names = ["FILE_NAME_SPECIFICATION", "MAP_SCALE", "IMAGE_LINES", "MAXIMUM_LONGITUDE"]
    rows = list(iter_rows(table, layout, names))
    assert rows[0] == {
        "FILE_NAME_SPECIFICATION": SPEC,
        "MAP_SCALE": 0.25,
        "IMAGE_LINES": 40000,
        "MAXIMUM_LONGITUDE": 0.1,
    }
    assert rows[1]["MAP_SCALE"] is None and rows[1]["IMAGE_LINES"] is None
    lf = tmp_path / "lf.TAB"
    lf.write_bytes(table.read_bytes().replace(b"\r\n", b"\n"))
    assert list(iter_rows(lf, layout, names)) == rows


def test_truncated_row_is_reported(tmp_path: Path):
    table = write_index(tmp_path, [{"FILE_NAME_SPECIFICATION": SPEC}] * 2)
    data = table.read_bytes()
    table.write_bytes(data[: len(data) - 60])
    layout = read_index_label(table.with_suffix(".LBL"))
    with pytest.raises(DataError, match="row 2 has"):
        list(iter_rows(table, layout, ["MAP_PROJECTION_TYPE"]))


def test_missing_column_and_bad_labels(tmp_path: Path):
    table = write_index(tmp_path, [{"FILE_NAME_SPECIFICATION": SPEC}])
    layout = read_index_label(table.with_suffix(".LBL"))
    with pytest.raises(DataError, match="no column 'CORNER1_LATITUDE'"):
        list(iter_rows(table, layout, ["CORNER1_LATITUDE"]))
    bad = tmp_path / "bad.LBL"
    bad.write_text("PDS_VERSION_ID = PDS3\nOBJECT = X\n  A = 1\nEND_OBJECT = X\nEND\n")
    with pytest.raises(DataError, match="no table OBJECT"):
        read_index_label(bad)
    bad.write_text("OBJECT = = =\n")
    with pytest.raises(DataError, match="cannot parse"):
        read_index_label(bad)
    with pytest.raises(DataError, match="not found"):
        read_index_label(tmp_path / "missing.LBL")
    (tmp_path / "alone.TAB").write_text("x")
    with pytest.raises(DataError, match="no label"):
        find_label_for_table(tmp_path / "alone.TAB")
