"""What a synthetic scene is on disk: its files, its description, its observation id.

Use :func:`scene_paths` for the files of a scene written at a path, :class:`SceneInfo` for what
:func:`~areoscan.synth.generate_scene` wrote and measured (:mod:`areoscan.synth.writers` saves it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from areoscan import __version__
from areoscan.synth.classes import NODATA, class_table
from areoscan.synth.params import SceneParams


@dataclass
class SceneInfo:
    """What :func:`generate_scene` wrote and measured (also saved as ``OUT.json``)."""

    image: Path
    label: Path
    mask: Path
    classes: Path | None
    description: Path
    params: SceneParams
    observation_id: str
    coral_fraction: float  #: measured fraction of footprint pixels labelled brain coral
    footprint_fraction: float  #: fraction of the raster inside the footprint
    class_fractions: dict[str, float] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The JSON description written beside the image."""
        p = self.params
        return {
            "areoscan_version": __version__,
            "kind": "synthetic HiRISE-like scene",
            "observation_id": self.observation_id,
            "files": {
                "image": self.image.name,
                "label": self.label.name,
                "mask": self.mask.name,
                "classes": self.classes.name if self.classes else None,
            },
            "seed": p.seed,
            "size": [p.height, p.width],
            "scale_m_per_px": p.scale,
            "sun_azimuth_deg": p.sun_azimuth,
            "sun_azimuth_convention": "clockwise from north (image up), towards the sun",
            "incidence_deg": p.incidence,
            "latitude": p.latitude,
            "longitude_east": p.longitude,
            "coral_family": p.coral_family,
            "coral_layout": p.coral_layout,
            "coral_fraction_target": p.coral_fraction,
            "coral_fraction": self.coral_fraction,
            "footprint_fraction": self.footprint_fraction,
            "class_fractions": self.class_fractions,
            "class_table": class_table(),
            "mask_values": {"background": 0, "brain_coral": 1, "nodata": NODATA},
            "seconds": self.seconds,
            "params": p.to_json(),
        }


def scene_paths(out_path: str | Path) -> dict[str, Path]:
    """Files of a scene written at ``out_path`` (``X.JP2`` -> ``X.LBL``, ``X_mask.tif``, ...)."""
    out = Path(out_path)
    stem = out.with_suffix("")
    lbl = ".LBL" if out.suffix.isupper() else ".lbl"
    return {
        "image": out,
        "label": out.with_suffix(lbl),
        "mask": Path(f"{stem}_mask.tif"),
        "classes": Path(f"{stem}_classes.tif"),
        "classes_json": Path(f"{stem}_classes.json"),
        "description": Path(f"{stem}.json"),
    }


def observation_id_for(seed: int, latitude: float) -> str:
    """A HiRISE-shaped id for a synthetic scene: ``SYN_<seed>_<lat code>`` (lat code as ESP_)."""
    code = int(round(1800 + 10 * latitude)) % 10000
    return f"SYN_{seed % 1_000_000:06d}_{code:04d}"
