"""What a survey processes: a :class:`Job` per image and the ``--bbox`` / ``--max-scale`` :class:`Selection`.

Use these types between the sources (which make jobs), the catalogue (which stores them) and the
engine (which runs them). Longitudes are planetocentric east; both 0–360 and −180–180 are accepted
and ranges that cross the 0/360 seam are handled.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from areoscan.errors import DataError
from areoscan.io.obsid import check_observation_id

#: Root of the public HiRISE PDS archive; products live under ``RDR/ESP/ORB_*/ID/``.
HIRISE_PDS_URL = "https://hirise-pds.lpl.arizona.edu/PDS/"
#: Ceiling on one download when nothing better is known (a RED JP2 is rarely above 2 GB).
DEFAULT_MAX_IMAGE_MB = 4096


@dataclass(frozen=True)
class Job:
    """One image to survey.

    observation_id: validated HiRISE id, the catalogue key. url: http(s) URL or absolute local path.
    remote: True when the JP2 must be downloaded (and is deleted afterwards unless asked to keep).
    max_bytes: largest acceptable download (announced size, index-derived bound, or a default).
    lat/lon: centre (planetocentric, east 0–360) when known; scale: m/px when known;
    bounds: (min_lat, max_lat, min_lon, max_lon) when known.
    """

    observation_id: str
    url: str
    remote: bool
    max_bytes: int | None = None
    lat: float | None = None
    lon: float | None = None
    scale: float | None = None
    bounds: tuple[float, float, float, float] | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (for Dask and the catalogue)."""
        return asdict(self)


@dataclass(frozen=True)
class Selection:
    """``--bbox LAT0 LAT1 LON0 LON1`` (degrees; lon east, 0–360 or −180–180) and ``--max-scale``."""

    bbox: tuple[float, float, float, float] | None = None
    max_scale: float | None = None

    def __post_init__(self) -> None:
        if self.bbox is not None:
            lat0, lat1, _, _ = self.bbox
            if not (-90 <= lat0 <= 90 and -90 <= lat1 <= 90) or lat0 > lat1:
                raise DataError(
                    f"--bbox latitudes must satisfy -90 <= LAT0 <= LAT1 <= 90: {self.bbox}"
                )
        if self.max_scale is not None and self.max_scale <= 0:
            raise DataError(f"--max-scale must be positive, got {self.max_scale}")

    @property
    def active(self) -> bool:
        """True when the selection can exclude an image."""
        return self.bbox is not None or self.max_scale is not None

    def accepts(self, job: Job) -> bool:
        """Whether ``job`` falls in the box and under the scale limit (unknown location: no)."""
        if self.max_scale is not None and (job.scale is None or job.scale > self.max_scale + 1e-9):
            return False
        if self.bbox is None:
            return True
        lat0, lat1, lon0, lon1 = self.bbox
        if job.bounds is not None:
            jlat0, jlat1, jlon0, jlon1 = job.bounds
        elif job.lat is not None and job.lon is not None:
            jlat0 = jlat1 = job.lat
            jlon0 = jlon1 = job.lon
        else:
            return False
        if jlat1 < lat0 or jlat0 > lat1:
            return False
        return lon_ranges_overlap((lon0, lon1), (jlon0, jlon1))


def _lon_segments(lo: float, hi: float) -> list[tuple[float, float]]:
    """A longitude range as segments of [0, 360]; a range whose ends cross 0/360 wraps."""
    if hi - lo >= 360:
        return [(0.0, 360.0)]
    a, b = lo % 360.0, hi % 360.0
    if a <= b:
        return [(a, b)]
    return [(a, 360.0), (0.0, b)]


def lon_ranges_overlap(box: tuple[float, float], image: tuple[float, float]) -> bool:
    """Whether two east-longitude ranges (either convention) overlap, handling the 0/360 seam."""
    ilo, ihi = image
    if ihi - ilo > 180:  # an image cannot span half the planet: its range wraps through 0
        ilo, ihi = ihi, ilo + 360
    return any(
        a0 <= b1 and b0 <= a1
        for a0, a1 in _lon_segments(*box)
        for b0, b1 in _lon_segments(ilo, ihi)
    )


def lon_centre(lo: float, hi: float) -> float:
    """Centre (0–360) of an image's longitude range; a range wider than 180° wraps through 0."""
    if hi - lo > 180:
        lo, hi = hi, lo + 360
    elif hi < lo:
        hi += 360
    return ((lo + hi) / 2) % 360.0


def pds_product_path(observation_id: str) -> str:
    """Archive path of a RED product, e.g. ``RDR/ESP/ORB_011200_011299/ESP_011277_1825/…_RED.JP2``."""
    obs = check_observation_id(observation_id)
    orbit = int(obs[4:10])
    lo = orbit // 100 * 100
    return f"RDR/{obs[:3]}/ORB_{lo:06d}_{lo + 99:06d}/{obs}/{obs}_RED.JP2"


def target_latitude(observation_id: str) -> float:
    """Latitude of an observation's target from its id (``…_1825`` → 2.5°), to ±0.5°."""
    return int(observation_id[-4:]) / 10.0 - 180.0


def join_url(base: str, relative: str) -> str:
    return base.rstrip("/") + "/" + relative
