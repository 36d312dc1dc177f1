"""Labelled tile sets for classifier training: one folder per terrain kind, optional masks.

Use :func:`make_tiles` to write a reproducible set; :func:`tile_seed` tells which seed made
tile ``i`` so any tile can be re-rendered with :func:`areoscan.synth.render_patch`.

Layout of ``out_dir``::

    <kind>/<kind>_000012.png        10-bit DN in a 16-bit PNG (or 8-bit: DN // 4), 0 = no data
    <kind>/<kind>_000012_mask.png   Terrain ids per pixel (uint8; 1 = brain coral) if masks
    manifest.csv                    file, mask, class, class_id, seed, scale, level, coral_fraction
    classes.json                    class name -> id
"""

from __future__ import annotations

import csv
import io as _io
import json
import tempfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from areoscan.errors import DataError
from areoscan.synth.classes import DEFAULT_KINDS, Terrain, class_table
from areoscan.synth.noise import hash_u64
from areoscan.synth.patch import render_patch

MIXED = "mixed"  # pseudo-kind: crops of mixed scenes (coral patches among backgrounds)


def tile_seed(seed: int, index: int) -> int:
    """Seed of tile ``index`` in a set made with ``seed``."""
    return int(hash_u64(seed, 500, index)[0] >> np.uint64(1))


def _reduce(dn: np.ndarray, level: int, threads: int) -> np.ndarray:
    """Decode ``dn`` at resolution ``level`` through a real JP2, exactly as inference reads it."""
    from areoscan.io import open_raster, write_jp2

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "tile.jp2"
        write_jp2(path, dn, bit_depth=10, numres=level + 1, threads=threads)
        with open_raster(path) as r:
            return np.asarray(r.read_raw(level))


def _png_bytes(arr: np.ndarray) -> bytes:
    from PIL import Image

    buf = _io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


def make_tiles(
    out_dir: str | Path,
    n: int,
    size: int = 256,
    scale: float = 1.0,
    seed: int = 0,
    kinds: Iterable[Terrain | str | int] | None = None,
    masks: bool = True,
    level: int = 0,
    bits: int = 16,
    threads: int = 2,
) -> Path:
    """Write ``n`` tiles of ``size`` px, spread evenly over ``kinds``; return the manifest path.

    scale: m/px of the rendered image; with ``level`` > 0 the tile is rendered at ``scale`` with
    ``size * 2**level`` px and decoded at that JP2 resolution level (as the screen reads a real
    image: level 2 of a 0.25 m/px RDR is 1 m/px). kinds: Terrain names/ids and/or ``"mixed"``
    (default: brain coral and the six default backgrounds; name ``tars`` to add them). bits: 16
    (10-bit DN) or 8 (DN // 4).
    """
    from areoscan.io import atomic_output

    if n < 1 or size < 16:
        raise DataError(f"tile set needs n >= 1 and size >= 16 (got n={n}, size={size})")
    if bits not in (8, 16):
        raise DataError(f"bits must be 8 or 16, not {bits}")
    if not 0 <= level <= 6:
        raise DataError(f"level must be 0..6, not {level}")
    names: list[str] = []
    for k in kinds if kinds is not None else DEFAULT_KINDS:
        if isinstance(k, str) and k.lower() == MIXED:
            names.append(MIXED)
            continue
        try:
            names.append(Terrain.parse(k).slug)
        except (KeyError, ValueError) as exc:
            raise DataError(
                f"unknown terrain kind {k!r}: use one of {', '.join(class_table())}"
            ) from exc
    out = Path(out_dir)
    rows = []
    for i in range(n):
        name = names[i % len(names)]
        s = tile_seed(seed, i)
        full = size * 2**level
        img, lab = render_patch(None if name == MIXED else name, full, scale, s)
        dn = np.rint(img * 1023.0).astype(np.uint16)
        if level:
            dn = _reduce(dn, level, threads)
            lab = lab[2 ** (level - 1) :: 2**level, 2 ** (level - 1) :: 2**level][:size, :size]
        pix = dn if bits == 16 else (dn >> 2).astype(np.uint8)
        folder = out / name
        file = folder / f"{name}_{i:06d}.png"
        with atomic_output(file) as tmp:
            tmp.write_bytes(_png_bytes(pix))
        mask_name = ""
        if masks:
            mfile = folder / f"{name}_{i:06d}_mask.png"
            with atomic_output(mfile) as tmp:
                tmp.write_bytes(_png_bytes(lab.astype(np.uint8)))
            mask_name = str(mfile.relative_to(out))
        cls_id = int(Terrain.parse(name)) if name != MIXED else 0
        rows.append(
            {
                "file": str(file.relative_to(out)),
                "mask": mask_name,
                "class": name,
                "class_id": cls_id,
                "seed": s,
                "scale": scale * 2**level,
                "level": level,
                "coral_fraction": float(np.mean(lab == int(Terrain.BRAIN_CORAL))),
            }
        )
    manifest = out / "manifest.csv"
    with atomic_output(manifest) as tmp, open(tmp, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    with atomic_output(out / "classes.json") as tmp:
        tmp.write_text(json.dumps({"classes": class_table(), MIXED: 0}, indent=2))
    return manifest
