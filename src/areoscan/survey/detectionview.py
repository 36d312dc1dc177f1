"""Detected objects in a survey's report: the CSV, the Bokeh map layer and table, the viewer's boxes.

Use these from :mod:`areoscan.survey.report` when the survey's scans ran a detector
(``areoscan survey --detector``): :func:`add_detections` puts every detection on the interactive
page's map (outline and a triangle at its centroid, hover: observation, class, score, area, lat/lon)
and returns a sortable table of them; :func:`viewer_detections` gives the per-scan viewer an SVG box
per detection (orange, hover for its figures) and table rows. Detections are listed as the scans
found them, best score first; they are not ranked or vetted like the candidate regions.
"""

from __future__ import annotations

import html
import math
from typing import Any

from areoscan.survey.outline import lon180, outline_xy

DETECTION_COLUMNS = (
    "observation_id",
    "detection_id",
    "class_name",
    "score",
    "area_m2",
    "centroid_lat",
    "centroid_lon",
)


def _num(value: Any) -> float:
    return math.nan if value is None else float(value)


def detection_columns(detections: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """The page's detection table, column-wise (what the map layer and the table share)."""
    cols: dict[str, list[Any]] = {
        k: [] for k in "observation detection cls score area lat lon xs ys".split()
    }
    for d in detections:
        cols["observation"].append(d["observation_id"])
        cols["detection"].append(int(d["detection_id"]))
        cols["cls"].append(d.get("class_name") or "")
        cols["score"].append(_num(d.get("score")))
        cols["area"].append(_num(d.get("area_m2")))
        cols["lat"].append(_num(d.get("centroid_lat")))
        cols["lon"].append(_num(lon180(d.get("centroid_lon"))))
        xs, ys = outline_xy(d.get("geometry"))
        cols["xs"].append(xs)
        cols["ys"].append(ys)
    return cols


def add_detections(fig: Any, detections: list[dict[str, Any]]) -> Any:
    """Draw ``detections`` on the Bokeh map ``fig``; return a Bokeh column (title + table)."""
    from bokeh.layouts import column
    from bokeh.models import (
        ColumnDataSource,
        DataTable,
        Div,
        HoverTool,
        NumberFormatter,
        TableColumn,
    )

    src = ColumnDataSource(detection_columns(detections), name="detections")
    fig.multi_line("xs", "ys", source=src, line_color="#ff8c00", line_width=1.5)
    marks = fig.scatter("lon", "lat", source=src, marker="triangle", size=9, fill_color="#ff8c00",
                        line_color="black", legend_label=f"detections ({len(detections)})")  # fmt: skip
    fig.add_tools(
        HoverTool(
            renderers=[marks],
            tooltips=[
                ("observation", "@observation detection @detection"),
                ("class", "@cls (score @score{0.00})"),
                ("area", "@area{0,0.0} m²"),
                ("lat / lon", "@lat{0.0000}° / @lon{0.0000}°E"),
            ],
        )
    )
    columns = [
        TableColumn(field="observation", title="observation", width=170),
        TableColumn(field="detection", title="detection", width=60),
        TableColumn(field="cls", title="class", width=90),
        TableColumn(field="score", title="score", formatter=NumberFormatter(format="0.00")),
        TableColumn(field="area", title="area (m²)", formatter=NumberFormatter(format="0,0.0")),
        TableColumn(field="lat", title="lat", formatter=NumberFormatter(format="0.0000")),
        TableColumn(field="lon", title="lon (E)", formatter=NumberFormatter(format="0.0000")),
    ]
    table = DataTable(source=src, columns=columns, width=900, height=240, sortable=True,
                      index_position=None, name="detections-table")  # fmt: skip
    title = Div(text=f"<h2 style='margin:8px 0 0'>Detected objects: {len(detections)}</h2>"
                "<p>Orange on the map; from the scans' detector (see each scan's "
                "detections.gpkg). Best score first.</p>", width=900)  # fmt: skip
    return column(title, table)


def viewer_detections(
    detections: list[dict[str, Any]], fx: float | None, fy: float | None
) -> tuple[str, str]:
    """(SVG rects, HTML table) of one observation's detections for its viewer page.

    fx / fy: quick-look px per level-0 image px (None: no boxes, table only).
    """
    e = html.escape
    rects, rows = [], []
    for d in detections:
        p = d.get("properties") or {}
        did = int(d["detection_id"])
        tip = (f"detection {did}: {d.get('class_name')}, score {_num(d.get('score')):.2f}, "
               f"{_num(d.get('area_m2')):,.1f} m², lat {_num(d.get('centroid_lat')):.5f}°, "
               f"lon {_num(d.get('centroid_lon')):.5f}°E")  # fmt: skip
        if (
            fx is not None
            and fy is not None
            and all(k in p for k in ("row0", "col0", "row1", "col1"))
        ):
            r0, c0, r1, c1 = (float(p[k]) for k in ("row0", "col0", "row1", "col1"))
            rects.append(
                f'<rect class="det" x="{c0 * fx:.1f}" y="{r0 * fy:.1f}" '
                f'width="{max((c1 - c0) * fx, 1.0):.1f}" height="{max((r1 - r0) * fy, 1.0):.1f}">'
                f"<title>{e(tip)}</title></rect>"
            )
        rows.append(
            f"<tr><td>{did}</td><td style='text-align:left'>{e(str(d.get('class_name') or ''))}</td>"
            f"<td>{_num(d.get('score')):.2f}</td><td>{_num(d.get('area_m2')):,.1f}</td>"
            f"<td>{_num(d.get('centroid_lat')):.5f}</td><td>{_num(d.get('centroid_lon')):.5f}</td></tr>"
        )
    if not rows:
        return "", ""
    table = (
        f"<h2 style='font-size:16px'>{len(rows)} detected objects (orange boxes)</h2>"
        "<table><tr><th>detection</th><th>class</th><th>score</th><th>area (m²)</th><th>lat</th>"
        f"<th>lon (E)</th></tr>{''.join(rows)}</table>"
    )
    return "".join(rects), table
