"""The catalogue's table of detected objects (schema 4): its DDL, how a scan's detections are stored
and read back.

Use it only through :class:`~areoscan.survey.catalogue.Catalogue` (``record_result`` stores an
image's detections in the same transaction as its regions; ``detections()`` reads them).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from typing import Any

# Objects of scans run with a detector (``scan --detector``); replaced with the image's regions.
DETECTIONS_TABLE = """
CREATE TABLE IF NOT EXISTS detections (
    observation_id TEXT NOT NULL REFERENCES images (observation_id) ON DELETE CASCADE,
    detection_id INTEGER NOT NULL,
    class_name TEXT,
    score REAL,
    area_m2 REAL,
    centroid_lat REAL,
    centroid_lon REAL,
    geometry TEXT,
    properties TEXT,
    PRIMARY KEY (observation_id, detection_id)
)
"""


def decoded_rows(rows: Iterable[sqlite3.Row]) -> list[dict[str, Any]]:
    """Rows of a table with JSON ``geometry`` / ``properties`` columns (regions, detections) as
    dicts with both decoded."""
    out = []
    for r in rows:
        d = dict(r)
        d["geometry"] = json.loads(d["geometry"]) if d["geometry"] else None
        d["properties"] = json.loads(d["properties"]) if d["properties"] else {}
        out.append(d)
    return out


def read_detection_rows(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """Every detection joined with its image's output folder, geometry decoded, best score first."""
    return decoded_rows(
        conn.execute(
            "SELECT d.*, i.output_dir AS output_dir FROM detections d JOIN images i"
            " USING (observation_id) ORDER BY d.score DESC, d.observation_id, d.detection_id"
        )
    )


def store_detections(conn: sqlite3.Connection, obs: str, detections: list[dict[str, Any]]) -> None:
    """Replace an image's detections (inside the caller's transaction)."""
    conn.execute("DELETE FROM detections WHERE observation_id=?", (obs,))
    conn.executemany(
        "INSERT INTO detections (observation_id, detection_id, class_name, score, area_m2,"
        " centroid_lat, centroid_lon, geometry, properties) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                obs,
                int(d["detection_id"]),
                d.get("class_name"),
                d.get("score"),
                d.get("area_m2"),
                d.get("centroid_lat"),
                d.get("centroid_lon"),
                json.dumps(d.get("geometry")) if d.get("geometry") else None,
                json.dumps(d.get("properties") or {}),
            )
            for d in detections
        ],
    )
