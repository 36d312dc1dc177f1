"""Publish a survey: ranked candidates (CSV, GeoJSON), an interactive offline page, a static map.

Use :func:`write_report` (the ``areoscan report DIR`` verb) once a survey has run, or while it runs
(the catalogue is only read). Candidates are ranked by ``score`` = area × mean probability — the
expected area of brain coral — unless another key is asked for. Everything lands in ``DIR/report``:
index.html (interactive, Bokeh inlined: :mod:`areoscan.survey.interactive`), static.html (no
script: :mod:`areoscan.survey.reportpage`), map.png, one quick-look viewer per scanned observation
in scans/ (:mod:`areoscan.survey.viewer`) and the quick-looks they show in quicklooks/, so the
folder can be zipped and opened anywhere without a network. All text from the catalogue is
HTML-escaped.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from areoscan.errors import DataError, OutputError
from areoscan.survey.catalogue import Catalogue
from areoscan.survey.detectionview import DETECTION_COLUMNS
from areoscan.survey.interactive import basemap_data_uri, interactive_page
from areoscan.survey.outline import lon180
from areoscan.survey.reportpage import fmt, render_html
from areoscan.survey.vetting import attach_verdicts, load_verdicts, summarise
from areoscan.survey.viewer import copy_quicklooks, viewer_page

RANK_KEYS = ("score", "area", "probability")
CANDIDATE_COLUMNS = (
    "rank",
    "observation_id",
    "region_id",
    "score",
    "area_m2",
    "mean_prob",
    "max_prob",
    "centroid_lat",
    "centroid_lon",
    "centroid_lon_180",
    "image_scale",
    "verdict",
    "note",
)
TO_VET_COLUMNS = ("observation", "region", "verdict", "note", "rank", "score", "mean_prob")
IMAGE_COLUMNS = (
    "observation_id",
    "status",
    "error",
    "attempts",
    "lat",
    "lon",
    "scale",
    "flagged_tiles",
    "region_count",
    "detection_count",
    "total_area_m2",
    "percent",
    "fetch_s",
    "scan_s",
    "total_s",
    "url",
)


@dataclass
class ReportPaths:
    """Where the report files went."""

    folder: Path
    candidates_csv: Path
    candidates_geojson: Path
    images_csv: Path
    map_png: Path
    html: Path
    static_html: Path
    to_vet_csv: Path
    detections_csv: Path
    viewers: dict[str, Path]
    n_candidates: int


def rank_candidates(regions: list[dict[str, Any]], rank_by: str = "score") -> list[dict[str, Any]]:
    """Candidates sorted best first with ``rank`` (1-based) and ``score`` added.

    score: area × mean probability (max probability when the mean is unknown); area: area first,
    then probability; probability: mean probability first, then area.
    """
    if rank_by not in RANK_KEYS:
        raise DataError(f"--rank-by must be one of {', '.join(RANK_KEYS)}, not {rank_by!r}")
    out = []
    for r in regions:
        d = dict(r)
        prob = d.get("mean_prob") if d.get("mean_prob") is not None else d.get("max_prob")
        area = d.get("area_m2") or 0.0
        d["score"] = area * (prob if prob is not None else 1.0)
        d["centroid_lon_180"] = lon180(d.get("centroid_lon"))
        out.append(d)

    def key(d: dict[str, Any]) -> tuple[float, ...]:
        area, prob = d.get("area_m2") or 0.0, d.get("mean_prob") or d.get("max_prob") or 0.0
        if rank_by == "area":
            return (-area, -prob)
        if rank_by == "probability":
            return (-prob, -area)
        return (-d["score"], -area)

    out.sort(key=lambda d: (*key(d), d["observation_id"], d["region_id"]))
    for i, d in enumerate(out, start=1):
        d["rank"] = i
    return out


def _atomic_text(path: Path, text: str) -> None:
    from areoscan.io import atomic_output

    with atomic_output(path) as tmp:
        Path(tmp).write_text(text, encoding="utf-8")


def _csv_text(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    import io

    buf = io.StringIO()
    writer = csv.DictWriter(
        buf, fieldnames=list(columns), extrasaction="ignore", lineterminator="\n"
    )
    writer.writeheader()
    for row in rows:
        writer.writerow({k: fmt(row.get(k)) for k in columns})
    return buf.getvalue()


def candidates_geojson(ranked: list[dict[str, Any]]) -> dict[str, Any]:
    """A FeatureCollection of ranked candidates (geometry as written by the scan, lon/lat)."""
    features = []
    for d in ranked:
        geometry = d.get("geometry")
        if geometry is None and d.get("centroid_lat") is not None:
            geometry = {"type": "Point", "coordinates": [d["centroid_lon_180"], d["centroid_lat"]]}
        props = {k: d.get(k) for k in CANDIDATE_COLUMNS}
        features.append({"type": "Feature", "geometry": geometry, "properties": props})
    return {"type": "FeatureCollection", "features": features}


def draw_map(
    path: Path,
    ranked: list[dict[str, Any]],
    images: list[dict[str, Any]],
    basemap: Path | None = None,
) -> Path:
    """PNG map of candidate centroids (size ∝ √area, colour = probability) and surveyed images.

    basemap: an equirectangular global image (−180..180, −90..90); without it, a lat/lon grid.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, ax = plt.subplots(figsize=(12, 6.4), dpi=100)
    try:
        if basemap is not None:
            from PIL import Image

            try:
                with Image.open(basemap) as im:
                    base = np.asarray(im.convert("L"))
            except OSError as exc:
                raise DataError(f"{basemap}: cannot read basemap image ({exc})") from None
            ax.imshow(base, extent=(-180, 180, -90, 90), cmap="gray", origin="upper", alpha=0.85)
        else:
            ax.set_facecolor("#f4efe9")
        ax.set_xlim(-180, 180)
        ax.set_ylim(-90, 90)
        ax.set_xticks(range(-180, 181, 30))
        ax.set_yticks(range(-90, 91, 30))
        ax.grid(True, color="#7a6a5a", alpha=0.4, linewidth=0.6)
        ax.set_xlabel("east longitude (°)")
        ax.set_ylabel("planetocentric latitude (°)")
        located = [i for i in images if i.get("lat") is not None and i.get("lon") is not None]
        ok = [i for i in located if i["status"] in ("done", "empty")]
        bad = [i for i in located if i["status"] == "failed"]
        if ok:
            ax.scatter(
                [lon180(i["lon"]) or 0.0 for i in ok],
                [i["lat"] for i in ok],
                s=6,
                marker="s",
                c="#5a8bd6",
                alpha=0.6,
                label=f"surveyed images ({len(ok)})",
            )
        if bad:
            ax.scatter(
                [lon180(i["lon"]) or 0.0 for i in bad],
                [i["lat"] for i in bad],
                s=18,
                marker="x",
                c="#c0392b",
                label=f"failed images ({len(bad)})",
            )
        pts = [d for d in ranked if d.get("centroid_lat") is not None]
        if pts:
            area = np.array([d.get("area_m2") or 0.0 for d in pts])
            size = 12 + 140 * np.sqrt(area / max(area.max(), 1.0))
            prob = [d.get("mean_prob") or d.get("max_prob") or 0.0 for d in pts]
            sc = ax.scatter(
                [d["centroid_lon_180"] for d in pts],
                [d["centroid_lat"] for d in pts],
                s=size,
                c=prob,
                cmap="plasma",
                vmin=0,
                vmax=1,
                edgecolors="black",
                linewidths=0.5,
                label=f"candidates ({len(pts)})",
                zorder=3,
            )
            fig.colorbar(sc, ax=ax, fraction=0.025, pad=0.01, label="mean probability")
        if ok or bad or pts:
            ax.legend(loc="lower left", fontsize=8, framealpha=0.8)
        ax.set_title("Brain coral candidates on Mars")
        fig.tight_layout()
        from areoscan.io import atomic_output

        with atomic_output(path) as tmp:
            fig.savefig(tmp, format="png")
    finally:
        plt.close(fig)
    return path


