"""The survey catalogue's SQLite schema, and how an older catalogue is brought up to date.

Use :func:`migrate` then ``executescript(SCHEMA)`` when opening a catalogue (as
:class:`~areoscan.survey.catalogue.Catalogue` does): tables are created if missing and a catalogue
written by an older areoscan is upgraded in place, one transaction per schema version, so a
survey folder survives upgrades. A schema change = bump :data:`SCHEMA_VERSION`, edit
:data:`SCHEMA` and append the statements that upgrade the previous version to :data:`MIGRATIONS`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from areoscan.survey.detectiontable import DETECTIONS_TABLE

SCHEMA_VERSION = 4
STATUSES = ("pending", "running", "done", "empty", "failed")

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS images (
    observation_id TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    remote INTEGER NOT NULL,
    max_bytes INTEGER,
    status TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'running', 'done', 'empty', 'failed')),
    error TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    added_at REAL NOT NULL,
    started_at REAL,
    finished_at REAL,
    fetch_s REAL,
    scan_s REAL,
    total_s REAL,
    worker TEXT,
    bytes INTEGER,
    bytes_fetched INTEGER,
    lat REAL,
    lon REAL,
    scale REAL,
    min_lat REAL,
    max_lat REAL,
    min_lon REAL,
    max_lon REAL,
    flagged_tiles INTEGER,
    region_count INTEGER,
    total_area_m2 REAL,
    percent REAL,
    output_dir TEXT,
    summary TEXT,
    detection_count INTEGER
);
CREATE INDEX IF NOT EXISTS images_status ON images (status);
CREATE TABLE IF NOT EXISTS regions (
    observation_id TEXT NOT NULL REFERENCES images (observation_id) ON DELETE CASCADE,
    region_id INTEGER NOT NULL,
    area_m2 REAL,
    centroid_lat REAL,
    centroid_lon REAL,
    mean_prob REAL,
    max_prob REAL,
    geometry TEXT,
    properties TEXT,
    PRIMARY KEY (observation_id, region_id)
);
CREATE TABLE IF NOT EXISTS runs (
    run_id INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at REAL NOT NULL,
    finished_at REAL,
    source TEXT,
    arguments TEXT,
    outcome TEXT,
    counts TEXT
);
"""

# Verdicts of people on candidates (``areoscan vet``); no foreign key: a verdict outlives a re-scan.
VERDICTS_TABLE = """
CREATE TABLE IF NOT EXISTS verdicts (
    observation_id TEXT NOT NULL,
    region_id INTEGER NOT NULL,
    verdict TEXT NOT NULL CHECK (verdict IN ('yes', 'no', 'maybe')),
    note TEXT NOT NULL DEFAULT '',
    vetted_at REAL NOT NULL,
    source TEXT,
    PRIMARY KEY (observation_id, region_id)
)
"""
SCHEMA += VERDICTS_TABLE + ";\n"

SCHEMA += DETECTIONS_TABLE + ";\n"

# MIGRATIONS[v]: the statements that bring a catalogue of schema v to v + 1, run in one
# transaction when an older catalogue is opened. Append one entry per schema change.
MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: (VERDICTS_TABLE,),
    2: ("ALTER TABLE images ADD COLUMN bytes_fetched INTEGER",),
    3: (DETECTIONS_TABLE, "ALTER TABLE images ADD COLUMN detection_count INTEGER"),
}


@contextmanager
def immediate_transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One atomic transaction on an autocommit connection (BEGIN IMMEDIATE … COMMIT, ROLLBACK on
    any exception): the whole change or none of it, whenever the process dies."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def migrate(conn: sqlite3.Connection) -> None:
    """Bring an older catalogue to SCHEMA_VERSION, one transaction per step (no-op on a new one)."""
    has_meta = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type='table' AND name='meta'"
    ).fetchone()
    if not has_meta:
        return
    while True:
        row = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        version = int(row[0]) if row is not None else None
        if version is None or version >= SCHEMA_VERSION or version not in MIGRATIONS:
            return
        with immediate_transaction(conn):
            for statement in MIGRATIONS[version]:
                try:
                    conn.execute(statement)
                except sqlite3.OperationalError as exc:  # a column added twice is there
                    if "duplicate column" not in str(exc):
                        raise
            conn.execute("UPDATE meta SET value=? WHERE key='schema_version'", (str(version + 1),))
