"""Write a rendered scene's files with :mod:`areoscan.io`: label, masks, class table, JP2.

Order matters for memory: the masks are written (and freed by the caller) before the JP2 is
encoded, because OpenJPEG's encoder needs ~8 bytes per pixel of its own.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from areoscan.synth.classes import NODATA, Terrain, class_table
from areoscan.synth.sceneinfo import SceneInfo


def scene_label(info: SceneInfo):  # -> MapLabel
    """The PDS3 map label of a scene (equirectangular at mid-latitudes, like HiRISE RDRs)."""
    from areoscan.io import label_centred_on

    p = info.params
    return label_centred_on(
        p.latitude,
        p.longitude,
        p.height,
        p.width,
        map_scale=p.scale,
        product_id=f"{info.observation_id}_RED",
        observation_id=info.observation_id,
        compressed_file=info.image.name,
    )


def write_scene_files(
    info: SceneInfo, dn: np.ndarray, lab: np.ndarray, threads: int = 2
) -> dict[str, float]:
    """Write label, mask, classes (+ JSON) and the JP2 of a rendered scene; return seconds spent."""
    from areoscan.io import Georef, atomic_output, write_geotiff, write_jp2, write_label

    t = {}
    t0, c0 = time.perf_counter(), time.process_time()
    label = scene_label(info)
    write_label(info.label, label)
    geo = Georef.from_label(label)
    mask = (lab == int(Terrain.BRAIN_CORAL)).astype(np.uint8)
    mask[lab == NODATA] = NODATA
    jobs = [(info.mask, mask)]
    if info.classes is not None:
        jobs.append((info.classes, lab))
        sidecar = info.classes.with_suffix(".json")
        with atomic_output(sidecar) as tmp:
            tmp.write_text(
                json.dumps({"classes": class_table(), "raster": info.classes.name}, indent=2)
            )

    def one(job: tuple[Path, np.ndarray]) -> None:
        write_geotiff(
            job[0],
            job[1],
            crs=geo.crs,
            transform=geo.transform,
            nodata=NODATA,
            resampling="nearest",
        )

    # GDAL's deflate is single-threaded and releases the GIL: write both rasters at once
    with ThreadPoolExecutor(max_workers=max(1, min(threads, len(jobs)))) as pool:
        list(pool.map(one, jobs))
    del mask, jobs
    t["masks"] = time.perf_counter() - t0
    t["cpu_masks"] = time.process_time() - c0
    t1, c1 = time.perf_counter(), time.process_time()
    write_jp2(info.image, dn, bit_depth=10, numres=None, lossless=True, threads=threads)
    t["jp2"] = time.perf_counter() - t1
    t["cpu_jp2"] = time.process_time() - c1
    return t
