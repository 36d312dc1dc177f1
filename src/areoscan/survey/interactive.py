"""The interactive report page: one self-contained HTML file (Bokeh, JavaScript inlined), offline.

Use :func:`interactive_page` from :func:`areoscan.survey.report.write_report`. The page holds a
pan/zoom lat/lon map of Mars (the basemap, when given, embedded as a data URI) with every candidate
(outline and centroid; hover: observation, region, area, probability, lat/lon; tap: its quick-look
with its region boxed and a link to the observation's viewer), a linked sortable table with
filters, histograms of area and probability, and the vetting controls: yes / no / maybe and a note
for the selected candidate, and a button that downloads the verdicts as the CSV ``areoscan vet``
reads (the controls and their JavaScript: :mod:`areoscan.survey.pagecontrols`). The page references no http(s) resource: Bokeh's JavaScript is inlined, quick-looks are relative paths
into the report folder.
"""

from __future__ import annotations

import base64
import html
import io
import math
from pathlib import Path
from typing import Any

import numpy as np

from areoscan.survey.detectionview import add_detections
from areoscan.survey.outline import outline_xy
from areoscan.survey.pagecontrols import QUICK_SIZE, filter_widgets, vetting_controls
from areoscan.survey.vetting import VettingSummary


def basemap_data_uri(path: Path, max_width: int = 2048) -> str:
    """The basemap as an embedded JPEG data URI (down-sized to ``max_width`` px)."""
    from PIL import Image

    from areoscan.errors import DataError

    try:
        with Image.open(path) as opened:
            im = opened.convert("RGB")
        if im.width > max_width:
            im = im.resize((max_width, max(1, round(im.height * max_width / im.width))))
        buf = io.BytesIO()
        im.save(buf, format="JPEG", quality=85)
    except OSError as exc:
        raise DataError(f"{path}: cannot read basemap image ({exc})") from None
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _num(value: Any) -> float:
    return math.nan if value is None else float(value)


def candidate_columns(
    ranked: list[dict[str, Any]], quicklooks: dict[str, dict[str, Any]]
) -> dict[str, list[Any]]:
    """The page's candidate table, column-wise (what the map, the table and the CSV share).

    quicklooks: per observation, ``url`` (relative), ``width``/``height`` (px) and ``fx``/``fy``
    (quick-look px per image px) to place the regions' boxes, and ``viewer`` (relative URL).
    """
    cols: dict[str, list[Any]] = {
        k: []
        for k in (
            "rank observation region score area prob max_prob lat lon verdict note xs ys ql_url"
            " ql_w ql_h viewer box_x0 box_y0 box_x1 box_y1 size"
        ).split()
    }
    areas = [d.get("area_m2") or 0.0 for d in ranked]
    biggest = max([1.0, *areas])
    for d in ranked:
        cols["size"].append(6 + 18 * math.sqrt(max(d.get("area_m2") or 0.0, 0.0) / biggest))
        ql = quicklooks.get(d["observation_id"], {})
        props = d.get("properties") or {}
        cols["rank"].append(d["rank"])
        cols["observation"].append(d["observation_id"])
        cols["region"].append(int(d["region_id"]))
        cols["score"].append(_num(d.get("score")))
        cols["area"].append(_num(d.get("area_m2")))
        prob = d.get("mean_prob") if d.get("mean_prob") is not None else d.get("max_prob")
        cols["prob"].append(_num(prob))
        cols["max_prob"].append(_num(d.get("max_prob")))
        cols["lat"].append(_num(d.get("centroid_lat")))
        cols["lon"].append(_num(d.get("centroid_lon_180")))
        cols["verdict"].append(d.get("verdict") or "")
        cols["note"].append(d.get("note") or "")
        xs, ys = outline_xy(d.get("geometry"))
        cols["xs"].append(xs)
        cols["ys"].append(ys)
        cols["ql_url"].append(ql.get("url", ""))
        cols["ql_w"].append(ql.get("width", 0))
        cols["ql_h"].append(ql.get("height", 0))
        cols["viewer"].append(ql.get("viewer", ""))
        box = [props.get(k) for k in ("row0", "col0", "row1", "col1")]
        if ql.get("fx") and None not in box:
            fx, fy = float(ql["fx"]), float(ql["fy"])
            r0, c0, r1, c1 = (float(v) for v in box if v is not None)
            cols["box_x0"].append(c0 * fx)
            cols["box_y0"].append(r0 * fy)
            cols["box_x1"].append(c1 * fx)
            cols["box_y1"].append(r1 * fy)
        else:
            for k in ("box_x0", "box_y0", "box_x1", "box_y1"):
                cols[k].append(math.nan)
    return cols


