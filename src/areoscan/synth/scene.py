"""Write a synthetic HiRISE-like scene: JP2 + PDS3 label + truth masks + a JSON description.

Use :func:`generate_scene` for files that every stage can read like a real RDR (the scan and
survey tests, demos, segmentation training at scale). Pixels are rendered block by block on a
fixed 2048-px grid (bounded memory: about 0.35 GB per thread), strip after strip of blocks, so
the result does not depend on ``strip_rows`` or ``threads``. The JP2 is one tile, encoded once
from the whole image: OpenJPEG needs about 8 bytes per pixel on top of the 2-byte image while
encoding (a 20,000 x 25,000 scene: ~1 GB image + ~4 GB encoder; 1 Gpx: ~10 GB).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from areoscan.errors import DataError
from areoscan.synth.blocks import BLOCK, render_into
from areoscan.synth.classes import NODATA, Terrain
from areoscan.synth.layout import Layout
from areoscan.synth.params import SceneParams
from areoscan.synth.sceneinfo import SceneInfo, observation_id_for, scene_paths
from areoscan.synth.writers import write_scene_files


def generate_scene(
    out_path: str | Path,
    size: tuple[int, int],
    seed: int,
    scale: float = 0.25,
    coral_fraction: float = 0.2,
    sun_azimuth: float | None = None,
    incidence: float | None = None,
    latitude: float | None = None,
    longitude: float | None = None,
    classes: bool = True,
    strip_rows: int | None = None,
    threads: int = 2,
    kinds: list[Terrain | str | int] | None = None,
    block: int = BLOCK,
    family: str = "bandpass",
    layout: str = "patches",
) -> SceneInfo:
    """Render and write a scene; return what was written. Deterministic per argument set.

    out_path: the ``.JP2`` to write; beside it go ``.LBL`` (PDS3, equirectangular),
    ``_mask.tif`` (0 background, 1 brain coral, 255 no data), ``_classes.tif`` (Terrain ids,
    255 no data; names in ``_classes.json``) unless ``classes=False``, and ``.json``.
    size: (rows, cols). scale: m/px (0.25 or 0.5 like HiRISE). coral_fraction: target share of
    the footprint. Sun angles, latitude (30-50 N by default) and longitude: None draws them
    from the seed. strip_rows: rows rendered per strip (rounded up to whole blocks; does not
    change the pixels). kinds: background kinds allowed (default all). family: the coral
    pattern (``bandpass``, ``turing``, ``cells``); layout: ``patches`` or ``regions`` (see
    :class:`SceneParams`).
    """
    paths = scene_paths(out_path)
    if paths["image"].suffix.lower() != ".jp2":
        raise DataError(f"{out_path}: the scene image must be a .JP2 path")
    t0, c0 = time.perf_counter(), time.process_time()
    p = SceneParams.from_seed(
        size,
        seed,
        scale,
        coral_fraction,
        sun_azimuth,
        incidence,
        latitude,
        longitude,
        kinds,
        family=family,
        layout=layout,
    )
    lay = Layout.build(p)
    t_layout, c_layout = time.perf_counter(), time.process_time()
    dn = np.empty((p.height, p.width), np.uint16)
    lab = np.empty((p.height, p.width), np.uint8)
    render_into(lay, dn, lab, strip_rows, threads, block)
    t_render, c_render = time.perf_counter(), time.process_time()
    counts = np.bincount(lab.ravel(), minlength=256)
    inside = int(counts[:NODATA].sum())
    obs = observation_id_for(p.seed, p.latitude)
    info = SceneInfo(
        image=paths["image"],
        label=paths["label"],
        mask=paths["mask"],
        classes=paths["classes"] if classes else None,
        description=paths["description"],
        params=p,
        observation_id=obs,
        coral_fraction=float(counts[int(Terrain.BRAIN_CORAL)] / max(inside, 1)),
        footprint_fraction=float(inside / lab.size),
        class_fractions={t.slug: float(counts[int(t)] / max(inside, 1)) for t in Terrain},
    )
    written = write_scene_files(info, dn, lab, threads)
    # wall seconds per stage, and CPU seconds (all threads) that do not depend on other load
    info.seconds = {"layout": t_layout - t0, "render": t_render - t_layout, **written}
    info.seconds["total"] = time.perf_counter() - t0
    info.seconds["cpu_layout"] = c_layout - c0
    info.seconds["cpu_render"] = c_render - c_layout
    info.seconds["cpu_total"] = time.process_time() - c0
    from areoscan.io import atomic_output

    with atomic_output(info.description) as tmp:
        tmp.write_text(json.dumps(info.to_json(), indent=2))
    return info
