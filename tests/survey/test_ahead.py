"""Read-ahead on a two-worker cluster: the same survey with and without it gives the same results.

The images are served over http with Range support and carry PLT/TLM markers, so each is read by
the packet: read ahead, a worker fetches its next image's headers, label and screen level while it
scans the current one (:mod:`areoscan.survey.ahead`). The real scan runs, with the tiny transparent
test models (testmodels.py), on the shared two-worker LocalCluster of conftest.py.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from pathlib import Path

import pytest

from areoscan.cli import main

from .archive import ArchiveServer

pytestmark = pytest.mark.slow

SIZE = (512, 768)
# observation id -> brain coral share of the synthetic scene (None: a dark image, which the test
# models find empty; they flag the bright slopes of every synthetic scene)
IMAGES = {
    "ESP_011701_2200": 0.35,
    "ESP_011702_2200": None,
    "ESP_011703_2200": 0.0,
    "ESP_011704_2200": 0.35,
    "ESP_011705_2200": None,
    "ESP_011706_2200": 0.0,
}


def _rel(obs: str) -> str:
    return f"PDS/RDR/ESP/ORB_011700_011799/{obs}/{obs}_RED.JP2"


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> Path:
    """The images of IMAGES as HiRISE RDRs are written: RPCL, 128-px precincts, PLT + TLM."""
    import glymur
    import numpy as np

    from areoscan.io import Jp2Layout, label_centred_on, write_jp2, write_label
    from areoscan.synth import generate_scene

    work, root = tmp_path_factory.mktemp("scenes"), tmp_path_factory.mktemp("archive")
    for seed, (obs, coral) in enumerate(IMAGES.items()):
        if coral is None:  # faint noise, so that its packets are not empty
            data = np.random.default_rng(seed).integers(90, 110, SIZE).astype(np.uint16)
        else:
            scene = generate_scene(work / f"{obs}.JP2", size=SIZE, seed=seed, coral_fraction=coral,
                                   threads=1)  # fmt: skip
            data = glymur.Jp2k(str(scene.image))[:]
        path = root / _rel(obs)
        path.parent.mkdir(parents=True)
        write_jp2(path, data, threads=1, layout=Jp2Layout("RPCL", 128, markers=True))
        label = label_centred_on(40.0, 10.0 + seed, *SIZE, product_id=f"{obs}_RED")
        write_label(path.with_suffix(".LBL"), label)
    return root


def _catalogue(out: Path) -> tuple[dict[str, dict], list[tuple]]:
    db = sqlite3.connect(out / "catalogue.sqlite")
    db.row_factory = sqlite3.Row
    rows = {r["observation_id"]: dict(r) for r in db.execute("SELECT * FROM images")}
    regions = [tuple(r) for r in db.execute("SELECT * FROM regions ORDER BY 1, 2")]
    return rows, regions


FIELDS = ("status", "error", "bytes", "bytes_fetched", "flagged_tiles", "region_count",
          "total_area_m2", "percent", "lat", "lon")  # fmt: skip


def test_read_ahead_on_two_workers_gives_the_same_results(
    archive: Path, models: list[str], scheduler: str, tmp_path: Path
):
    ids = tmp_path / "ids.txt"
    ids.write_text("".join(f"{obs}\n" for obs in IMAGES))
    runs = {}
    with ArchiveServer(archive, ranges=True) as server:
        for name, extra in (("ahead", []), ("one-by-one", ["--no-read-ahead"])):
            out = tmp_path / name
            args = ["survey", str(ids), "--out", str(out), "--base-url", server.url + "PDS/",
                    "--scheduler", scheduler, "--quiet", *models, *extra]  # fmt: skip
            assert main(args) == 0
            runs[name] = _catalogue(out)
    (ahead, ahead_regions), (plain, plain_regions) = runs["ahead"], runs["one-by-one"]
    statuses = Counter(r["status"] for r in plain.values())
    assert statuses == {"done": 4, "empty": 2}, statuses
    # read by the packet, not downloaded whole: an empty image costs a fraction of its bytes
    for row in plain.values():
        assert row["bytes_fetched"] < row["bytes"] if row["status"] == "empty" else True
    assert {o: [r[f] for f in FIELDS] for o, r in ahead.items()} == {
        o: [r[f] for f in FIELDS] for o, r in plain.items()
    }
    assert ahead_regions == plain_regions and len(plain_regions) > 0
    for obs in IMAGES:  # the scans' own figures too (timings and the download folder aside)
        a, p = (json.loads(rows[obs]["summary"]) for rows in (ahead, plain))
        assert a["levels"] == p["levels"] and a["image"].pop("path") != p["image"].pop("path")
        assert a["image"] == p["image"] and a["image"]["bytes_fetched"] > 0
    # with read-ahead, the first two tasks carry the next two images, which then run on the
    # worker that opened them (the one that ran the image before); the rest is first come
    worker = {o: r["worker"] for o, r in ahead.items()}
    first, second, third, fourth = list(IMAGES)[:4]
    assert worker[first] == worker[second] != worker[third] == worker[fourth]