def _histogram(values: list[float], title: str, x_label: str, log: bool = False) -> Any:
    from bokeh.plotting import figure

    data = np.asarray([v for v in values if math.isfinite(v) and (v > 0 or not log)])
    fig = figure(title=title, height=220, width=330, toolbar_location=None, x_axis_label=x_label)
    if data.size:
        if log:
            edges = np.geomspace(data.min(), max(data.max(), data.min() * 1.01), 21)
            fig = figure(
                title=title,
                height=220,
                width=330,
                toolbar_location=None,
                x_axis_label=x_label,
                x_axis_type="log",
            )
        else:
            edges = np.linspace(0.0, 1.0, 21)
        counts, edges = np.histogram(data, bins=edges)
        fig.quad(
            top=counts, bottom=0, left=edges[:-1], right=edges[1:], fill_color="#c77c48", alpha=0.8
        )
    fig.yaxis.axis_label = "candidates"
    return fig


def _map_figure(
    cols: dict[str, list[Any]], images: list[dict[str, Any]], basemap: str | None
) -> Any:
    from bokeh.plotting import figure

    fig = figure(
        title="Candidates on Mars (drag to pan, wheel to zoom, tap a candidate)",
        x_range=(-180, 180),
        y_range=(-90, 90),
        match_aspect=True,
        height=440,
        width=860,
        tools="pan,wheel_zoom,box_zoom,reset,tap",
        active_scroll="wheel_zoom",
        x_axis_label="east longitude (°)",
        y_axis_label="planetocentric latitude (°)",
        background_fill_color="#f4efe9",
    )
    if basemap:
        fig.image_url(url=[basemap], x=-180, y=90, w=360, h=180, anchor="top_left", alpha=0.9)
    located = [i for i in images if i.get("lat") is not None and i.get("lon") is not None]
    for status, colour, marker in (("done", "#5a8bd6", "square"), ("failed", "#c0392b", "x")):
        chosen = [
            i
            for i in located
            if (i["status"] == status or status == "done" and i["status"] == "empty")
        ]
        if chosen:
            fig.scatter(
                [((float(i["lon"]) + 180.0) % 360.0) - 180.0 for i in chosen],
                [float(i["lat"]) for i in chosen],
                marker=marker,
                size=6 if marker == "square" else 9,
                color=colour,
                alpha=0.6,
                legend_label=f"{'surveyed' if status == 'done' else 'failed'} images ({len(chosen)})",
            )
    return fig


def _candidate_table(src: Any, filt: Any) -> Any:
    """The sortable candidate table over ``src``, filtered by ``filt`` (its own view)."""
    from bokeh.models import CDSView, DataTable, NumberFormatter, TableColumn

    fmt2 = NumberFormatter(format="0.00")
    columns = [
        TableColumn(field="rank", title="rank", width=45),
        TableColumn(field="observation", title="observation", width=170),
        TableColumn(field="region", title="region", width=50),
        TableColumn(field="score", title="score (m²)", formatter=NumberFormatter(format="0,0")),
        TableColumn(field="area", title="area (m²)", formatter=NumberFormatter(format="0,0")),
        TableColumn(field="prob", title="mean p", formatter=fmt2, width=60),
        TableColumn(field="lat", title="lat", formatter=NumberFormatter(format="0.000")),
        TableColumn(field="lon", title="lon (E)", formatter=NumberFormatter(format="0.000")),
        TableColumn(field="verdict", title="verdict", width=60),
        TableColumn(field="note", title="note", width=200),
    ]
    table = DataTable(
        source=src, view=CDSView(filter=filt), columns=columns, width=1280, height=320, sortable=True,
        reorderable=False, index_position=None, name="table",
    )  # fmt: skip
    return table