def write_report(
    survey_dir: str | Path,
    *,
    out: str | Path | None = None,
    basemap: str | Path | None = None,
    top: int = 200,
    rank_by: str = "score",
) -> ReportPaths:
    """Write candidates.csv/.geojson, images.csv, to_vet.csv, detections.csv, map.png, static.html,
    quicklooks/, scans/ID.html and (last) index.html for a survey.

    Candidates carry their stored verdict (``areoscan vet``); to_vet.csv lists the best-ranked
    unvetted ones in the verdicts-file layout, ready to fill in and pass to ``areoscan vet``.
    """
    folder = Path(survey_dir)
    dest = Path(out) if out is not None else folder / "report"
    if basemap is not None and not Path(basemap).is_file():
        raise DataError(f"{basemap}: basemap image not found")
    with Catalogue(folder, lock=False, create=False) as cat:
        images = cat.images()
        regions = cat.regions()
        detections = cat.detections()
        counts = cat.counts()
        verdicts = load_verdicts(cat)
    ranked = attach_verdicts(rank_candidates(regions, rank_by), verdicts)
    vetting = summarise(ranked, verdicts)
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{dest}: cannot create the report folder ({exc})") from None
    paths = ReportPaths(
        folder=dest,
        candidates_csv=dest / "candidates.csv",
        candidates_geojson=dest / "candidates.geojson",
        images_csv=dest / "images.csv",
        map_png=dest / "map.png",
        html=dest / "index.html",
        static_html=dest / "static.html",
        to_vet_csv=dest / "to_vet.csv",
        detections_csv=dest / "detections.csv",
        viewers={},
        n_candidates=len(ranked),
    )
    _atomic_text(paths.candidates_csv, _csv_text(ranked, CANDIDATE_COLUMNS))
    _atomic_text(paths.candidates_geojson, json.dumps(candidates_geojson(ranked)))
    _atomic_text(paths.images_csv, _csv_text(images, IMAGE_COLUMNS))
    to_vet = [
        dict(d, observation=d["observation_id"], region=d["region_id"], verdict="", note="")
        for d in vetting.next_to_vet
    ]
    _atomic_text(paths.to_vet_csv, _csv_text(to_vet, TO_VET_COLUMNS))
    _atomic_text(paths.detections_csv, _csv_text(detections, DETECTION_COLUMNS))
    draw_map(paths.map_png, ranked, images, Path(basemap) if basemap else None)
    quicklooks = copy_quicklooks(images, dest / "quicklooks")
    static = render_html(
        ranked,
        images,
        counts,
        {k: q["url"] for k, q in quicklooks.items()},
        vetting,
        map_name=paths.map_png.name,
        top=top,
        detections=len(detections),
    )
    _atomic_text(paths.static_html, static)
    by_obs: dict[str, list[dict[str, Any]]] = {}
    for d in ranked:
        by_obs.setdefault(d["observation_id"], []).append(d)
    dets_by_obs: dict[str, list[dict[str, Any]]] = {}
    for d in detections:
        dets_by_obs.setdefault(d["observation_id"], []).append(d)
    for obs, ql in quicklooks.items():
        page = viewer_page(obs, dict(ql, url=f"../{ql['url']}"), by_obs.get(obs, []),
                           dets_by_obs.get(obs, []))  # fmt: skip
        paths.viewers[obs] = dest / ql["viewer"]
        _atomic_text(paths.viewers[obs], page)
    base = basemap_data_uri(Path(basemap)) if basemap else None
    page = interactive_page(ranked, images, counts, quicklooks, vetting, basemap=base,
                            detections=detections)  # fmt: skip
    _atomic_text(paths.html, page)  # last: its presence means the report is complete
    return paths
