"""The Python API: what ``import areoscan`` offers, as typed functions.

Use these from notebooks and scripts (``docs/api.md`` has a worked example); the CLI verbs call the
same code. Each function is a thin layer over the package that does the work:

* :func:`open_raster` (:mod:`areoscan.io`): a HiRISE JP2 / GeoTIFF / … as a :class:`~areoscan.io.Raster`.
* :func:`run_scan`: one image → :class:`ScanResult` (summary, output paths, regions).
* :func:`load_model` (:mod:`areoscan.models`): a shipped or saved model and its card.
* :func:`run_survey`: many images on Dask into a resumable catalogue → ``SurveyOutcome``.
* :func:`report`: a survey's report folder (interactive page, CSV, GeoJSON) → ``ReportPaths``.
* :func:`vet`: people's verdicts (CSV) into a survey's catalogue → ``VetResult``.

The two that run the pipeline are ``run_scan`` and ``run_survey``, not ``scan`` and ``survey``:
those names are the packages that do the work (``areoscan.scan``, ``areoscan.survey``), which sit
below this module and never import it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from areoscan.io.raster import open_raster
from areoscan.models.registry import load_model

if TYPE_CHECKING:
    from areoscan.scan.config import ScanConfig
    from areoscan.scan.pipeline import ScanSummary
    from areoscan.survey.report import ReportPaths
    from areoscan.survey.run import SurveyOutcome
    from areoscan.survey.vetting import VetResult

__all__ = [
    "ScanPaths",
    "ScanResult",
    "load_model",
    "open_raster",
    "report",
    "run_scan",
    "run_survey",
    "vet",
]


@dataclass(frozen=True)
class ScanPaths:
    """The files of one scan (``out/<OBSERVATION_ID>/``); None for a file the scan did not write
    (an empty scan writes no regions). regions_gpkg: image CRS; regions_geojson: lon/lat.
    detections_gpkg / detections_geojson: the objects of a scan run with a detector."""

    folder: Path
    summary: Path
    mask: Path | None
    salience: Path | None
    regions_gpkg: Path | None
    regions_geojson: Path | None
    quicklook: Path | None
    detections_gpkg: Path | None = None
    detections_geojson: Path | None = None

    @classmethod
    def of(cls, folder: Path) -> ScanPaths:
        def there(name: str) -> Path | None:
            return folder / name if (folder / name).is_file() else None

        return cls(
            folder,
            folder / "summary.json",
            there("mask.tif"),
            there("salience.tif"),
            there("regions.gpkg"),
            there("regions.geojson"),
            there("quicklook.png"),
            there("detections.gpkg"),
            there("detections.geojson"),
        )


@dataclass(frozen=True)
class ScanResult:
    """What :func:`run_scan` found.

    summary: the scan's :class:`~areoscan.scan.pipeline.ScanSummary` (status, scale, counts,
    timings, models). paths: its files. regions: one record per region — region_id, area_m2,
    area_px, centroid_lat, centroid_lon (east, 0-360), mean_prob, max_prob, the level-0 pixel box
    row0/col0/row1/col1, and geometry (GeoJSON in lon/lat; level-0 pixels without georeference).
    detections: one record per detected object of a scan run with a detector (``detector=``):
    detection_id, class_id, class_name, score, area_m2, centroid_lat / centroid_lon, the level-0
    pixel box, the box in map metres (x_min … y_max), truncated, and geometry (its outline).
    """

    summary: ScanSummary
    paths: ScanPaths
    regions: list[dict[str, Any]]
    detections: list[dict[str, Any]] = field(default_factory=list)

    @property
    def observation_id(self) -> str:
        return self.summary.observation_id

    def to_geodataframe(self) -> Any:
        """The regions as a geopandas GeoDataFrame (lon/lat on the Mars sphere, IAU 2015:49900).

        geopandas is not an areoscan dependency: ``pip install geopandas`` to use this; the records
        in :attr:`regions` and the regions.gpkg / .geojson files need nothing more.
        """
        try:
            import geopandas
        except ImportError:
            raise ImportError("to_geodataframe needs geopandas: pip install geopandas") from None
        if self.paths.regions_gpkg is None:
            return geopandas.GeoDataFrame({"geometry": []}, geometry="geometry")
        return geopandas.read_file(self.paths.regions_geojson or self.paths.regions_gpkg)


def run_scan(
    image: str | Path,
    out: str | Path = "areoscan-out",
    *,
    config: ScanConfig | None = None,
    progress: bool = False,
    **options: Any,
) -> ScanResult:
    """Scan one image (path or http(s) URL) into ``out/<OBSERVATION_ID>/``; see ``areoscan scan -h``.

    options: fields of :class:`~areoscan.scan.config.ScanConfig` to change (screen_model,
    segment_model, detector, fast, threads, memory_mb, backend, min_area_m2, …). progress: report the
    stages on stderr (off by default in Python).
    """
    from areoscan.scan.outputs import read_detections, read_regions
    from areoscan.scan.pipeline import scan_image

    summary = scan_image(image, out, config, progress=progress, **options)
    folder = Path(summary.output_dir)
    return ScanResult(summary, ScanPaths.of(folder), read_regions(folder), read_detections(folder))


def run_survey(source: str | Path, out: str | Path, **options: Any) -> SurveyOutcome:
    """Scan many images into a resumable survey folder (:func:`areoscan.survey.run.survey`); run
    it again to resume. options: the ``areoscan survey`` flags in snake case, plus the scan's."""
    from areoscan.survey.run import survey

    return survey(source, out, **options)


def report(
    survey_dir: str | Path,
    out: str | Path | None = None,
    *,
    basemap: str | Path | None = None,
    top: int = 200,
    rank_by: str = "score",
) -> ReportPaths:
    """Write a survey's report folder (default ``survey_dir/report``): interactive index.html,
    candidates.csv / .geojson, to_vet.csv, map.png, static.html, per-scan viewers."""
    from areoscan.survey.report import write_report

    return write_report(survey_dir, out=out, basemap=basemap, top=top, rank_by=rank_by)


def vet(survey_dir: str | Path, verdicts_csv: str | Path) -> VetResult:
    """Store a verdicts CSV (observation,region,verdict,note) in a survey's catalogue."""
    from areoscan.survey.vetting import vet as store

    return store(survey_dir, verdicts_csv)
