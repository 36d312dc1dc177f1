"""A persistent OpenJPEG decoder for many windows of one single-tile JPEG2000 at one level.

Use :class:`Jp2Decoder` (through :class:`areoscan.io.Raster`) when reading several windows or strips
of the same image: OpenJPEG (≥ 2.3) keeps the compressed data of a single-tile image after the first
decode and lets ``opj_set_decode_area`` + ``opj_decode`` be repeated, so each further window costs
only its own code-blocks instead of re-reading and re-parsing the whole (gigabyte) codestream, as a
fresh ``glymur.Jp2kr`` slice does. Memory: the compressed tile (about the file size) stays resident
while the decoder is open. Not thread-safe: one decoder per thread/process. Multi-tile files: one
window per decoder (OpenJPEG refuses a second area); :class:`areoscan.io.jp2backend.Jp2Backend`
opens a fresh one for each.
"""

from __future__ import annotations

import ctypes
from pathlib import Path
from typing import Any

import numpy as np

from areoscan.io.heap import release_heap


class Jp2Decoder:
    """Decode windows of resolution level ``level`` of ``path`` with ``threads`` OpenJPEG threads.

    Windows are given in level-0 pixel coordinates (x0, y0, x1, y1), as OpenJPEG expects; the result
    is the level's pixels (ceil division), uint16 (uint8 for ≤ 8-bit files).
    """

    def __init__(
        self, path: Path, level: int, threads: int = 2, raw_codestream: bool = False
    ) -> None:
        from glymur.lib import openjp2 as opj2

        self._opj2 = opj2
        self.path = path
        self.level = level
        self._stream: Any = None
        self._codec: Any = None
        self._image: Any = None
        codec_format = opj2.CODEC_J2K if raw_codestream else opj2.CODEC_JP2
        try:
            params = opj2.set_default_decoder_parameters()
            params.decod_format = codec_format
            params.cp_reduce = level
            self._stream = opj2.stream_create_default_file_stream(str(path), True)
            self._codec = opj2.create_decompress(codec_format)
            opj2.set_error_handler(self._codec, opj2._ERROR_CALLBACK)
            opj2.set_warning_handler(self._codec, opj2._WARNING_CALLBACK)
            opj2.set_info_handler(self._codec, None)
            opj2.setup_decoder(self._codec, params)
            opj2.codec_set_threads(self._codec, max(1, int(threads)))
            self._image = opj2.read_header(self._stream, self._codec)
        except BaseException:
            self.close()
            raise

    def decode(self, x0: int, y0: int, x1: int, y1: int) -> np.ndarray:
        """Pixels of the level-0 box [x0, x1) × [y0, y1) at this decoder's level."""
        opj2 = self._opj2
        opj2.set_decode_area(self._codec, self._image, x0, y0, x1, y1)
        opj2.decode(self._codec, self._stream, self._image)
        comp = self._image.contents.comps[0]
        h, w = int(comp.h), int(comp.w)
        if h == 0 or w == 0:
            raise RuntimeError(f"decoder returned an empty {h} x {w} area")
        buffer = (ctypes.c_int32 * (h * w)).from_address(ctypes.addressof(comp.data.contents))
        data = np.ctypeslib.as_array(buffer).reshape(h, w)
        return data.astype(np.uint8 if comp.prec <= 8 else np.uint16)

    def close(self) -> None:
        """Free the codec, stream and image (safe to call twice)."""
        opj2 = self._opj2
        if self._image is not None:
            opj2.image_destroy(self._image)
            self._image = None
        if self._codec is not None:
            opj2.destroy_codec(self._codec)
            self._codec = None
        if self._stream is not None:
            opj2.stream_destroy(self._stream)
            self._stream = None
        release_heap()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # interpreter shutdown: the library may already be gone
            pass
