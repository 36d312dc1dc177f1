"""Per-scan quick-look viewer: one small HTML page per observation with its regions hoverable.

Use :func:`viewer_page` for each scanned observation of a report (``report/scans/ID.html``). The
quick-look (regions already outlined in red by the scan) is shown at full size with an SVG box
over each region's pixel bounding box: hovering a box highlights it and shows the region's id,
area, probabilities and centroid; the table below lists the same regions (hovering a row
highlights its box). Plain HTML + SVG + CSS, no script and no network, so it opens anywhere.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from areoscan.survey.detectionview import viewer_detections

_CSS = """
body{font-family:system-ui,sans-serif;margin:20px;color:#222}
.wrap{position:relative;display:inline-block;border:1px solid #999}
.wrap img{display:block;max-width:none}
.wrap svg{position:absolute;left:0;top:0}
rect{fill:rgba(255,255,0,0);stroke:#ff0;stroke-width:2;vector-effect:non-scaling-stroke}
rect:hover,rect.on{fill:rgba(255,255,0,.35);stroke:#fff}
rect.det{stroke:#ff8c00} rect.det:hover{fill:rgba(255,140,0,.35)}
table{border-collapse:collapse;font-size:13px;margin-top:14px}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:right} th{background:#eee}
tr.yes td{background:#d9f2d9} tr.no td{background:#f6d5d5} tr.maybe td{background:#fbf0c9}
"""


def _num(value: Any, digits: int) -> str:
    return "" if value is None else f"{float(value):,.{digits}f}"


def region_box(region: dict[str, Any], fx: float, fy: float) -> tuple[float, float, float, float]:
    """(x, y, width, height) of a region's level-0 bounding box in quick-look pixels."""
    p = region.get("properties") or {}
    r0, c0, r1, c1 = (float(p[k]) for k in ("row0", "col0", "row1", "col1"))
    return c0 * fx, r0 * fy, max((c1 - c0) * fx, 1.0), max((r1 - r0) * fy, 1.0)


def viewer_page(observation: str, quicklook: dict[str, Any], regions: list[dict[str, Any]],
                detections: list[dict[str, Any]] | None = None) -> str:  # fmt: skip
    """The viewer's HTML. quicklook: ``url`` (relative to the page), ``width``, ``height``, and
    ``fx``/``fy`` (quick-look px per image px; None when unknown: no boxes, table only).
    regions: catalogue rows of this observation (ranked, with ``verdict`` when vetted).
    detections: its detected objects (orange boxes and a second table), if its scan had a detector.
    """
    e = html.escape
    w, h = int(quicklook["width"]), int(quicklook["height"])
    fx: float | None = quicklook.get("fx")
    fy: float | None = quicklook.get("fy")
    rects, rows, css = [], [], []
    for d in sorted(regions, key=lambda d: int(d["region_id"])):
        rid = int(d["region_id"])
        tip = (
            f"region {rid} (rank {d.get('rank', '?')}): {_num(d.get('area_m2'), 0)} m², "
            f"mean p {_num(d.get('mean_prob'), 2)}, max p {_num(d.get('max_prob'), 2)}, "
            f"lat {_num(d.get('centroid_lat'), 4)}°, lon {_num(d.get('centroid_lon'), 4)}°E"
            + (f", verdict {d['verdict']}" if d.get("verdict") else "")
        )
        keys = ("row0", "col0", "row1", "col1")
        if (
            fx is not None
            and fy is not None
            and all(k in (d.get("properties") or {}) for k in keys)
        ):
            x, y, bw, bh = region_box(d, fx, fy)
            rects.append(
                f'<rect id="r{rid}" x="{x:.1f}" y="{y:.1f}" width="{bw:.1f}" height="{bh:.1f}">'
                f"<title>{e(tip)}</title></rect>"
            )
            css.append(f".wrap:has(~table tr.r{rid}:hover) #r{rid}")
        verdict = d.get("verdict") or ""
        rows.append(
            f"<tr class='r{rid} {e(verdict)}'><td>{rid}</td><td>{d.get('rank', '')}</td>"
            f"<td>{_num(d.get('area_m2'), 0)}</td><td>{_num(d.get('mean_prob'), 2)}</td>"
            f"<td>{_num(d.get('max_prob'), 2)}</td><td>{_num(d.get('centroid_lat'), 4)}</td>"
            f"<td>{_num(d.get('centroid_lon'), 4)}</td><td>{e(verdict)}</td>"
            f"<td style='text-align:left'>{e(d.get('note') or '')}</td></tr>"
        )
    row_hover = (",".join(css) + "{fill:rgba(255,255,0,.35);stroke:#fff}") if css else ""
    det_rects, det_table = viewer_detections(detections or [], fx, fy)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{e(observation)} quick-look</title>
<style>{_CSS}{row_hover}</style></head><body>
<h1 style="font-size:20px">{e(observation)}: {len(regions)} candidate regions</h1>
<p>Red: the regions' outlines drawn by the scan; yellow boxes: hover for each region's figures;
orange boxes: detected objects (outlined in yellow by the scan).
<a href="../index.html">Back to the report</a>.</p>
<div class="wrap"><img src="{e(quicklook["url"])}" width="{w}" height="{h}" alt="quick-look">
<svg width="{w}" height="{h}" viewBox="0 0 {w} {h}">{"".join(rects)}{det_rects}</svg></div>
<table><tr><th>region</th><th>rank</th><th>area (m²)</th><th>mean p</th><th>max p</th>
<th>lat</th><th>lon (E)</th><th>verdict</th><th>note</th></tr>{"".join(rows)}</table>
{det_table}
</body></html>
"""


def copy_quicklooks(
    images: list[dict[str, Any]], dest: Path, max_px: int = 1600
) -> dict[str, dict[str, Any]]:
    """Down-sized JPEG copies of each scanned observation's quicklook.png in ``dest``.

    Returns, per observation: ``url`` (relative to the report folder), ``width``, ``height``,
    ``fx``/``fy`` (copy px per image px, from the scan summary's image shape; None when unknown)
    and ``viewer`` (the relative path of its viewer page). Unreadable quick-looks are skipped.
    """
    from PIL import Image

    from areoscan.io import atomic_output

    dest.mkdir(parents=True, exist_ok=True)
    out: dict[str, dict[str, Any]] = {}
    for img in images:
        src = Path(img["output_dir"]) / "quicklook.png" if img.get("output_dir") else None
        if src is None or not src.is_file():
            continue
        obs = img["observation_id"]
        target = dest / f"{obs}.jpg"
        try:
            with Image.open(src) as opened:
                im = opened.convert("RGB")
                im.thumbnail((max_px, max_px))
                with atomic_output(target) as tmp:
                    im.save(tmp, format="JPEG", quality=85)
                width, height = im.size
        except OSError:
            continue
        try:
            shape = json.loads(img.get("summary") or "{}").get("image", {}).get("shape")
        except json.JSONDecodeError:
            shape = None
        fx = fy = None
        if shape and len(shape) >= 2 and shape[0] and shape[1]:
            fy, fx = height / float(shape[0]), width / float(shape[1])
        out[obs] = {
            "url": f"{dest.name}/{target.name}",
            "width": width,
            "height": height,
            "fx": fx,
            "fy": fy,
            "viewer": f"scans/{obs}.html",
        }
    return out