def _page_head(title: str, counts: dict[str, int], n_ranked: int, vetting: VettingSummary) -> Any:
    """The page's title and one paragraph: image counts, candidates, vetting precision, files."""
    from bokeh.models import Div

    e = html.escape
    stats = ", ".join(f"{e(k)} {v}" for k, v in counts.items())
    p = {x.k: x for x in vetting.precision}
    prec = "; ".join(
        f"{'all' if k == 0 else f'P@{k}'} {'—' if p[k].precision is None else f'{p[k].precision:.0%}'}"
        for k in p
    )
    head = Div(
        text=f"<h1 style='margin:0'>{e(title)}</h1><p>Images: {stats}. Candidates: {n_ranked}, "
        f"ranked by score = area × mean probability. Vetted: {vetting.vetted} ({prec}). "
        "Files: <a href='candidates.csv'>candidates.csv</a>, <a href='candidates.geojson'>"
        "candidates.geojson</a>, <a href='to_vet.csv'>to_vet.csv</a>, "
        "<a href='static.html'>script-free page</a>.</p>",
        width=1280,
    )
    return head


def interactive_page(
    ranked: list[dict[str, Any]],
    images: list[dict[str, Any]],
    counts: dict[str, int],
    quicklooks: dict[str, dict[str, Any]],
    vetting: VettingSummary,
    *,
    basemap: str | None = None,
    title: str = "areoscan survey report",
    detections: list[dict[str, Any]] | None = None,
) -> str:
    """The interactive page's HTML (Bokeh inlined). basemap: a data URI (basemap_data_uri).

    detections: the catalogue's detected objects (scans run with a detector): drawn on the map in
    orange and listed in their own table (:mod:`areoscan.survey.detectionview`).
    """
    from bokeh.embed import file_html
    from bokeh.layouts import column, row
    from bokeh.models import (
        CDSView,
        ColumnDataSource,
        Div,
        HoverTool,
        IndexFilter,
    )
    from bokeh.resources import INLINE
    from bokeh.transform import linear_cmap

    cols = candidate_columns(ranked, quicklooks)
    src = ColumnDataSource(cols, name="candidates")
    filt = IndexFilter(list(range(len(ranked))))
    view = CDSView(filter=filt)  # the map's; the table needs its own view of the same filter
    fig = _map_figure(cols, images, basemap)
    fig.multi_line("xs", "ys", source=src, line_color="#d62728", line_width=1.5)
    dots = fig.scatter(
        "lon",
        "lat",
        source=src,
        view=view,
        size="size",
        line_color="black",
        fill_color=linear_cmap("prob", "Plasma256", 0.0, 1.0),
        legend_label=f"candidates ({len(ranked)})",
    )
    fig.add_tools(
        HoverTool(
            renderers=[dots],
            tooltips=[
                ("observation", "@observation region @region (#@rank)"),
                ("area", "@area{0,0} m²"),
                ("probability", "@prob{0.00} (max @max_prob{0.00})"),
                ("lat / lon", "@lat{0.000}° / @lon{0.000}°E"),
                ("verdict", "@verdict"),
            ],
        )
    )
    found = add_detections(fig, detections) if detections else None
    fig.legend.location = "bottom_left"
    fig.legend.click_policy = "hide"

    # An <img> (not a Bokeh ImageURL, which file:// pages refuse to load with CORS first) and an SVG
    # of the observation's region boxes, in quick-look pixels.
    quick = Div(
        text="<b>Quick-look</b>: tap a candidate.",
        width=QUICK_SIZE[0],
        height=QUICK_SIZE[1] + 30,
        name="quicklook",
    )

    table = _candidate_table(src, filt)

    obs, minprob, verdict = filter_widgets(src, filt)
    info, buttons, note, download = vetting_controls(src, table, quick)
    head = _page_head(title, counts, len(ranked), vetting)
    vet_help = Div(
        text="Mark the selected candidate, then download the verdicts and run "
        "<code>areoscan vet DIR verdicts.csv</code>. Verdicts live in this page until downloaded.",
        width=560,
    )
    layout = column(
        head,
        row(fig, quick),
        row(
            column(info, row(buttons, note), vet_help, download),
            _histogram(cols["area"], "Area", "m²", log=True),
            _histogram(cols["prob"], "Mean probability", "p"),
        ),
        row(obs, minprob, verdict),
        table,
        *([found] if found is not None else []),
    )
    return file_html(layout, resources=INLINE, title=title)
