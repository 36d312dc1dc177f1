"""The files a scan publishes, and how they appear atomically.

Use :class:`OutputFolder` around everything a scan writes: files go into a hidden temporary folder
beside the destination (``DIR/.OBS.partial-XXXX``) and the folder is renamed to ``DIR/OBS`` only
after ``summary.json``, written last, is complete. A crash leaves a hidden ``.partial`` folder,
never a half-written ``OBS`` that looks complete; a re-run replaces the old folder in one rename.

Writers: :func:`write_mask_cog` streams a full-resolution mask (mostly background) band by band into
a Cloud-Optimized GeoTIFF without holding the image; :func:`write_salience` writes the screen's
probability map; :func:`write_regions` writes ``regions.gpkg`` (image CRS) and
``regions.geojson`` (lon/lat on the Mars sphere, RFC 7946 layout); :func:`read_regions` reads them
back for other tools (the survey).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from areoscan.errors import DataError, OutputError
from areoscan.scan.config import GDAL_CACHE_MB
from areoscan.scan.quant import NO_VALUE, NODATA
from areoscan.scan.vectorize import Regions
from areoscan.tiling import Window

if TYPE_CHECKING:
    from areoscan.io.raster import Raster

MASK_NODATA = 255
RowReader = Callable[[int, int], np.ndarray]
OUTPUT_FILES = (
    "mask.tif",
    "salience.tif",
    "regions.gpkg",
    "regions.geojson",
    "quicklook.png",
    "detections.gpkg",
    "detections.geojson",
    "summary.json",
)


class OutputFolder:
    """A temporary folder that becomes ``root/name`` in one rename when :meth:`publish` is called.

    Use as a context manager: on an exception the temporary folder is removed and the previous
    ``root/name`` (if any) is left untouched. OutputError (exit code 3) if ``root`` is not writable.
    """

    def __init__(self, root: str | Path, name: str) -> None:
        self.root = Path(root)
        self.final = self.root / name
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            self.tmp = Path(tempfile.mkdtemp(prefix=f".{name}.partial-", dir=self.root))
        except OSError as exc:
            raise OutputError(
                f"{self.root}: cannot create the output folder ({exc.strerror or exc}); "
                "choose a writable --out"
            ) from None
        self.published = False
        self.cleanups: list[Callable[[], None]] = []

    def path(self, name: str) -> Path:
        """Where to write output file ``name`` (inside the temporary folder)."""
        return self.tmp / name

    def publish(self) -> Path:
        """Make the folder visible as ``root/name`` (replacing an older one); return that path."""
        if not (self.tmp / "summary.json").is_file():
            raise OutputError(f"{self.final}: summary.json missing; refusing to publish")
        os.chmod(self.tmp, 0o777 & ~_umask())
        old: Path | None = None
        try:
            if self.final.exists():
                old = Path(tempfile.mkdtemp(prefix=f".{self.final.name}.old-", dir=self.root))
                os.replace(self.final, old / "previous")
            os.replace(self.tmp, self.final)
        except OSError as exc:
            raise OutputError(
                f"{self.final}: cannot publish the outputs ({exc.strerror or exc})"
            ) from None
        finally:
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
        self.published = True
        return self.final

    def __enter__(self) -> OutputFolder:
        return self

    def __exit__(self, *exc: object) -> None:
        for fn in self.cleanups:
            fn()
        if not self.published:
            shutil.rmtree(self.tmp, ignore_errors=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _rio_crs(crs: Any) -> Any:
    from rasterio.crs import CRS

    return None if crs is None else CRS.from_wkt(crs.to_wkt())


@contextlib.contextmanager
def _quiet_rasterio() -> Iterator[None]:
    from rasterio.errors import NotGeoreferencedWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        yield


def _footprint_rows(footprint: np.ndarray, factor: int, r0: int, r1: int, width: int) -> np.ndarray:
    """Rows ``r0:r1`` of a footprint upsampled ``factor`` times (nearest), ``width`` columns."""
    a, b = r0 // factor, (r1 - 1) // factor + 1
    rows = np.repeat(footprint[a:b], factor, axis=0)[r0 - a * factor : r1 - a * factor]
    return np.repeat(rows, factor, axis=1)[:, :width]


def write_mask_cog(
    path: Path,
    shape: tuple[int, int],
    transform: Any,
    crs: Any,
    footprint: np.ndarray,
    footprint_factor: int,
    parts: list[tuple[Window, RowReader, RowReader]],
    *,
    threads: int = 2,
    block_rows: int = 2048,
) -> Path:
    """Stream the uint8 mask (1 coral, 0 background, 255 no data) of a whole level into a COG.

    footprint: bool map of valid pixels at a coarser level, ``footprint_factor`` times smaller per
    axis (the screen level): it says where the background is 0 and where it is no data. parts:
    ``(bbox, codes(row0, row1), mask(row0, row1))`` per segmented group — readers of its one-byte
    codes and final mask for level rows ``row0:row1`` (box width): inside the box, pixels with a
    value take the
    cleaned mask (and exact no data) instead. Memory: one band of ``block_rows`` rows.
    """
    import rasterio
    from rasterio.shutil import copy as rio_copy
    from rasterio.windows import Window as RioWindow

    height, width = shape
    tmp = path.with_name(f".{path.stem}.strips.tif")
    profile = {
        "driver": "GTiff",
        "height": height,
        "width": width,
        "count": 1,
        "dtype": "uint8",
        "nodata": MASK_NODATA,
        "crs": _rio_crs(crs),
        "transform": transform,
        "tiled": True,
        "blockxsize": 512,
        "blockysize": 512,
        "bigtiff": "yes",
    }
    block_rows = max(512, block_rows - block_rows % 512)
    try:
        with _quiet_rasterio(), rasterio.Env(GDAL_CACHEMAX=GDAL_CACHE_MB, GDAL_NUM_THREADS=threads):
            with rasterio.open(tmp, "w", **profile) as dst:
                for r0 in range(0, height, block_rows):
                    r1 = min(height, r0 + block_rows)
                    fp = _footprint_rows(footprint, footprint_factor, r0, r1, width)
                    # 0 inside the footprint, 255 outside
                    block = np.subtract(np.uint8(MASK_NODATA), fp.view(np.uint8) * MASK_NODATA,
                                        dtype=np.uint8)  # fmt: skip
                    band = Window(r0, 0, r1 - r0, width)
                    for bbox, codes_of, mask_of in parts:
                        part = bbox.intersect(band)
                        if part is None:
                            continue
                        qq = codes_of(part.row, part.row + part.height)
                        mask = mask_of(part.row, part.row + part.height).view(np.uint8)
                        vals = np.where(qq == NODATA, np.uint8(MASK_NODATA), mask)
                        view = block[
                            part.row - r0 : part.row - r0 + part.height,
                            part.col : part.col + part.width,
                        ]
                        np.copyto(view, vals, where=qq != NO_VALUE)
                    dst.write(block, 1, window=RioWindow(0, r0, width, r1 - r0))  # type: ignore[call-arg]
            rio_copy(
                tmp,
                path,
                driver="COG",
                compress="DEFLATE",
                level=1,
                blocksize=512,
                overview_resampling="NEAREST",
                num_threads=threads,
                bigtiff="IF_SAFER",
            )
    except (rasterio.errors.RasterioError, OSError) as exc:
        raise OutputError(f"{path}: cannot write the mask ({exc})") from None
    finally:
        tmp.unlink(missing_ok=True)
    return path


def write_salience(path: Path, salience: np.ndarray, transform: Any, crs: Any) -> Path:
    """The screen's probability map (uint8 percent, 255 = no data) as a COG."""
    from areoscan.io import write_geotiff

    with _quiet_rasterio():
        return write_geotiff(path, salience, crs=crs, transform=transform, nodata=255, cog=True,
                             resampling="nearest")  # fmt: skip


