"""HiRISE-like crops with labelled object instances (craters, pits / skylights, boulders).

Use :func:`render_instance_crop` for one crop in memory (pixels + an :class:`AnnotationSet` image
with each object's exact mask, class and box) and :func:`make_instance_set` (``areoscan synth
instances``) to write a folder of crops + ``annotations.json`` (COCO, RLE masks) that ``train
detector --format coco`` reads: the synthetic pretraining set of the detectors, whose real pit
crops (``hirise-pits-boxes``) have boxes only and are few.

A crop is a fractal height field (undulations + roughness at a random slope) with the objects of
:mod:`areoscan.synth.objects` added, lit by a random sun (azimuth 0-360, incidence 40-75 degrees)
with cast shadows (:func:`~areoscan.synth.shading.shade`), then "printed" like the real crops: a
contrast stretch to a random background level (the real crops' means run from 101 to 243 DN,
5th-95th percentile of 173 crops), slight blur, Gaussian noise and a random share of dark specks,
8-bit (docs/synth.md).
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import ndimage

from areoscan.annotations.coco_out import write_coco
from areoscan.annotations.model import AnnotatedImage, AnnotationSet, Instance, box_of_mask
from areoscan.errors import DataError
from areoscan.io.atomic import atomic_output
from areoscan.io.tilefile import write_tile_png
from areoscan.io.writers import write_jp2
from areoscan.synth.instance_config import InstanceConfig
from areoscan.synth.noise import PowerLaw, band_field
from areoscan.synth.objects import SynthObject, draw_object, footprint, place_objects
from areoscan.synth.shading import shade, shadow_margin


@dataclass
class Crop:
    """One rendered crop: 8-bit ``pixels``, its ``objects``, exact ``masks`` (one per object,
    same order) and the scene's sun ``sun_azimuth`` / ``incidence`` (degrees)."""

    pixels: np.ndarray
    objects: list[SynthObject]
    masks: list[np.ndarray]
    sun_azimuth: float
    incidence: float
    extra: dict[str, float] = field(default_factory=dict)


def _terrain(size: int, pad: int, scale: float, seed: int, rng: np.random.Generator) -> np.ndarray:
    """Fractal ground (undulations + roughness) of a random rms slope, ``size + 2 pad`` square."""
    n = size + 2 * pad
    window = (0, 0, n, n)
    big, rough = band_field(seed, 0, window, scale, [PowerLaw(3.4, 8.0 * scale, n * scale),
                                                      PowerLaw(2.6, 1.5 * scale, 12.0 * scale)])  # fmt: skip
    out = []
    for field_, slope_deg in ((big, rng.uniform(2.0, 9.0)), (rough, rng.uniform(1.0, 6.0))):
        gy, gx = np.gradient(field_, scale)
        rms = float(np.sqrt(np.mean(gx * gx + gy * gy))) or 1.0
        out.append(field_ * np.float32(math.tan(math.radians(slope_deg)) / rms))
    return (out[0] + out[1]).astype(np.float32)


def _albedo(size: int, pad: int, scale: float, seed: int, rng: np.random.Generator) -> np.ndarray:
    """Smooth albedo variation (dust, mantle patches) around 1."""
    n = size + 2 * pad
    (f,) = band_field(seed, 1, (0, 0, n, n), scale, [PowerLaw(3.0, 16.0 * scale, n * scale)])
    return (1.0 + float(rng.uniform(0.02, 0.12)) * np.clip(f, -3.0, 3.0)).astype(np.float32)


