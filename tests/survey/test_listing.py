from pathlib import Path

import pytest

from areoscan.errors import FetchError
from areoscan.survey.listing import parse_listing, walk_http

from .archive import ArchiveServer

APACHE = """<html><body><pre><a href="?C=N;O=D">Name</a>
<a href="../">Parent Directory</a>                             -
<a href="ESP_011277_1825_RED.JP2">ESP_011277_1825_RED.JP2</a>  2008-12-03 10:22  412M
<a href="ESP_011277_1825_RED.LBL">ESP_011277_1825_RED.LBL</a>  2008-12-03 10:22  8.2K
<a href="exact.JP2">exact.JP2</a>  2008-12-03 10:22  123456
<a href="sub/">sub/</a>  2008-12-03 10:22    -
</pre></body></html>"""


def test_parse_listing_sizes_are_upper_bounds():
    links = dict(parse_listing(APACHE))
    assert links["ESP_011277_1825_RED.JP2"] == 413 * 1024**2
    assert links["ESP_011277_1825_RED.LBL"] == int(9.2 * 1024)
    assert links["exact.JP2"] == 123456
    assert links["sub/"] is None
    assert links["../"] is None


def _tree(root: Path) -> None:
    for obs in ["ESP_011277_1825", "ESP_011300_2200"]:
        orbit = int(obs[4:10]) // 100 * 100
        d = root / "PDS/RDR/ESP" / f"ORB_{orbit:06d}_{orbit + 99:06d}" / obs
        d.mkdir(parents=True)
        (d / f"{obs}_RED.JP2").write_bytes(b"x" * 3000)
        (d / f"{obs}_RED.LBL").write_text("label")
        (d / f"{obs}_COLOR.JP2").write_bytes(b"c")
    (root / "PDS/RDR/ESP/bad name with spaces").mkdir()
    (root / "elsewhere/ESP_099999_1825").mkdir(parents=True)
    (root / "elsewhere/ESP_099999_1825/ESP_099999_1825_RED.JP2").write_bytes(b"x")


def test_walk_http_finds_red_products_only_under_base(tmp_path: Path):
    _tree(tmp_path)
    with ArchiveServer(tmp_path) as server:
        found = list(walk_http(server.url + "PDS/RDR/", timeout=5))
        names = [u.rsplit("/", 1)[-1] for u, _ in found]
        assert names == ["ESP_011277_1825_RED.JP2", "ESP_011300_2200_RED.JP2"]
        assert all(size is not None and size >= 3000 for _, size in found)
        assert not any("elsewhere" in p for p, _ in server.log)  # never left the base
        assert not any("bad name" in p for p, _ in server.log)


def test_walk_http_listing_error_is_a_fetch_error(tmp_path: Path):
    _tree(tmp_path)
    with ArchiveServer(tmp_path, {"PDS/RDR/ESP/": ("status", 500, -1)}) as server:
        with pytest.raises(FetchError, match="HTTP 500"):
            list(walk_http(server.url + "PDS/RDR/", timeout=5))
