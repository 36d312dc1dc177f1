"""Write rasters: HiRISE-like JPEG2000 (synthetic scenes, tests, benchmarks) and GeoTIFF/COG outputs.

Use :func:`write_jp2` to make a JP2 laid out like a HiRISE RDR (one tile, 10-bit samples in a 16-bit
container, 64×64 code blocks, up to 10 resolution levels, lossless 5/3 wavelet) so that it is read
exactly as a real product would be; use :func:`write_geotiff` for georeferenced outputs (masks,
salience maps), with ``cog=True`` for a Cloud-Optimised GeoTIFF. Both write atomically.
"""

from __future__ import annotations

import math
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from areoscan.errors import OutputError
from areoscan.io.atomic import atomic_output

MAX_LEVELS = 10
MIN_LEVEL_PX = 32


def default_numres(shape: tuple[int, int]) -> int:
    """Resolution levels a real product of ``shape`` has: up to 10, smallest level ≥ ~32 px."""
    short = max(1, min(shape))
    return int(max(1, min(MAX_LEVELS, 1 + math.floor(math.log2(max(1.0, short / MIN_LEVEL_PX))))))


@dataclass(frozen=True)
class Jp2Layout:
    """How a JPEG2000 codestream is organised, for files that must be read in part (tests, benchmarks).

    progression: LRCP (OpenJPEG's default), RLCP, RPCL, PCRL or CPRL. precinct: precinct side at
    full resolution in px (a power of two ≥ 4; halved per lower level; code-blocks shrink to half of
    it), None for one precinct per resolution. layers: quality layers (lossless files end with a
    lossless layer). markers: write PLT and TLM markers as HiRISE's PDS_to_JP2 does. tile: tile side
    in px (None: one tile). sop: SOP marker before every packet. modes: code-block style bits
    (1 selective bypass, 2 reset, 4 termination on every pass, 8 vertical causal, 16 predictable
    termination, 32 segmentation symbols), 0 as HiRISE.
    """

    progression: str = "LRCP"
    precinct: int | None = None
    layers: int = 1
    markers: bool = False
    tile: int | None = None
    sop: bool = False
    modes: int = 0

    def glymur_kwargs(self, lossless: bool, cratio: float) -> dict[str, Any]:
        """The glymur.Jp2k keyword arguments of this layout."""
        out: dict[str, Any] = {"prog": self.progression, "sop": self.sop, "modesw": self.modes}
        if self.precinct is not None:
            out["psizes"] = [(self.precinct, self.precinct)]
            side = min(64, self.precinct // 2)
            out["cbsize"] = (side, side)
        if self.layers > 1:
            top = 1.0 if lossless else cratio
            out["cratios"] = [top * 4 ** (self.layers - 1 - i) for i in range(self.layers)]
        if self.tile is not None:
            out["tilesize"] = (self.tile, self.tile)
        return out


_EXTRA_OPTIONS_LOCK = threading.Lock()


@contextmanager
def _plt_and_tlm(enabled: bool) -> Iterator[None]:
    """Make glymur ask OpenJPEG for PLT *and* TLM markers.

    glymur 0.14 sets them in two calls, each naming both options, so ``plt=True, tlm=True`` ends
    up with TLM only; while this is active every call asks for both.
    """
    if not enabled:
        yield
        return
    from glymur.lib import openjp2 as opj2

    with _EXTRA_OPTIONS_LOCK:
        original = opj2.encoder_set_extra_options

        def both(codec: Any, plt: bool = False, tlm: bool = False) -> None:
            original(codec, plt=True, tlm=True)

        opj2.encoder_set_extra_options = both
        try:
            yield
        finally:
            opj2.encoder_set_extra_options = original


def _jp2k_class(bit_depth: int) -> Any:
    """A glymur Jp2k subclass that declares ``bit_depth`` bits per sample (glymur writes only 8/16)."""
    import glymur

    class _Jp2kWithPrecision(glymur.Jp2k):  # type: ignore[misc]
        def _populate_comptparms(self, img_array: np.ndarray) -> None:
            super()._populate_comptparms(img_array)
            for comp in self._comptparms:
                comp.prec = bit_depth
                comp.bpp = bit_depth

    return _Jp2kWithPrecision


def write_jp2(
    path: str | Path,
    data: np.ndarray,
    bit_depth: int = 10,
    numres: int | None = None,
    lossless: bool = True,
    threads: int = 2,
    cratio: float = 20.0,
    layout: Jp2Layout | None = None,
) -> Path:
    """Write a single-band, single-tile JPEG2000 like a HiRISE RDR and return its path.

    data: uint8/uint16 (H, W) with values < 2**bit_depth (checked). bit_depth: declared precision
    (10 for HiRISE; 1–16). numres: resolution levels (None: :func:`default_numres`). lossless: reversible
    5/3 wavelet; False uses the 9/7 wavelet at compression ratio ``cratio``. threads: OpenJPEG threads.
    layout: progression order, precincts, quality layers, PLT/TLM markers, tiles (:class:`Jp2Layout`).
    Memory: OpenJPEG needs about 8 bytes per pixel while encoding.
    """
    import glymur

    path = Path(path)
    arr = np.asarray(data)
    if arr.ndim != 2:
        raise OutputError(f"{path}: write_jp2 needs a 2-D (H, W) array, got shape {arr.shape}")
    if not 1 <= bit_depth <= 16:
        raise OutputError(f"{path}: bit_depth must be 1..16, not {bit_depth}")
    if arr.dtype.kind not in "ub" and not (arr.dtype.kind == "i" and arr.size and arr.min() >= 0):
        raise OutputError(f"{path}: write_jp2 needs unsigned integer pixels, got {arr.dtype}")
    if arr.size and int(arr.max()) >= 2**bit_depth:
        raise OutputError(
            f"{path}: pixel value {int(arr.max())} does not fit in {bit_depth} bits; scale the data first"
        )
    arr = arr.astype(np.uint8 if bit_depth <= 8 else np.uint16, copy=False)
    levels = default_numres(arr.shape) if numres is None else int(numres)
    if not 1 <= levels <= 32 or 2 ** (levels - 1) > min(arr.shape):
        raise OutputError(
            f"{path}: {levels} resolution levels need at least {2 ** (levels - 1)} px per side; "
            f"the image is {arr.shape[0]} x {arr.shape[1]}"
        )
    cls = _jp2k_class(bit_depth)
    kwargs: dict[str, Any] = {"numres": levels, "cbsize": (64, 64)}
    if not lossless:
        kwargs.update(irreversible=True, cratios=[cratio])
    if layout is not None:
        kwargs.update(layout.glymur_kwargs(lossless, cratio))
        kwargs.update(plt=layout.markers, tlm=layout.markers)
    old_threads = glymur.get_option("lib.num_threads")
    try:
        glymur.set_option("lib.num_threads", max(1, int(threads)))
        # the temp name keeps the suffix: glymur writes a JP2 container for .jp2/.JP2, else a raw J2K
        with atomic_output(path) as tmp:
            tmp.unlink()  # glymur would try to read an existing (empty) file
            with _plt_and_tlm(layout is not None and layout.markers):
                cls(str(tmp), data=arr, **kwargs)
    except OutputError:
        raise
    except (RuntimeError, OSError, ValueError) as exc:
        raise OutputError(f"{path}: cannot write JPEG2000 ({exc})") from exc
    finally:
        glymur.set_option("lib.num_threads", old_threads)
    return path


def _to_rasterio_crs(crs: Any) -> Any:
    from rasterio.crs import CRS as RioCRS

    if crs is None:
        return None
    if hasattr(crs, "to_wkt"):
        return RioCRS.from_wkt(crs.to_wkt())
    return RioCRS.from_user_input(crs)


def write_geotiff(
    path: str | Path,
    data: np.ndarray,
    crs: Any = None,
    transform: Any = None,
    nodata: float | None = None,
    cog: bool = False,
    overviews: bool = True,
    resampling: str = "average",
    nbits: int | None = None,
) -> Path:
    """Write (H, W) or (bands, H, W) ``data`` as a tiled, deflate-compressed GeoTIFF; return the path.

    crs: pyproj CRS, WKT or anything rasterio accepts (None: no CRS). transform: affine.Affine
    (None: identity). nodata: value recorded in the file. cog: write a Cloud-Optimised GeoTIFF with
    rasterio's COG driver. overviews: add 2×, 4×, … overviews while the short side stays ≥ 128 px, resampled with
    ``resampling`` ("average" for continuous maps, "nearest" for masks and class maps).
    nbits: declared significant bits (GDAL NBITS, e.g. 10 or 12 for uint16 data; plain GeoTIFF only).
    Booleans are stored as uint8.
    """
    import rasterio
    from rasterio.enums import Resampling
    from rasterio.io import MemoryFile
    from rasterio.shutil import copy as rio_copy

    path = Path(path)
    arr = np.asarray(data)
    if arr.dtype == bool:
        arr = arr.astype(np.uint8)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3 or 0 in arr.shape:
        raise OutputError(
            f"{path}: write_geotiff needs (H, W) or (bands, H, W) data, got {np.shape(data)}"
        )
    bands, height, width = arr.shape
    factors = []
    f = 2
    while overviews and min(height, width) / f >= 128:
        factors.append(f)
        f *= 2
    profile: dict[str, Any] = {
        "driver": "GTiff",
        "height": height,
        "width": width,
        "count": bands,
        "dtype": arr.dtype.name,
        "crs": _to_rasterio_crs(crs),
        "nodata": nodata,
        "compress": "deflate",
    }
    if transform is not None:
        profile["transform"] = transform
    if height >= 256 and width >= 256:
        profile.update(tiled=True, blockxsize=256, blockysize=256)
    if nbits is not None:
        profile["nbits"] = int(nbits)
    method = Resampling[resampling]
    try:
        with warnings.catch_warnings(), atomic_output(path) as tmp:
            # a GeoTIFF without transform is legitimate (plain arrays); GDAL's warning is noise here
            warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
            if cog:
                with MemoryFile() as mem, mem.open(**profile) as src:
                    src.write(arr)
                    rio_copy(
                        src,
                        tmp,
                        driver="COG",
                        compress="DEFLATE",
                        blocksize=256 if min(height, width) >= 256 else 128,
                        overviews="AUTO" if overviews else "NONE",
                        overview_resampling=method.name.upper(),
                    )
            else:
                with rasterio.open(tmp, "w", **profile) as dst:
                    dst.write(arr)
                    if factors:
                        dst.build_overviews(factors, method)
    except OutputError:
        raise
    except (rasterio.errors.RasterioError, OSError, ValueError) as exc:
        raise OutputError(f"{path}: cannot write GeoTIFF ({exc})") from exc
    return path
