from pathlib import Path

import pytest

from areoscan.errors import DataError
from areoscan.survey.safety import check_relative_path, check_url, safe_join, url_under


@pytest.mark.parametrize(
    "bad",
    [
        "/etc/passwd",
        "RDR/../../x",
        "RDR//x",
        "RDR/./x",
        "C:\\x",
        "RDR\\x",
        "a/b\x00",
        "http://h/x",
        "",
    ],
)
def test_relative_paths_refused(bad):
    with pytest.raises(DataError, match="unsafe"):
        check_relative_path(bad)


def test_relative_path_accepted():
    spec = "RDR/ESP/ORB_011200_011299/ESP_011277_1825/ESP_011277_1825_RED.JP2"
    assert check_relative_path(spec + "  ") == spec


@pytest.mark.parametrize(
    "bad",
    [
        "ftp://h/x.JP2",
        "javascript:alert(1)",
        "gopher://h/",
        "http:///x",
        "http://h/a/../b",
        "x.JP2",
    ],
)
def test_urls_refused(bad):
    with pytest.raises(DataError):
        check_url(bad)


def test_urls_accepted():
    assert check_url("https://h.example/PDS/RDR/") == "https://h.example/PDS/RDR/"
    assert check_url("file:///data/x_RED.JP2").startswith("file://")


def test_url_under_keeps_walk_inside_base():
    base = "http://127.0.0.1:8000/PDS/RDR/"
    assert url_under(base, "ESP/") == "http://127.0.0.1:8000/PDS/RDR/ESP/"
    assert url_under(base, "/PDS/RDR/ESP/") == "http://127.0.0.1:8000/PDS/RDR/ESP/"
    for href in [
        "../",
        "/PDS/",
        "/",
        "?C=M;O=A",
        "#top",
        "http://evil.example/PDS/RDR/x/",
        "https://127.0.0.1:8000/PDS/RDR/x/",
        "ESP/../../x/",
        "",
    ]:
        assert url_under(base, href) is None, href


def test_safe_join_stays_inside(tmp_path: Path):
    assert safe_join(tmp_path, "downloads", "ESP_011277_1825") == (
        tmp_path.resolve() / "downloads" / "ESP_011277_1825"
    )
    for bad in ["..", "/abs", "a/b", ".hidden", ""]:
        with pytest.raises(DataError):
            safe_join(tmp_path, "downloads", bad)


def test_safe_join_refuses_symlink_escape(tmp_path: Path):
    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "root"
    root.mkdir()
    (root / "downloads").symlink_to(outside)
    with pytest.raises(DataError, match="outside"):
        safe_join(root, "downloads", "ESP_011277_1825")


def test_product_ids_of_local_products():
    from areoscan.survey.safety import check_product_id

    assert check_product_id("esp_011277_1825") == "ESP_011277_1825"
    assert check_product_id("P22_009816_1745_XI_05S073W") == "P22_009816_1745_XI_05S073W"
    for bad in ("../x", "a/b", ".hidden", "", "x" * 200):
        with pytest.raises(DataError):
            check_product_id(bad)
