"""The survey catalogue: one SQLite database per survey folder, written only by the client.

Use :class:`Catalogue` from the process that drives a survey (never from Dask workers): it holds a
row per image (status pending / running / done / empty / failed, error, attempts, timings, location,
scale, scan figures), a row per candidate region (GeoJSON polygon in lon/lat, area, centroid,
probabilities), a row per detected object of a scan run with a detector (class, score, area,
centroid, outline) and a row per vetted candidate (yes / no / maybe and a note, see ``vetting``);
the tables and their upgrades are in :mod:`areoscan.survey.catalogueschema`. Every change is one
transaction, so a crash or Ctrl-C at any moment leaves either the old or the new state; rows left
``running`` by a killed client are reset by :meth:`recover`. A lock file stops two surveys from
writing the same folder at once.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from areoscan.errors import DataError, OutputError
from areoscan.survey.catalogueschema import (
    SCHEMA,
    SCHEMA_VERSION,
    STATUSES,
    immediate_transaction,
    migrate,
)
from areoscan.survey.detectiontable import decoded_rows, read_detection_rows, store_detections

CATALOGUE_NAME = "catalogue.sqlite"


IMAGE_RESULT_FIELDS = (
    "fetch_s",
    "scan_s",
    "total_s",
    "worker",
    "bytes",
    "bytes_fetched",
    "lat",
    "lon",
    "scale",
    "flagged_tiles",
    "region_count",
    "detection_count",
    "total_area_m2",
    "percent",
    "output_dir",
)


class Catalogue:
    """SQLite catalogue of a survey folder (``DIR/catalogue.sqlite``); use as a context manager.

    lock: take the folder's writer lock (the survey does; the report only reads, without it).
    """

    def __init__(self, folder: str | Path, *, lock: bool = True, create: bool = True) -> None:
        self.folder = Path(folder)
        self.path = self.folder / CATALOGUE_NAME
        if not create and not self.path.exists():
            raise DataError(f"{self.path}: no survey catalogue here; run `areoscan survey` first")
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"{self.folder}: cannot create the survey folder ({exc})") from None
        self._lock_fd: int | None = self._take_lock() if lock else None
        try:
            self.conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
            self.conn.row_factory = sqlite3.Row
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.execute("PRAGMA foreign_keys=ON")
            migrate(self.conn)
            if create:
                self.conn.executescript(SCHEMA)  # idempotent; statements autocommit
                self.conn.execute(
                    "INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)",
                    (str(SCHEMA_VERSION),),
                )
        except sqlite3.DatabaseError as exc:
            self.close()
            raise DataError(f"{self.path}: not a usable catalogue ({exc}); move it away") from None
        version = self.conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        if version is None or int(version[0]) != SCHEMA_VERSION:
            self.close()
            raise DataError(
                f"{self.path}: catalogue schema {version and version[0]} is not {SCHEMA_VERSION}"
            )

    # -- plumbing ---------------------------------------------------------------------------------

    def _take_lock(self) -> int:
        import fcntl

        fd = os.open(self.folder / ".survey.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise DataError(
                f"{self.folder}: another survey is writing this folder; wait for it or use another --out"
            ) from None
        return fd

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        """One atomic transaction (BEGIN IMMEDIATE … COMMIT, ROLLBACK on any exception)."""
        return immediate_transaction(self.conn)

    def close(self) -> None:
        """Close the database and release the folder lock."""
        conn = getattr(self, "conn", None)
        if conn is not None:
            conn.close()
            self.conn = None  # type: ignore[assignment]
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def __enter__(self) -> Catalogue:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- images -----------------------------------------------------------------------------------

    def add_jobs(self, jobs: Iterable[Any]) -> int:
        """Insert jobs as pending rows (existing rows keep their status); return how many are new.

        Known location / scale from the source fill blanks of existing rows; the URL of a row not
        yet done is updated so a survey can move to a new mirror.
        """
        now = time.time()
        new = 0
        with self.transaction() as conn:
            for job in jobs:
                d = job.to_dict() if hasattr(job, "to_dict") else dict(job)
                bounds = d.get("bounds") or (None, None, None, None)
                cur = conn.execute(
                    "INSERT OR IGNORE INTO images (observation_id, url, remote, max_bytes, status,"
                    " added_at, lat, lon, scale, min_lat, max_lat, min_lon, max_lon)"
                    " VALUES (?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        d["observation_id"],
                        d["url"],
                        int(d["remote"]),
                        d.get("max_bytes"),
                        now,
                        d.get("lat"),
                        d.get("lon"),
                        d.get("scale"),
                        *bounds,
                    ),
                )
                if cur.rowcount:
                    new += 1
                    continue
                conn.execute(
                    "UPDATE images SET url = CASE WHEN status IN ('done','empty') THEN url ELSE ? END,"
                    " remote = CASE WHEN status IN ('done','empty') THEN remote ELSE ? END,"
                    " max_bytes = ?, lat = COALESCE(lat, ?), lon = COALESCE(lon, ?),"
                    " scale = COALESCE(scale, ?), min_lat = COALESCE(min_lat, ?),"
                    " max_lat = COALESCE(max_lat, ?), min_lon = COALESCE(min_lon, ?),"
                    " max_lon = COALESCE(max_lon, ?) WHERE observation_id = ?",
                    (
                        d["url"],
                        int(d["remote"]),
                        d.get("max_bytes"),
                        d.get("lat"),
                        d.get("lon"),
                        d.get("scale"),
                        *bounds,
                        d["observation_id"],
                    ),
                )
        return new

    def recover(self) -> int:
        """Reset rows left ``running`` by a client that died; return how many."""
        with self.transaction() as conn:
            return conn.execute(
                "UPDATE images SET status='pending', started_at=NULL WHERE status='running'"
            ).rowcount

    def todo(
        self,
        ids: Sequence[str] | None = None,
        *,
        reprocess: bool = False,
        max_attempts: int = 3,
        limit: int | None = None,
    ) -> list[sqlite3.Row]:
        """Rows to process now, in insertion order: pending, failed below ``max_attempts``, and
        (with ``reprocess``) every other row. ``ids`` restricts to the current SOURCE's images."""
        if reprocess:
            where, params = "status != 'running'", []
        else:
            where, params = (
                "(status = 'pending' OR (status = 'failed' AND attempts < ?))",
                [max_attempts],
            )
        rows = self.conn.execute(
            f"SELECT * FROM images WHERE {where} ORDER BY added_at, rowid", params
        ).fetchall()
        if ids is not None:
            wanted = set(ids)
            rows = [r for r in rows if r["observation_id"] in wanted]
        return rows[:limit] if limit is not None else rows

    def mark_running(self, ids: Sequence[str]) -> None:
        """Mark images submitted to the cluster (one transaction)."""
        now = time.time()
        with self.transaction() as conn:
            conn.executemany(
                "UPDATE images SET status='running', started_at=?, error=NULL WHERE observation_id=?",
                [(now, i) for i in ids],
            )

    def reset_running(self, ids: Sequence[str]) -> None:
        """Put interrupted images back to pending (their attempt is not counted)."""
        with self.transaction() as conn:
            conn.executemany(
                "UPDATE images SET status='pending', started_at=NULL"
                " WHERE observation_id=? AND status='running'",
                [(i,) for i in ids],
            )

    def record_result(self, result: dict[str, Any]) -> None:
        """Store one worker result (status, figures, regions) atomically; regions are replaced."""
        obs = result["observation_id"]
        status = result["status"]
        if status not in ("done", "empty", "failed"):
            raise ValueError(f"bad result status {status!r} for {obs}")
        fields = {k: result.get(k) for k in IMAGE_RESULT_FIELDS}
        summary = result.get("summary")
        with self.transaction() as conn:
            sets = ", ".join(f"{k} = COALESCE(?, {k})" for k in fields)
            conn.execute(
                f"UPDATE images SET status=?, error=?, attempts=attempts+1, finished_at=?, "
                f"summary=COALESCE(?, summary), {sets} WHERE observation_id=?",
                (
                    status,
                    result.get("error"),
                    time.time(),
                    json.dumps(summary) if summary else None,
                    *fields.values(),
                    obs,
                ),
            )
            if status == "failed":
                return  # keep the regions of an earlier successful run, if any
            conn.execute("DELETE FROM regions WHERE observation_id=?", (obs,))
            conn.executemany(
                "INSERT INTO regions (observation_id, region_id, area_m2, centroid_lat,"
                " centroid_lon, mean_prob, max_prob, geometry, properties)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        obs,
                        int(r["region_id"]),
                        r.get("area_m2"),
                        r.get("centroid_lat"),
                        r.get("centroid_lon"),
                        r.get("mean_prob"),
                        r.get("max_prob"),
                        json.dumps(r.get("geometry")) if r.get("geometry") else None,
                        json.dumps(r.get("properties") or {}),
                    )
                    for r in result.get("regions") or []
                ],
            )
            store_detections(conn, obs, result.get("detections") or [])

    # -- runs -------------------------------------------------------------------------------------

    def start_run(self, source: str, arguments: dict[str, Any]) -> int:
        """Record the start of a survey run; return its id."""
        with self.transaction() as conn:
            cur = conn.execute(
                "INSERT INTO runs (started_at, source, arguments, outcome) VALUES (?, ?, ?, 'running')",
                (time.time(), source, json.dumps(arguments, default=str)),
            )
            return int(cur.lastrowid or 0)

    def finish_run(self, run_id: int, outcome: str) -> None:
        """Record how a run ended (``completed``, ``interrupted``, ``error``) with status counts."""
        with self.transaction() as conn:
            conn.execute(
                "UPDATE runs SET finished_at=?, outcome=?, counts=? WHERE run_id=?",
                (time.time(), outcome, json.dumps(self.counts()), run_id),
            )

    # -- reading ----------------------------------------------------------------------------------

    def counts(self) -> dict[str, int]:
        """Number of images per status (every status present, zeros included)."""
        out = dict.fromkeys(STATUSES, 0)
        for status, n in self.conn.execute("SELECT status, COUNT(*) FROM images GROUP BY status"):
            out[status] = n
        return out

    def images(self, status: str | None = None) -> list[dict[str, Any]]:
        """Image rows as dicts (optionally only one status), in insertion order."""
        if status is None:
            rows = self.conn.execute("SELECT * FROM images ORDER BY added_at, rowid")
        else:
            rows = self.conn.execute(
                "SELECT * FROM images WHERE status=? ORDER BY added_at, rowid", (status,)
            )
        return [dict(r) for r in rows]

    def regions(self) -> list[dict[str, Any]]:
        """Region rows joined with their image's scale and output folder, geometry decoded."""
        return decoded_rows(
            self.conn.execute(
                "SELECT r.*, i.scale AS image_scale, i.output_dir AS output_dir, i.lat AS image_lat,"
                " i.lon AS image_lon FROM regions r JOIN images i USING (observation_id)"
                " ORDER BY r.observation_id, r.region_id"
            )
        )

    def detections(self) -> list[dict[str, Any]]:
        """Detection rows joined with their image's output folder, geometry decoded, best first."""
        return read_detection_rows(self.conn)

    def runs(self) -> list[dict[str, Any]]:
        """Every recorded run, oldest first."""
        return [dict(r) for r in self.conn.execute("SELECT * FROM runs ORDER BY run_id")]
