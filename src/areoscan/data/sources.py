"""What the data arguments of ``train`` and ``evaluate`` accept, in one place (cheap to import).

Use :data:`DATA_HELP` for a classifier ``--data`` option (the specs
:func:`areoscan.data.samples.load_source` reads) and :data:`DEFAULT_SCENE_CACHE` for where synthetic
segmentation scenes are made and reused.
"""

from __future__ import annotations

from pathlib import Path

DATA_HELP = (
    "training data, repeatable: a landmark set folder (v3 manifest.csv / v1 labels.txt), a folder of "
    "class folders, DIR@CLASS (every tile is CLASS), cutK:DIR@CLASS (each image cut into KxK tiles at its own resolution, not resized), IMAGE.jp2 (+ IMAGE_mask.tif beside it, tiles at "
    "--level), synth:N (N synthetic coral/background patches at --scale m/px; synth:N,families=A+B,layout=L,negatives=K+K sets this spec's mix), or synth-terrain:N (N synthetic tiles labelled by terrain kind, for pretraining)"
)

DEFAULT_SCENE_CACHE = Path.home() / ".cache" / "areoscan" / "seg-scenes"
