"""The static report page: a script-free HTML summary of a ranked, possibly vetted, survey.

Use :func:`render_html` from :func:`areoscan.survey.report.write_report`; it needs no network and
no scripts, so it opens anywhere (mail, an archive, a browser with JavaScript off). Every text from
the catalogue is HTML-escaped.
"""

from __future__ import annotations

import html
import math
import time
from typing import Any

from areoscan.survey.vetting import VettingSummary


def fmt(value: Any) -> Any:
    """A cell for CSV / HTML: floats to 6 significant digits, None and non-finite to ''."""
    if isinstance(value, float):
        return f"{value:.6g}" if math.isfinite(value) else ""
    return "" if value is None else value


_CSS = """
body{font-family:system-ui,sans-serif;margin:24px;color:#222;background:#fff}
h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin-top:28px}
.stats span{display:inline-block;margin:4px 14px 4px 0;padding:4px 10px;background:#f1ece6;border-radius:4px}
table{border-collapse:collapse;font-size:13px} th,td{border:1px solid #ccc;padding:3px 7px;text-align:right}
th{background:#eee} td.l,th.l{text-align:left} img.map{max-width:100%;border:1px solid #ccc}
img.ql{max-width:160px;max-height:160px} .err{color:#a33;font-family:monospace;font-size:12px}
td.yes{background:#d9f2d9} td.no{background:#f6d5d5} td.maybe{background:#fbf0c9}
"""


def _cell(value: Any, cls: str = "") -> str:
    return f"<td{f' class={cls}' if cls else ''}>{html.escape(str(fmt(value)))}</td>"


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.0f}%"


def vetting_section(vetting: VettingSummary) -> str:
    """Vetted counts, precision of the ranking at k, and the best-ranked unvetted candidates."""
    counts = " ".join(f"<span>{k}: <b>{n}</b></span>" for k, n in vetting.counts.items())
    stale = (
        f"<p>{vetting.stale} stored verdicts name regions no longer in the catalogue "
        "(a re-scan renumbered them); they are not counted.</p>"
        if vetting.stale
        else ""
    )
    rows = "".join(
        f"<tr><td class=l>{'all vetted' if p.k == 0 else f'top {p.k} vetted'}</td>"
        f"<td>{p.vetted if p.k == 0 else min(p.k, p.vetted)}</td><td>{p.yes}</td><td>{p.maybe}</td>"
        f"<td>{_pct(p.precision)}</td><td>{_pct(p.with_maybe)}</td></tr>"
        for p in vetting.precision
    )
    todo = "".join(
        "<tr>"
        + _cell(d["rank"])
        + _cell(d["observation_id"], "l")
        + _cell(d["region_id"])
        + _cell(d["score"])
        + _cell(d.get("mean_prob"))
        + "</tr>"
        for d in vetting.next_to_vet
    )
    todo_table = (
        "<h3>Vet next (best-ranked unvetted; also in to_vet.csv)</h3><table><tr><th>rank</th>"
        f"<th class=l>observation</th><th>region</th><th>score (m²)</th><th>mean p</th></tr>{todo}"
        "</table>"
        if todo
        else "<p>Every candidate is vetted.</p>"
    )
    return f"""<h2>Vetting</h2>
<div class=stats><span>vetted: <b>{vetting.vetted}</b> of {vetting.candidates}</span>{counts}</div>
{stale}<p>Precision of the ranking: among the best-ranked vetted candidates, the share judged yes
(and yes or maybe); — when fewer are vetted. Record verdicts with
<code>areoscan vet DIR VERDICTS.csv</code> (columns observation,region,verdict,note).</p>
<table><tr><th class=l>over</th><th>n</th><th>yes</th><th>maybe</th><th>precision</th>
<th>yes+maybe</th></tr>{rows}</table>
{todo_table}"""


def render_html(
    ranked: list[dict[str, Any]],
    images: list[dict[str, Any]],
    counts: dict[str, int],
    quicklooks: dict[str, str],
    vetting: VettingSummary,
    *,
    map_name: str,
    top: int,
    title: str = "areoscan survey report",
    detections: int = 0,
) -> str:
    """The static report page (no scripts, no external resources).

    detections: objects found by the scans' detector (counted, linked to detections.csv).
    """
    e = html.escape
    stats = "".join(f"<span>{e(k)}: <b>{v}</b></span>" for k, v in counts.items())
    stats += f"<span>candidates: <b>{len(ranked)}</b></span>"
    if detections:
        stats += f"<span><a href='detections.csv'>detected objects</a>: <b>{detections}</b></span>"
    head = (
        "<tr><th>rank</th><th class=l>observation</th><th>region</th><th>score (m²)</th>"
        "<th>area (m²)</th><th>mean p</th><th>max p</th><th>lat</th><th>lon (E)</th>"
        "<th>m/px</th><th class=l>verdict</th><th class=l>quick-look</th></tr>"
    )
    rows = []
    for d in ranked[:top]:
        ql = quicklooks.get(d["observation_id"])
        img = (
            f'<img class=ql src="{e(ql)}" alt="quick-look {e(d["observation_id"])}">' if ql else ""
        )
        cells = [
            d["rank"],
            d["observation_id"],
            d["region_id"],
            d["score"],
            d.get("area_m2"),
            d.get("mean_prob"),
            d.get("max_prob"),
            d.get("centroid_lat"),
            d.get("centroid_lon"),
            d.get("image_scale"),
        ]
        tds = "".join(
            f"<td{' class=l' if i == 1 else ''}>{e(str(fmt(c)))}</td>" for i, c in enumerate(cells)
        )
        verdict = d.get("verdict") or ""
        title = f' title="{e(d["note"])}"' if d.get("note") else ""
        vcell = f"<td class='l {verdict}'{title}>{e(verdict)}</td>"
        rows.append(f"<tr>{tds}{vcell}<td class=l>{img}</td></tr>")
    more = f"<p>… and {len(ranked) - top} more in candidates.csv.</p>" if len(ranked) > top else ""
    failed = [i for i in images if i["status"] == "failed"]
    fail_rows = "".join(
        f"<tr><td class=l>{e(i['observation_id'])}</td><td>{i.get('attempts') or 0}</td>"
        f"<td class='l err'>{e(str(i.get('error') or ''))}</td></tr>"
        for i in failed
    )
    fail_table = (
        f"<h2>Failed images ({len(failed)})</h2><table><tr><th class=l>observation</th>"
        f"<th>attempts</th><th class=l>reason</th></tr>{fail_rows}</table>"
        if failed
        else ""
    )
    empty_note = "" if ranked else "<p>No candidate regions yet.</p>"
    generated = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime())
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{e(title)}</title><style>{_CSS}</style></head>
<body>
<h1>{e(title)}</h1>
<p>Generated {e(generated)}. Candidates ranked by score = area × mean probability.
Files: <a href="candidates.csv">candidates.csv</a>, <a href="candidates.geojson">candidates.geojson</a>,
<a href="images.csv">images.csv</a>.</p>
<div class=stats>{stats}</div>
<h2>Map</h2>
<img class=map src="{e(map_name)}" alt="map of candidate locations on Mars">
<h2>Candidates</h2>
{empty_note}<table>{head}{"".join(rows)}</table>{more}
{vetting_section(vetting)}
{fail_table}
</body></html>
"""
