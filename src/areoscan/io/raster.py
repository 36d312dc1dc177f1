"""Raster: one image (HiRISE JP2, GeoTIFF/COG, VRT, PDS3 IMG, ISIS3 cube) read by level, window or strip.

Use :func:`open_raster` for every image areoscan reads. It accepts a local path or an http(s) URL
(downloaded into a cache with :func:`areoscan.io.fetch`), checks the file before any decoding (empty,
truncated, renamed, multi-band, unsupported bit depth, too small), finds the detached PDS3 label and
builds the georeference from it (or from a GeoJP2/GML box / GeoTIFF tags when there is no label).

Level L is the JPEG2000 resolution level (1/2**L per axis, shape ceil(H/2**L) × ceil(W/2**L)): the
wavelet low-pass image, exactly what the codec returns, not a decimated copy. Windows are
(row0, col0, height, width) in that level's pixels, clipped to the image. Pixels come back as float32
in [0, 1] (raw / (2**bit_depth − 1)) from :meth:`Raster.read` or as raw integers from
:meth:`Raster.read_raw`.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from areoscan.errors import LabelError, RasterError
from areoscan.io import strips as _strips
from areoscan.io.bitdepth import effective_bit_depth
from areoscan.io.body import body_of_crs, check_body_name
from areoscan.io.formats import Opened, open_backend
from areoscan.io.georef import Georef
from areoscan.io.label import MapLabel, read_label
from areoscan.io.obsid import find_observation_id
from areoscan.io.remote import PartialJp2Backend, RemoteJp2, open_remote
from areoscan.io.sniff import PLANETARY, check_image_file, find_label
from areoscan.io.window import Window, WindowLike

MIN_SIDE = 16


class Raster:
    """An opened image. Create with :func:`open_raster`; use as a context manager.

    path: local file (the cached copy for URLs, or the partial JP2 of ``remote``). label: the
    MapLabel, or None. threads: decoder threads (2 = this machine's cores). band: 1-based band of a
    multi-band image (None: one band). remote: a remote JP2 read by the packet
    (:mod:`areoscan.io.remote`). Attributes: shape (H, W) at level 0, levels, bit_depth, nodata,
    scale (m/px), georef, crs, transform, body ("Mars", "Moon", ... or None without georeference),
    observation_id, bytes_fetched, bytes_total.
    """

    def __init__(
        self,
        path: Path,
        label: MapLabel | None = None,
        label_path: Path | None = None,
        threads: int = 2,
        band: int | None = None,
        remote: RemoteJp2 | None = None,
    ) -> None:
        self.label = label
        self.label_path = label_path
        self.threads = threads
        self.band = band
        self.upsampled = 1.0
        kind = check_image_file(path)
        self.format = kind
        if remote is not None:
            opened = Opened(PartialJp2Backend(remote, threads), path)
        else:
            opened = open_backend(path, kind, threads, band)
        self.path = opened.path
        self._backend: Any = opened.backend
        if opened.label_path is not None:
            self.label_path = opened.label_path
        try:
            self._validate()
            label_bits = opened.label_bits if label is None else label.bit_depth
            self._bit_depth = effective_bit_depth(
                self.path, self._backend.precision, self._backend.container_bits, label_bits,
                self.label_path,
            )  # fmt: skip
            self.georef: Georef | None = (
                Georef.from_label(label) if label is not None else self._backend.georef()
            )
            if kind in PLANETARY and self.georef is None:
                raise RasterError(
                    f"{self.path}: has no map projection GDAL can read; areoscan needs "
                    "map-projected images"
                )
            self.body = self._find_body(opened.body)
        except BaseException:
            self._backend.close()
            raise

    def _find_body(self, named: str | None) -> str | None:
        """The body: the planetary label's target, else the HiRISE label's, else the CRS's names."""
        if named is not None:
            return named
        if self.label is not None:
            return check_body_name(self.label_path or self.path, self.label.target_name)
        if self.georef is not None:
            return body_of_crs(self.path, self.georef.crs)
        return None

    def _validate(self) -> None:
        b, path = self._backend, self.path
        if b.bands != 1 and self.band is None:
            raise RasterError(
                f"{path}: has {b.bands} bands; pass --band N (1..{b.bands}) to read one, or use a "
                "single-band product (HiRISE _RED, not _COLOR)"
            )
        if b.signed:
            raise RasterError(f"{path}: samples are signed; HiRISE products are unsigned")
        if b.floating:
            raise RasterError(
                f"{path}: samples are floating point; areoscan reads unsigned 1–16-bit products "
                "(convert a float I/F cube first, e.g. gdal_translate -ot UInt16 -scale)"
            )
        if not 1 <= b.precision <= 16:
            raise RasterError(
                f"{path}: samples are {b.precision}-bit; areoscan reads unsigned 1–16-bit products "
                "(HiRISE RED is 10-bit)"
            )
        if min(b.shape) < MIN_SIDE:
            raise RasterError(
                f"{path}: image is {b.shape[0]} x {b.shape[1]} px; at least {MIN_SIDE} px per side needed"
            )
        if b.tiles != 1:
            warnings.warn(
                f"{path}: JPEG2000 has {b.tiles} tiles; HiRISE products have one", stacklevel=3
            )
        lab = self.label
        if lab is not None:
            where = self.label_path or "label"
            if (lab.lines, lab.line_samples) != b.shape:
                raise LabelError(
                    f"{where}: describes {lab.lines} x {lab.line_samples} px but {path.name} is "
                    f"{b.shape[0]} x {b.shape[1]}; the label belongs to another image"
                )

    # facts --------------------------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, int]:
        """(H, W) at level 0."""
        return tuple(self._backend.shape)  # type: ignore[return-value]

    @property
    def levels(self) -> int:
        """Number of resolution levels; valid levels are 0 .. levels - 1."""
        return int(self._backend.levels)

    @property
    def bit_depth(self) -> int:
        """Significant bits per sample (10 for HiRISE RED): the label's SAMPLE_BIT_MASK, else the
        JPEG2000 codestream precision, else the file's NBITS tag, else the data type's width.
        Pixels scale to [0, 1] by 2**bit_depth − 1, so the same DNs give the same model input
        whatever container holds them."""
        return self._bit_depth

    @property
    def container_bits(self) -> int:
        """Bits of the decoded samples' container (8 or 16); > bit_depth for 10-bit-in-16 files."""
        return int(self._backend.container_bits)

    @property
    def nodata(self) -> int | None:
        """Nodata DN: the label's CORE_NULL, else the file's nodata, else 0 for JP2 (HiRISE)."""
        if self.label is not None and self.label.core_null is not None:
            return int(self.label.core_null)
        nd = getattr(self._backend, "nodata", None)
        if nd is not None:
            return int(nd)
        return 0 if self.format == "jp2" else None

    @property
    def observation_id(self) -> str | None:
        """E.g. "ESP_011277_1825": from the label, else from the file name."""
        if self.label is not None:
            if self.label.observation_id:
                return self.label.observation_id
            if self.label.product_id:
                found = find_observation_id(self.label.product_id)
                if found:
                    return found
        return find_observation_id(self.path.name)

    @property
    def scale(self) -> float | None:
        """Metres per pixel at level 0 (None without georeference)."""
        if self.label is not None:
            return self.label.map_scale / self.upsampled
        return self.georef.scale_at(0) if self.georef is not None else None

    def upsample(self, factor: float) -> None:
        """From now on, present the image at ``factor`` times finer pixels (bilinear, factor > 1).

        Use it when a model needs a finer scale than the image has and tolerates the difference
        (see :mod:`areoscan.scan.scale`): shape, levels, scale, transform, windows and strips all
        change to the finer grid; ``upsampled`` records the total factor. See io/resample.py.
        """
        from affine import Affine

        from areoscan.io.resample import ResampledBackend

        if not factor > 1.0:
            raise ValueError(f"upsample factor must be > 1, not {factor}")
        self._backend = ResampledBackend(self._backend, factor, self.nodata)
        self.upsampled *= factor
        if self.georef is not None:
            scaled = self.georef.transform @ Affine.scale(1.0 / factor)
            self.georef = dataclasses.replace(self.georef, transform=scaled)

    def scale_at(self, level: int) -> float | None:
        """Metres per pixel at ``level``."""
        s = self.scale
        return None if s is None else s * 2 ** self._check_level(level)

    @property
    def crs(self) -> Any:
        """Projected pyproj CRS, or None."""
        return None if self.georef is None else self.georef.crs

    @property
    def transform(self) -> Any:
        """Level-0 affine.Affine, or None."""
        return None if self.georef is None else self.georef.transform

    def transform_at(self, level: int) -> Any:
        """affine.Affine of ``level`` (None without georeference)."""
        self._check_level(level)
        return None if self.georef is None else self.georef.transform_at(level)

    def shape_at(self, level: int) -> tuple[int, int]:
        """(h, w) at ``level``: ceil(H / 2**level), ceil(W / 2**level), as the codec returns."""
        s = 2 ** self._check_level(level)
        h, w = self.shape
        return (-(-h // s), -(-w // s))

    def _check_level(self, level: int) -> int:
        if not isinstance(level, (int, np.integer)) or not 0 <= level < self.levels:
            raise RasterError(f"{self.path}: level {level} is not in 0..{self.levels - 1}")
        return int(level)

    @property
    def bytes_fetched(self) -> int:
        """Bytes of the image file held locally: all of it, unless read by the packet over http."""
        return int(getattr(self._backend, "bytes_fetched", self.path.stat().st_size))

    @property
    def bytes_total(self) -> int:
        """Size of the image file (the remote one for a partial read)."""
        return int(getattr(self._backend, "bytes_total", self.path.stat().st_size))

    def prefetch(self, level: int, windows: list[WindowLike] | None = None) -> None:
        """Start fetching what reading ``windows`` (None: the whole level) of ``level`` needs.

        Only remote images read by the packet fetch anything; for them, one call with every window
        coalesces the requests, runs them in the background (the first windows' packets first) and
        returns: each read then waits for its own packets only, so decoding overlaps the transfer.
        """
        self._check_level(level)
        prefetch = getattr(self._backend, "prefetch", None)
        if prefetch is not None:
            wins = [None] if windows is None else [self.clip_window(level, w) for w in windows]
            prefetch(level, wins)

    # pixels ---------------------------------------------------------------------------------------
    def clip_window(self, level: int, window: WindowLike | None) -> Window:
        """Clip a window (or ``(row, col, height, width)``) to the level; None = the whole level."""
        h, w = self.shape_at(level)
        if window is None:
            return Window(0, 0, h, w)
        r0, c0, wh, ww = Window.of(window)
        r1, c1 = min(h, r0 + wh), min(w, c0 + ww)
        r0, c0 = max(0, r0), max(0, c0)
        if r1 <= r0 or c1 <= c0:
            raise RasterError(
                f"{self.path}: window {tuple(window)} lies outside the {h} x {w} image at level {level}"
            )
        return Window(r0, c0, r1 - r0, c1 - c0)

    def read_raw(self, level: int = 0, window: WindowLike | None = None) -> np.ndarray:
        """Raw samples (uint16, or uint8 for 8-bit files) of ``window`` at ``level``.

        Values above 2**bit_depth − 1 (bits outside the label's SAMPLE_BIT_MASK, which real
        products never set) are clipped to it, so [0, 1] scaling never exceeds 1.
        """
        win = self.clip_window(self._check_level(level), window)
        raw = self._backend.read(level, win)
        if self._bit_depth < self._backend.precision:
            np.minimum(raw, raw.dtype.type(2**self._bit_depth - 1), out=raw)
        return raw  # type: ignore[no-any-return]

    def read(self, level: int = 0, window: WindowLike | None = None) -> np.ndarray:
        """float32 pixels in [0, 1] (raw / (2**bit_depth − 1)) of ``window`` at ``level``."""
        return self._scale(self.read_raw(level, window))

    def _scale(self, raw: np.ndarray) -> np.ndarray:
        out = raw.astype(np.float32)
        out *= np.float32(1.0 / (2**self.bit_depth - 1))
        return out

    def footprint(self, level: int, memory_mb: float = 512) -> np.ndarray:
        """bool (h, w) at ``level``: True where the pixel is not nodata (all True if nodata is None)."""
        h, w = self.shape_at(level)
        nodata = self.nodata
        if nodata is None:
            return np.ones((h, w), dtype=bool)
        out = np.empty((h, w), dtype=bool)
        for r0, r1, _c0, _c1 in self._plan(
            level, memory_mb, 0, None, _strips.DECODE_BYTES_PER_PX + 1
        ):
            out[r0:r1] = self.read_raw(level, (r0, 0, r1 - r0, w)) != nodata
        return out

    def _plan(
        self, level: int, memory_mb: float, overlap: int, rows: int | None, bytes_per_px: float
    ) -> list[tuple[int, int, int, int]]:
        h, w = self.shape_at(level)
        # the decoder holds the whole compressed tile while decoding any part of it
        reserved = self._backend.codestream_bytes / 2**20 if self.format == "jp2" else 0.0
        try:
            return _strips.plan_strips(
                h, w, memory_mb, overlap, rows, bytes_per_px=bytes_per_px, reserved_mb=reserved
            )
        except ValueError as exc:
            raise RasterError(f"{self.path}: {exc}") from None

    def strips(
        self,
        level: int = 0,
        memory_mb: float = 512,
        overlap: int = 0,
        rows: int | None = None,
        prefetch: bool = True,
    ) -> Iterator[_strips.Strip]:
        """Yield full-width float32 :class:`Strip` s of ``level`` whose cores partition the image.

        memory_mb: what the pass may add to the process's memory: the compressed tile the decoder
        holds (about the file size, subtracted first) plus the strips in flight at ~33 B/px (OpenJPEG
        window decoding is memory-hungry; see strips.py); rows: core rows per strip instead of the
        budget; overlap: extra rows each side, clipped at the edges. prefetch: decode the next strip
        in a background thread while the current one is scaled and consumed (the decoder releases
        the GIL), which the budget already allows for.
        """
        self._check_level(level)
        w = self.shape_at(level)[1]
        per_px = _strips.BYTES_PER_PX if prefetch else _strips.BYTES_PER_PX_NO_PREFETCH
        plan = self._plan(level, memory_mb, overlap, rows, per_px)

        def window(i: int) -> Window:
            r0, r1 = plan[i][0], plan[i][1]
            return Window(r0, 0, r1 - r0, w)

        if not prefetch or len(plan) < 2:
            for i, (r0, r1, c0, c1) in enumerate(plan):
                yield _strips.Strip(r0, r1, c0, c1, self.read(level, window(i)))
            return
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="areoscan-strip") as pool:
            pending = pool.submit(self.read_raw, level, window(0))
            for i, (r0, r1, c0, c1) in enumerate(plan):
                raw = pending.result()
                if i + 1 < len(plan):
                    pending = pool.submit(self.read_raw, level, window(i + 1))
                data = self._scale(raw)
                del raw
                yield _strips.Strip(r0, r1, c0, c1, data)

    # lifecycle ----------------------------------------------------------------------------------
    def close(self) -> None:
        """Release the decoder / file handle."""
        self._backend.close()

    def __enter__(self) -> Raster:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        h, w = self.shape
        return f"Raster({self.path.name!r}, {h}x{w}, levels={self.levels}, {self.bit_depth}-bit)"


def open_raster(
    source: str | Path,
    label: str | Path | None = None,
    cache_dir: Path | None = None,
    require_label: bool = False,
    threads: int = 2,
    band: int | None = None,
    partial: bool = True,
    max_bytes: int | None = None,
) -> Raster:
    """Open a JP2 / GeoTIFF / COG / PNG / VRT / PDS3 IMG / ISIS3 cube from a path or http(s) URL.

    label: detached PDS3 label (None: look for X.LBL beside X.JP2, case-insensitive; for URLs the
    label is fetched beside the image). A PDS3 product's own label (attached, or X.LBL beside X.IMG,
    or the .LBL given as ``source``) and an ISIS3 cube's are read by GDAL, not as HiRISE labels.
    require_label: raise LabelError when no label is found. cache_dir: download folder for URLs
    (default ~/.cache/areoscan/images). threads: decoder threads. band: 1-based band of a
    multi-band image (None: the image must have one band). partial: read a remote JP2 by the
    packet (what each level / window needs, with HTTP Range requests) when the file and the server
    allow it (:mod:`areoscan.io.remote`); False downloads it whole first. max_bytes: the most
    bytes a URL may take, downloaded whole or read by the packet (more fails with FetchError).
    """
    text = str(source)
    remote = None
    if text.startswith(("http://", "https://")):
        path, remote = open_remote(
            text, cache_dir, label=label is None, partial=partial and band in (None, 1),
            max_bytes=max_bytes,
        )  # fmt: skip
    else:
        path = Path(source).expanduser()
    label_path: Path | None
    if label is not None:
        label_path = Path(label).expanduser()
        if not label_path.is_file():
            raise LabelError(f"{label_path}: label not found; check the --label path")
    else:
        label_path = find_label(path)
    kind = check_image_file(path)  # fail on a bad image before blaming its label
    if kind in PLANETARY:
        if label is not None and kind == "pds3":
            path = label_path  # type: ignore[assignment]  # the detached label GDAL opens
        return Raster(path, None, None, threads=threads, band=band)
    if label_path is None and require_label:
        raise LabelError(
            f"{path}: no PDS3 label ({path.stem}.LBL) beside the image; download it or pass --label"
        )
    map_label = read_label(label_path) if label_path is not None else None
    return Raster(path, map_label, label_path, threads=threads, band=band, remote=remote)