def _print(radiance: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Radiance -> 8-bit DN like the real crops: stretch, blur, noise, dark specks."""
    med = float(np.median(radiance))
    lo, hi = (float(v) for v in np.percentile(radiance, (0.5, 99.5)))
    level = float(rng.uniform(95.0, 240.0))
    span = float(rng.uniform(110.0, 320.0))
    dn = level + (radiance - med) / max(hi - lo, 1e-6) * span
    dn = ndimage.gaussian_filter(dn, float(rng.uniform(0.3, 0.9)))
    dn = dn + rng.normal(0.0, float(rng.uniform(1.5, 8.0)), dn.shape)
    specks = rng.random(dn.shape) < float(rng.uniform(0.0, 0.05)) * float(rng.random() < 0.7)
    dn[specks] = rng.uniform(0.0, 60.0, int(specks.sum()))
    return np.clip(np.rint(dn), 0, 255).astype(np.uint8)


def render_instance_crop(cfg: InstanceConfig, seed: int) -> Crop:
    """One crop (deterministic per ``seed``): pixels, objects and their exact masks."""
    rng = np.random.default_rng(seed)
    size, scale = cfg.size, cfg.scale
    azimuth, incidence = float(rng.uniform(0.0, 360.0)), float(rng.uniform(40.0, 75.0))
    objects = place_objects(size, cfg.classes, rng, scale)
    tallest = max((abs(o.height) for o in objects), default=0.0)
    shadow = int(min(size, math.ceil(tallest * math.tan(math.radians(incidence)) / scale) + 4))
    pad = shadow_margin(azimuth, shadow) + 1
    height = _terrain(size, pad, scale, seed, rng)
    albedo = _albedo(size, pad, scale, seed, rng)
    for obj in objects:
        draw_object(obj, height, albedo, pad, scale)
    sky = float(rng.uniform(0.06, 0.22))
    radiance = shade(height, scale, azimuth, incidence, albedo, sky=sky, shadow_px=shadow,
                     keep=(pad - 1, pad - 1, size, size))  # fmt: skip
    masks = [footprint(o, (size, size)) for o in objects]
    return Crop(_print(radiance, rng), objects, masks, azimuth, incidence, {"sky": sky})


def crop_annotations(crop: Crop, path: Path, group: str) -> AnnotatedImage:
    """The crop as an :class:`AnnotatedImage` (class, exact mask, tight box, shape attributes)."""
    size = crop.pixels.shape[0]
    instances = []
    for obj, mask in zip(crop.objects, crop.masks, strict=True):
        box = box_of_mask(mask)
        if box is None:
            continue
        attrs = {"variant": obj.variant, "diameter_px": round(2.0 * obj.a, 2)} if obj.variant else {
            "diameter_px": round(2.0 * obj.a, 2)}  # fmt: skip
        instances.append(Instance(obj.kind, box, mask, attributes=attrs))
    return AnnotatedImage(path, size, size, instances, group)


def make_instance_set(out_dir: str | Path, n: int, cfg: InstanceConfig, seed: int) -> AnnotationSet:
    """Write ``n`` crops to ``out_dir/images`` + ``out_dir/annotations.json`` (COCO, RLE) +
    ``out_dir/scenes.csv`` (sun and counts per crop); return the annotations.

    Crop k uses seed ``(seed, k)``, so a set is reproducible and a larger set extends a smaller
    one. Each crop is its own image group.
    """
    cfg.check()
    if n < 1:
        raise DataError(f"--n must be at least 1, not {n}")
    out = Path(out_dir)
    (out / "images").mkdir(parents=True, exist_ok=True)
    images, rows = [], []
    for k in range(n):
        crop_seed = int(np.random.SeedSequence([seed, k]).generate_state(1)[0])
        crop = render_instance_crop(cfg, crop_seed)
        path = out / "images" / f"crop_{k:05d}.{cfg.image_format}"
        _write_image(path, crop.pixels)
        img = crop_annotations(crop, path, group=path.stem)
        images.append(img)
        counts = {c: sum(i.label == c for i in img.instances) for c in cfg.classes}
        rows.append({"file": f"images/{path.name}", "seed": crop_seed,
                     "sun_azimuth": round(crop.sun_azimuth, 2),
                     "incidence": round(crop.incidence, 2), **counts})  # fmt: skip
    ann = AnnotationSet(list(cfg.classes), images)
    write_coco(ann, out / "annotations.json")
    _write_csv(out / "scenes.csv", rows)
    return ann


def _write_image(path: Path, pixels: np.ndarray) -> None:
    if path.suffix == ".jp2":
        write_jp2(path, pixels, bit_depth=8, threads=1)
        return
    with atomic_output(path) as tmp:
        write_tile_png(tmp, pixels, bits=8)


def _write_csv(path: Path, rows: list[dict[str, object]]) -> None:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    with atomic_output(path) as tmp:
        tmp.write_text(buf.getvalue())
