"""The data layer below ``train`` and ``evaluate``: what a model learns from and is scored on.

* :mod:`areoscan.data.samples` — classifier tiles from landmark sets, class folders, synthetic
  patches and masked images (``--data`` specs, :mod:`areoscan.data.sources`), built by
  :mod:`areoscan.data.synth_samples` (``synth:N``) and :mod:`areoscan.data.image_samples` (JP2 +
  mask) into a :mod:`areoscan.data.sample_set` (:class:`SampleSet`, merged by ``concat``);
* :mod:`areoscan.data.seg_samples` — segmentation tiles + per-pixel targets (:class:`SegSet`) from
  labelled scenes, landmark backgrounds and real coral tiles;
* :mod:`areoscan.data.landmarks` — the HiRISE landmark sets (v3 / v1) and their held-out observations;
* :mod:`areoscan.data.splits` — train / val / test and K-fold splits by observation (group);
* :mod:`areoscan.data.augment` — batch augmentation on torch tensors;
* :mod:`areoscan.data.metrics` — confusion matrices and scores shared by training and evaluation;
* :mod:`areoscan.data.seg_metrics` — a segmenter's scores on labelled tiles, tiles/s, results tables;
* :mod:`areoscan.data.detection` — detection metrics (pycocotools) and running a detector over images.

Tile files become float32 in [0, 1] through :func:`areoscan.io.tilefile.read_tile` (one scaling rule
from the file's declared bit depth). Import the submodules; this package imports nothing.
"""
