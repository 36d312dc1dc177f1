"""Every default of a scan in one place: :class:`ScanConfig`.

Use :class:`ScanConfig` to say how an image is scanned (models, budget, thresholds, overlaps); the
``scan`` and ``survey`` verbs build one from their flags (their defaults are read from here), and
:func:`areoscan.scan.scan_image` takes one (or keyword overrides of the defaults). The policy
numbers the scan derives from it (segment overlap, margin, batch, decoder refresh) are its methods,
so a change of policy is a change here, not in the pipeline. The GDAL block-cache sizes of the
scan's writers and of the mask tools live here too.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from areoscan.errors import ModelError

BACKENDS = ("auto", "torch", "onnx")
# GDAL's block cache defaults to 5 % of the RAM; the scan streams, so a small one suffices (MB)
GDAL_CACHE_MB = 128
# the mask tools (compare, to_training_mask) read two masks in row bands (MB)
MASK_TOOLS_GDAL_CACHE_MB = 64
# survey workers scan one image per thread: add workers rather than threads
SURVEY_THREADS = 1


@dataclass(frozen=True)
class ScanConfig:
    """How one image is scanned. Every field has the default the CLI shows.

    screen_model / segment_model: shipped names, model folders, ``.json`` or ``.onnx`` paths.
    fast: half the segment tile overlap (1/8 of the card's tile instead of 1/4) and no
    morphological refinements.
    threads: CPU threads for decoding and inference.
    memory_mb: budget for decoding, including the compressed image the JPEG2000 decoder keeps
    resident (the models and the screen level come on top; never less than one tile row is decoded
    at once). It also sizes the segment batch, the decoder refresh and the cleaning stripes.
    backend: ``"onnx"`` runs onnxruntime on ONNX exports cached once per model without importing
    torch (1 Gpx benchmark: 1.6x faster and ~770 MB less resident memory than ``"torch"``);
    ``"auto"`` is onnx when onnxruntime and the export work, else torch (said in the summary).
    screen_threshold / segment_threshold: override the model cards' thresholds (None: the card's).
    min_area_m2: smallest region kept (m²). max_hole_m2: holes smaller than this are filled (m²).
    opening_m: radius of the opening that removes ridge-scale speckle (m).
    margin_m: ground distance segmented around each flagged screen tile (m).
    screen_overlap: fraction of a screen tile shared by neighbours (0.5: four times the tiles, so a
    patch smaller than a tile is seen centred in one of them; 0 = the reference's disjoint tiles).
    screen_min_valid: screen tiles with less of their area in the footprint are not classified.
    screen_batch: screen tiles per inference call.
    segment_tile: side of the segmenter's tiles (None: the card's tile). Bigger tiles waste less
    work, but the shipped U-Net standardises each tile and loses accuracy on tiles larger than it
    was tuned for (1024 px: IoU 0.63 instead of 0.74 on the 1 Gpx benchmark scene).
    segment_overlap: px shared by neighbouring segment tiles (None: 1/4 of the card's tile, 1/8
    with ``fast``).
    gdal_cache_mb: GDAL block cache while the scan reads and writes (MB).
    level_tolerance: a model reads the pyramid level nearest its training scale when that level is
    within this fraction of it (0.1); otherwise (an image finer than the segmenter, with no level
    near its scale) the image is resampled so that one level lands on it (scan/scale.py).
    band: 1-based band of a multi-band image (a HiRISE COLOR product, an RGB mosaic); None: the
    image must have one band.
    detector: an object detector (shipped name, folder or ``.json``) run over the image
    (:mod:`areoscan.scan.detect`); None: no detect stage. detect_gate: run it only around the
    screen's flagged tiles (as the segmenter); False (default): over the whole image, since the
    screen looks for another landform than most detectors. detect_overlap: px of the detector's
    own scale shared by neighbouring tiles (None: a quarter of its tile, 256 of 1024: larger than
    the objects, so each is seen whole by one tile). detect_min_score: smallest score published
    (None: the card's threshold, else 0.5). detect_nms_iou: same-class detections of different
    views overlapping more than this are one object (the best score kept). detect_merge_ios: a
    piece cut by a tile edge joins the detection covering this fraction of its box. detect_batch:
    tiles per detector call.
    """

    screen_model: str | Path = "brain-coral-screen"
    segment_model: str | Path = "brain-coral-unet"
    fast: bool = False
    threads: int = 2
    memory_mb: float = 1024
    backend: str = "auto"
    screen_threshold: float | None = None
    segment_threshold: float | None = None
    min_area_m2: float = 500.0
    max_hole_m2: float = 200.0
    opening_m: float = 1.0
    margin_m: float = 16.0
    screen_overlap: float = 0.5
    screen_min_valid: float = 0.25
    screen_batch: int = 64
    segment_tile: int | None = None
    segment_overlap: int | None = None
    gdal_cache_mb: int = GDAL_CACHE_MB
    band: int | None = None
    level_tolerance: float = 0.1
    detector: str | Path | None = None
    detect_gate: bool = False
    detect_overlap: int | None = None
    detect_min_score: float | None = None
    detect_nms_iou: float = 0.5
    detect_merge_ios: float = 0.5
    detect_batch: int = 2

    def with_options(self, **options: Any) -> ScanConfig:
        """A copy with some fields replaced (TypeError for a name that is not a field)."""
        return dataclasses.replace(self, **options)

    def check(self) -> None:
        """ModelError when an option is out of range (the CLI checks its flags the same way)."""
        if self.backend not in BACKENDS:
            raise ModelError(f"unknown backend {self.backend!r}; choose auto, torch or onnx")
        if not self.level_tolerance >= 0:
            raise ModelError(f"level tolerance {self.level_tolerance} must be >= 0")
        for name in ("detect_nms_iou", "detect_merge_ios"):
            if not 0.0 < getattr(self, name) <= 1.0:
                raise ModelError(f"{name} must be in (0, 1], not {getattr(self, name)}")
        if self.detect_batch < 1:
            raise ModelError(f"detect_batch must be at least 1, not {self.detect_batch}")

    def detect_overlap_px(self, model_tile: int) -> int:
        """Px (at the detector's scale) shared by neighbouring detect tiles: a quarter tile."""
        return int(self.detect_overlap) if self.detect_overlap is not None else model_tile // 4

    def segment_tile_px(self, card_tile: int) -> int:
        """Side of the segmenter's tiles for a card trained on ``card_tile`` px tiles."""
        return int(self.segment_tile or card_tile)

    def segment_overlap_px(self, card_tile: int) -> int:
        """Px shared by neighbouring segment tiles: a quarter of the card's tile (an eighth fast)."""
        if self.segment_overlap is not None:
            return int(self.segment_overlap)
        return card_tile // (8 if self.fast else 4)

    def margin_px(self, scale: float | None, card_tile: int) -> int:
        """Segment-level px grown around each flagged tile (a quarter tile without a map scale)."""
        return round(self.margin_m / scale) if scale else card_tile // 4

    def segment_batch(self, card_tile: int, tile: int) -> int:
        """Segment tiles per inference call: the same pixels whatever the tile.

        2 (4 from 2 GB of budget) tiles of the card's size: 2 x 512 px is the fastest batch in
        onnxruntime here, and ~130 MB less than 4.
        """
        return max(1, (2 if self.memory_mb < 2048 else 4) * card_tile**2 // tile**2)

    def decoder_refresh_mpx(self) -> int:
        """Reopen a JPEG2000 decoder after this many decoded megapixels (it retains ~1 B/px)."""
        return max(32, int(self.memory_mb) // 16)

    def clean_memory_mb(self) -> float:
        """Budget of the cleaning stripes: half the scan's (the store and regions use the rest)."""
        return self.memory_mb / 2
