"""End to end: `areoscan survey` over http on a synthetic archive with injected faults, real scan.

A module-scoped archive made from small synthetic scenes (areoscan.synth) and a dark image is
served on 127.0.0.1 with faults: 404, a 500 then success, a truncated body, a stalled (slow) body,
a corrupt JP2 and a download larger than the listing announces. The survey runs on a shared
LocalCluster of 2 workers (joined with --scheduler) and, in the interruption test, on its own local
cluster in a subprocess; always with the real scan and tiny transparent models (testmodels.py), so
that outcomes are deterministic.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from areoscan.cli import main

from .archive import ArchiveServer, wait_until
from .conftest import TESTMODELS
from .indexfile import write_index

pytestmark = pytest.mark.slow

SIZE = (512, 768)
# role -> (observation id, scene it is made from, fault injected by the server or on disk)
ROLES: dict[str, tuple[str, str, tuple | None]] = {
    "coral": ("ESP_011201_2200", "coral-a", None),
    "dark": ("ESP_011202_2200", "dark", None),
    "flaky": ("ESP_011203_2200", "plain-a", ("status", 500, 1)),
    "missing": ("ESP_011204_2200", "coral-b", ("status", 404, -1)),
    "truncated": ("ESP_011205_2200", "plain-b", ("truncate", 0.5)),
    "slow": ("ESP_011206_2200", "coral-a", ("stall", 12.0)),
    "corrupt": ("ESP_011207_2200", "coral-c", ("corrupt",)),
    "oversize": ("ESP_011208_2200", "plain-c", ("announce", 2048)),
}
FAILED = {
    "missing": "HTTP 404",
    "truncated": "received",
    "slow": "gave up",
    "corrupt": "Error",
    "oversize": "max_bytes",
}
ID = {role: obs for role, (obs, _, _) in ROLES.items()}


def _rel(obs: str) -> str:
    orbit = int(obs[4:10]) // 100 * 100
    return f"PDS/RDR/{obs[:3]}/ORB_{orbit:06d}_{orbit + 99:06d}/{obs}/{obs}_RED.JP2"


def _place(src: Path, root: Path, obs: str, truncate: bool = False) -> None:
    """Copy a scene into the archive under ``obs``, with the label's ids rewritten to match."""
    import dataclasses

    from areoscan.io import read_label, write_label

    dest = root / _rel(obs)
    dest.parent.mkdir(parents=True, exist_ok=True)
    data = src.read_bytes()
    dest.write_bytes(data[: len(data) // 3] if truncate else data)
    label = dataclasses.replace(
        read_label(src.with_suffix(".LBL")),
        product_id=f"{obs}_RED",
        observation_id=obs,
        compressed_file=dest.name,
    )
    write_label(dest.with_suffix(".LBL"), label)


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> tuple[Path, dict[str, tuple]]:
    """A PDS tree of 8 images (6 synthetic scenes, 3 with brain coral; a dark image) and faults."""
    import numpy as np

    from areoscan.io import label_centred_on, write_jp2, write_label
    from areoscan.synth import generate_scene

    work = tmp_path_factory.mktemp("scenes")
    scenes: dict[str, Path] = {
        f"{kind}-{x}": generate_scene(
            work / f"{kind}-{x}.JP2",
            size=SIZE,
            seed=seed,
            coral_fraction=0.35 if kind == "coral" else 0.0,
        ).image
        for seed, (kind, x) in enumerate((k, x) for k in ("coral", "plain") for x in "abc")
    }
    scenes["dark"] = write_jp2(work / "dark.JP2", np.full(SIZE, 100, np.uint16), bit_depth=10)
    write_label(
        work / "dark.LBL",
        label_centred_on(-35.0, 300.0, *SIZE, map_scale=0.25, product_id="dark_RED"),
    )
    root = tmp_path_factory.mktemp("archive")
    faults: dict[str, tuple] = {}
    for obs, scene, fault in ROLES.values():
        _place(Path(scenes[scene]), root, obs, truncate=fault == ("corrupt",))
        if fault and fault != ("corrupt",):
            faults[_rel(obs)] = fault
    return root, faults


def _survey(
    source: str, out: Path, models: list[str], *extra: str, scheduler: str | None = None
) -> int:
    where = (
        ["--scheduler", scheduler] if scheduler else ["--workers", "2", "--dashboard-address", ":0"]
    )
    return main(
        [
            "survey",
            source,
            "--out",
            str(out),
            "--timeout",
            "4",  # well above a listing's time on a loaded 2-core CI machine, well under the stall
            "--retries",
            "1",
            *where,
            *models,
            *extra,
        ]
    )


def _rows(out: Path) -> dict[str, dict]:
    db = sqlite3.connect(out / "catalogue.sqlite")
    db.row_factory = sqlite3.Row
    return {r["observation_id"]: dict(r) for r in db.execute("SELECT * FROM images")}


def _no_duplicates(out: Path) -> None:
    db = sqlite3.connect(out / "catalogue.sqlite")
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    dup = db.execute(
        "SELECT COUNT(*) FROM (SELECT 1 FROM regions GROUP BY observation_id, region_id"
        " HAVING COUNT(*) > 1)"
    ).fetchone()[0]
    assert dup == 0
    assert db.execute("SELECT COUNT(*) FROM images WHERE status='running'").fetchone()[0] == 0


def test_survey_http_tree_faults_resume_and_report(
    archive, models, scheduler, tmp_path: Path, capsys
):
    from areoscan.scan import read_regions

    root, faults = archive
    out = tmp_path / "survey"
    with ArchiveServer(root, faults) as server:
        url = server.url + "PDS/RDR/"
        assert _survey(url, out, models, scheduler=scheduler) == 0
        assert "dashboard" in capsys.readouterr().err
        rows = _rows(out)
        assert set(rows) == set(ID.values())
        for role, reason in FAILED.items():
            row = rows[ID[role]]
            assert row["status"] == "failed" and reason in row["error"], (role, row["error"])
            assert row["attempts"] == 1
        assert (
            "RasterError" in rows[ID["corrupt"]]["error"] or "JP2" in rows[ID["corrupt"]]["error"]
        )
        assert rows[ID["dark"]]["status"] == "empty"
        for role in ("coral", "flaky"):
            row = rows[ID[role]]
            assert row["status"] == "done" and row["scale"] == 0.25 and row["lat"] is not None
            folder = Path(row["output_dir"])
            assert folder == out / "observations" / ID[role] and (folder / "summary.json").is_file()
            assert row["region_count"] == len(read_regions(folder))
        assert server.requests_for(_rel(ID["flaky"]))[:2] == [500, 200]
        assert _region_rows(out) == sum(r["region_count"] or 0 for r in rows.values()) > 0
        # downloads are deleted once scanned; nothing is written outside DIR
        assert not [p for p in (out / "downloads").rglob("*") if p.is_file()]
        _no_duplicates(out)

        # run again: done/empty are not fetched, failed are retried
        served = {role: len(server.requests_for(_rel(obs))) for role, obs in ID.items()}
        assert _survey(url, out, models, scheduler=scheduler) == 0
        again = _rows(out)
        for role in ("coral", "dark", "flaky"):
            assert len(server.requests_for(_rel(ID[role]))) == served[role]
            assert again[ID[role]]["attempts"] == 1
        assert all(again[ID[role]]["attempts"] == 2 for role in FAILED)
        _no_duplicates(out)

        # the 404 is fixed on the server: the next run recovers it
        del server.faults[_rel(ID["missing"])]
        assert _survey(url, out, models, scheduler=scheduler) == 0
        assert _rows(out)[ID["missing"]]["status"] == "done"
        # attempts exhausted (3): the failed images are left alone, nothing is fetched
        before = {obs: r["attempts"] for obs, r in _rows(out).items()}
        n_requests = len(server.log)
        assert _survey(url, out, models, scheduler=scheduler) == 0
        assert {obs: r["attempts"] for obs, r in _rows(out).items()} == before
        assert all(p.endswith("/") for p, _ in server.log[n_requests:])  # listings only

        # the same images selected through a cumulative index map onto the same rows;
        # --reprocess replaces regions rather than duplicating them
        index = write_index(
            tmp_path / "INDEX",
            [
                {
                    "FILE_NAME_SPECIFICATION": _rel(o).removeprefix("PDS/"),
                    "MAP_SCALE": 0.25,
                    "IMAGE_LINES": SIZE[0],
                    "LINE_SAMPLES": SIZE[1],
                    "MINIMUM_LATITUDE": 39.9,
                    "MAXIMUM_LATITUDE": 40.1,
                    "MINIMUM_LONGITUDE": 9.9 + 20 * (o == ID["dark"]),
                    "MAXIMUM_LONGITUDE": 10.1 + 20 * (o == ID["dark"]),
                }
                for o in ID.values()
            ],
        )
        regions_before = _region_rows(out)
        code = _survey(
            str(index),
            out,
            models,
            "--base-url",
            server.url + "PDS/",
            "--bbox",
            "30",
            "50",
            "0",
            "20",
            "--reprocess",
            "--limit",
            "1",
            scheduler=scheduler,
        )
        assert code == 0
        after = _rows(out)
        assert len(after) == len(ID) and after[ID["coral"]]["attempts"] == 2
        assert _region_rows(out) == regions_before
        _no_duplicates(out)

    assert main(["report", str(out)]) == 0
    report = out / "report"
    for name in ("index.html", "static.html", "candidates.csv", "candidates.geojson", "map.png"):
        assert (report / name).is_file()
    assert ID["coral"] in (report / "candidates.csv").read_text()
    assert (report / "quicklooks" / f"{ID['coral']}.jpg").is_file()
    # a real scan's regions carry pixel boxes and its summary the image size: boxes in the viewer
    assert "<rect " in (report / "scans" / f"{ID['coral']}.html").read_text()


def _region_rows(out: Path) -> int:
    return (
        sqlite3.connect(out / "catalogue.sqlite")
        .execute("SELECT COUNT(*) FROM regions")
        .fetchone()[0]
    )


def test_survey_interrupted_then_resumed(archive, models, scheduler, tmp_path: Path):
    """A real subprocess, interrupted like a terminal's Ctrl-C, then resumed."""
    import dask

    root, _ = archive
    out = tmp_path / "survey"
    ids = tmp_path / "ids.txt"  # local paths: read in place, never deleted
    ids.write_text(
        "".join(f"{root / _rel(ID[r])}\n" for r in ("coral", "dark", "flaky", "missing"))
    )
    cmd = [
        sys.executable,
        "-m",
        "areoscan",
        "survey",
        str(ids),
        "--out",
        str(out),
        "--workers",
        "1",
        "--dashboard-address",
        ":0",
        *models,
    ]
    env = os.environ | {
        "PYTHONUNBUFFERED": "1",
        "DASK_DISTRIBUTED__WORKER__PRELOAD": str([str(TESTMODELS)]),
    }
    # its own session, so that SIGINT reaches client and workers as a terminal's Ctrl-C does
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, start_new_session=True, env=env)
    try:
        db = out / "catalogue.sqlite"

        def one_done() -> bool:
            try:
                q = "SELECT COUNT(*) FROM images WHERE status IN ('done','empty')"
                return db.exists() and sqlite3.connect(db).execute(q).fetchone()[0] >= 1
            except sqlite3.OperationalError:
                return False

        assert wait_until(one_done, timeout=60)
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode in (0, 130), err  # 0 if it had already finished
    assert "Traceback" not in err, err
    _no_duplicates(out)
    assert dask.config.get("distributed.worker.preload")
    assert _survey(str(ids), out, models, scheduler=scheduler) == 0
    rows = _rows(out)
    assert {obs: r["status"] for obs, r in rows.items()} == {
        ID["coral"]: "done",
        ID["dark"]: "empty",
        ID["flaky"]: "done",
        ID["missing"]: "done",
    }
    assert all((root / _rel(obs)).is_file() for obs in rows)  # local images are never deleted
    _no_duplicates(out)


def test_bad_inputs_give_one_line(tmp_path: Path, capsys):
    assert main(["survey", str(tmp_path / "missing"), "--out", str(tmp_path / "o")]) == 2
    assert "no such file or folder" in capsys.readouterr().err
    ids = tmp_path / "ids.txt"
    ids.write_text("ESP_011201_2200\n../../../etc/passwd\n")
    assert main(["survey", str(ids), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "line 2" in err and len(err.strip().splitlines()) == 1
    assert main(["survey", "ftp://h/x", "--out", str(tmp_path / "o")]) == 2
    assert (
        main(["survey", str(ids), "--out", str(tmp_path / "o"), "--bbox", "50", "10", "0", "1"])
        == 2
    )
    assert main(["report", str(tmp_path / "nothing")]) == 2


@pytest.mark.parametrize("flag", [[], ["--no-read-ahead"]])
def test_no_read_ahead_reaches_the_workers_options(tmp_path: Path, monkeypatch, flag):
    """--no-read-ahead gets to the options every task receives (what it changes on the workers
    is tested in test_engine: no task carries an ``ahead`` and the results are the same)."""
    from contextlib import nullcontext

    from areoscan.survey import run
    from areoscan.survey.engine import SurveyResult

    seen = {}

    def process(cat, rows, client, out, options, **kw):
        seen["options"] = options
        return SurveyResult(0, {}, 0.0)

    monkeypatch.setattr(run, "open_client", lambda *a, **kw: nullcontext())
    monkeypatch.setattr(run, "process_on_cluster", process)
    ids = tmp_path / "ids.txt"
    ids.write_text("ESP_011201_2200\n")
    assert main(["survey", str(ids), "--out", str(tmp_path / "o"), *flag]) == 0
    assert seen["options"].read_ahead == (not flag) and seen["options"].partial