def _lonlat_geometry(geom: Any, georef: Any) -> Any:
    import shapely

    def fn(xy: np.ndarray) -> np.ndarray:
        lon, lat = georef.xy_to_lonlat(xy[:, 0], xy[:, 1], lon_range=180)
        return np.column_stack([np.atleast_1d(lon), np.atleast_1d(lat)])

    return shapely.orient_polygons(shapely.transform(geom, fn), exterior_cw=False)


def _rounded(obj: Any, digits: int) -> Any:
    if isinstance(obj, float):
        return round(obj, digits)
    if isinstance(obj, list | tuple):
        return [_rounded(v, digits) for v in obj]
    return obj


def write_regions(folder: Path, regions: Regions, raster: Raster, name: str) -> tuple[Path, Path]:
    """Write ``regions.gpkg`` (image CRS) and ``regions.geojson`` (lon/lat) into ``folder``."""
    return write_features(folder, "regions", regions.records, regions.geometries, regions.fields,
                          raster, name)  # fmt: skip


#: columns written as integers / text (every other column is float64, None = NaN)
INT_FIELDS = frozenset({"region_id", "detection_id", "area_px", "row0", "col0", "row1", "col1",
                        "class_id", "truncated"})  # fmt: skip
TEXT_FIELDS = frozenset({"class_name"})


def _column(key: str, values: list[Any]) -> np.ndarray:
    """A GeoPackage column of field ``key`` (typed by :data:`INT_FIELDS` / :data:`TEXT_FIELDS`)."""
    if key in INT_FIELDS:
        return np.asarray(values, dtype=np.int64)
    if key in TEXT_FIELDS:
        return np.asarray(values, dtype=object)
    return np.asarray([np.nan if v is None else v for v in values], dtype=np.float64)


