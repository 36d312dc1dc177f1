import sqlite3
from pathlib import Path

import pytest

from areoscan.errors import DataError
from areoscan.survey.catalogue import Catalogue
from areoscan.survey.jobs import Job


def _jobs(n: int) -> list[Job]:
    return [Job(f"ESP_0112{i:02d}_2200", f"http://h/{i}_RED.JP2", True, 1000) for i in range(n)]


def _done(obs: str, regions: int = 2) -> dict:
    return {
        "observation_id": obs,
        "status": "done" if regions else "empty",
        "total_s": 1.0,
        "lat": 40.0,
        "lon": 10.0,
        "region_count": regions,
        "regions": [
            {
                "region_id": i + 1,
                "area_m2": 10.0 * (i + 1),
                "centroid_lat": 40.0,
                "centroid_lon": 10.0,
                "mean_prob": 0.7,
                "max_prob": 0.9,
                "geometry": {"type": "Point", "coordinates": [10, 40]},
            }
            for i in range(regions)
        ],
    }


def test_add_jobs_is_idempotent_and_todo_orders(tmp_path: Path):
    with Catalogue(tmp_path) as cat:
        assert cat.add_jobs(_jobs(3)) == 3
        assert cat.add_jobs(_jobs(4)) == 1
        assert cat.counts()["pending"] == 4
        ids = [r["observation_id"] for r in cat.todo()]
        assert ids == [j.observation_id for j in _jobs(4)]
        assert len(cat.todo(limit=2)) == 2
        assert [r["observation_id"] for r in cat.todo(ids[1:2])] == ids[1:2]


def test_results_statuses_attempts_and_regions_replace(tmp_path: Path):
    jobs = _jobs(3)
    a, b, c = (j.observation_id for j in jobs)
    with Catalogue(tmp_path) as cat:
        cat.add_jobs(jobs)
        cat.mark_running([a, b, c])
        cat.record_result(_done(a, 2))
        cat.record_result(_done(b, 0))
        cat.record_result({"observation_id": c, "status": "failed", "error": "FetchError: 404"})
        assert cat.counts() == {"pending": 0, "running": 0, "done": 1, "empty": 1, "failed": 1}
        assert [r["observation_id"] for r in cat.todo(max_attempts=3)] == [c]
        assert cat.todo(max_attempts=1) == []
        assert {r["observation_id"] for r in cat.todo(reprocess=True)} == {a, b, c}
        # reprocessing replaces regions instead of duplicating them
        cat.record_result(_done(a, 3))
        regions = cat.regions()
        assert [(r["observation_id"], r["region_id"]) for r in regions] == [(a, 1), (a, 2), (a, 3)]
        assert regions[0]["geometry"] == {"type": "Point", "coordinates": [10, 40]}
        row = {r["observation_id"]: r for r in cat.images()}
        assert row[a]["attempts"] == 2 and row[c]["error"] == "FetchError: 404"
        # a failure on reprocessing keeps the earlier regions and figures
        cat.record_result({"observation_id": a, "status": "failed", "error": "boom"})
        assert len(cat.regions()) == 3
        assert {r["observation_id"]: r for r in cat.images()}[a]["region_count"] == 3


def test_recover_and_reset_running(tmp_path: Path):
    jobs = _jobs(2)
    with Catalogue(tmp_path) as cat:
        cat.add_jobs(jobs)
        cat.mark_running([jobs[0].observation_id, jobs[1].observation_id])
        cat.reset_running([jobs[0].observation_id])
        assert cat.counts()["running"] == 1
    with Catalogue(tmp_path) as cat:  # a client that died left one row running
        assert cat.recover() == 1
        assert cat.counts() == {"pending": 2, "running": 0, "done": 0, "empty": 0, "failed": 0}


def test_interrupted_transaction_rolls_back(tmp_path: Path):
    jobs = _jobs(1)
    with Catalogue(tmp_path) as cat:
        cat.add_jobs(jobs)
        with pytest.raises(KeyboardInterrupt), cat.transaction() as conn:
            conn.execute("UPDATE images SET status='done'")
            raise KeyboardInterrupt
        assert cat.counts()["pending"] == 1


def test_lock_and_read_only_open(tmp_path: Path):
    with Catalogue(tmp_path) as cat:
        cat.add_jobs(_jobs(1))
        with pytest.raises(DataError, match="another survey"):
            Catalogue(tmp_path)
        with Catalogue(tmp_path, lock=False, create=False) as reader:
            assert reader.counts()["pending"] == 1
    with pytest.raises(DataError, match="no survey catalogue"):
        Catalogue(tmp_path / "nothing", lock=False, create=False)


def test_not_a_database(tmp_path: Path):
    (tmp_path / "catalogue.sqlite").write_bytes(b"garbage" * 1000)
    with pytest.raises(DataError, match="not a usable catalogue"):
        Catalogue(tmp_path)


def test_runs_are_recorded(tmp_path: Path):
    with Catalogue(tmp_path) as cat:
        run = cat.start_run("src", {"limit": 3})
        cat.finish_run(run, "completed")
        (row,) = cat.runs()
        assert row["outcome"] == "completed" and '"limit": 3' in row["arguments"]
    assert (
        sqlite3.connect(tmp_path / "catalogue.sqlite")
        .execute("PRAGMA integrity_check")
        .fetchone()[0]
        == "ok"
    )