def write_features(
    folder: Path,
    stem: str,
    records: list[dict[str, Any]],
    geometries: list[Any],
    fields: tuple[str, ...],
    raster: Raster,
    name: str,
) -> tuple[Path, Path]:
    """Write ``stem.gpkg`` (layer ``stem``, image CRS) and ``stem.geojson`` (lon/lat) into ``folder``.

    Use it for any polygons a scan publishes (regions, detections): ``records[i]`` holds the
    ``fields`` of polygon ``geometries[i]`` (image CRS metres, or level-0 pixels without a
    georeference); the first field is the feature id; column types follow :data:`INT_FIELDS` and
    :data:`TEXT_FIELDS`.
    """
    import shapely
    from pyogrio.raw import write
    from shapely.geometry import mapping

    georef = raster.georef
    gpkg, geojson = folder / f"{stem}.gpkg", folder / f"{stem}.geojson"
    geoms = [shapely.geometry.MultiPolygon([g]) if g.geom_type == "Polygon" else g
             for g in geometries]  # fmt: skip
    columns = [_column(key, [r[key] for r in records]) for key in fields]
    try:
        with warnings.catch_warnings():  # no CRS is expected for an image without georeference
            warnings.filterwarnings("ignore", message=".*'crs' was not provided")
            _write_gpkg(write, gpkg, geoms, columns, fields, georef, stem)
    except Exception as exc:  # pyogrio raises its own error types
        raise OutputError(f"{gpkg}: cannot write the GeoPackage ({exc})") from None
    features = []
    for rec, geom in zip(records, geometries, strict=True):
        g = _lonlat_geometry(geom, georef) if georef is not None else geom
        features.append(
            {
                "type": "Feature",
                "id": rec[fields[0]],
                "properties": rec,
                "geometry": _rounded(mapping(g), 7 if georef is not None else 2),
            }
        )
    doc: dict[str, Any] = {"type": "FeatureCollection", "name": name, "features": features}
    doc["areoscan"] = (
        {
            "body": "Mars",
            "coordinates": "planetocentric longitude (east, -180..180) and latitude in degrees "
            f"on the sphere of the image CRS ({georef.geographic_crs.name})",
            "centroid_lon": "east longitude 0..360",
        }
        if georef is not None
        else {"coordinates": "level-0 pixels (x = column, y = row): the image has no georeference"}
    )
    try:
        geojson.write_text(json.dumps(doc, separators=(",", ":")) + "\n", encoding="utf-8")
    except OSError as exc:
        raise OutputError(f"{geojson}: cannot write ({exc.strerror or exc})") from None
    return gpkg, geojson


def _write_gpkg(
    write: Any,
    gpkg: Path,
    geoms: list[Any],
    columns: list[np.ndarray],
    fields: tuple[str, ...],
    georef: Any,
    layer: str = "regions",
) -> None:
    import shapely

    wkb = shapely.to_wkb(np.asarray(geoms, dtype=object)) if geoms else np.zeros(0, dtype=object)
    write(
        str(gpkg),
        np.asarray(wkb, dtype=object),
        columns,
        list(fields),
        layer=layer,
        driver="GPKG",
        geometry_type="MultiPolygon",
        crs=georef.crs.to_wkt() if georef is not None else None,
    )


def write_json(path: Path, data: dict[str, Any]) -> Path:
    """Pretty JSON, atomically."""
    from areoscan.io import atomic_output

    with atomic_output(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, default=_json_default) + "\n", encoding="utf-8")
    return path


def _json_default(obj: Any) -> Any:
    if hasattr(obj, "item"):
        return obj.item()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"cannot serialise {type(obj).__name__}")


def read_regions(out_dir: str | Path) -> list[dict[str, Any]]:
    """Regions of a finished scan: one dict per region (its fields plus ``geometry``, GeoJSON).

    out_dir: the observation folder a scan wrote (``DIR/<OBSERVATION_ID>``, holding summary.json).
    Geometries are lon/lat (or level-0 pixels for an image without georeference), as in
    ``regions.geojson``. DataError if the folder is not a complete scan output.
    """
    return read_features(out_dir, "regions")


def read_detections(out_dir: str | Path) -> list[dict[str, Any]]:
    """Detections of a finished scan (``detections.geojson``; [] when it ran no detector), as
    :func:`read_regions` gives regions."""
    return read_features(out_dir, "detections")


def read_features(out_dir: str | Path, stem: str) -> list[dict[str, Any]]:
    """Features of ``stem.geojson`` in a finished scan folder ([] when absent); see read_regions."""
    folder = Path(out_dir)
    if not (folder / "summary.json").is_file():
        raise DataError(f"{folder}: no summary.json; not a finished `areoscan scan` output folder")
    path = folder / f"{stem}.geojson"
    if not path.is_file():
        return []
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise DataError(f"{path}: unreadable {stem} file ({exc})") from None
    return [
        {**f.get("properties", {}), "geometry": f.get("geometry")} for f in doc.get("features", [])
    ]
