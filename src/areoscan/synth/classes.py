"""Terrain classes of synthetic scenes: the ids written to the multi-class label raster.

Use :class:`Terrain` wherever a class id is needed; ``NODATA`` (255) marks pixels outside the
image footprint in both the binary mask and the multi-class raster (it is not a class).
"""

from __future__ import annotations

from enum import IntEnum

NODATA = 255


class Terrain(IntEnum):
    """Terrain kinds, one value per kind in the multi-class label raster (0 is unused)."""

    BRAIN_CORAL = 1
    MANTLE = 2
    ROUGH = 3
    CRATERS = 4
    DUNES = 5
    POLYGONS = 6
    BOULDERS = 7
    TARS = 8  #: transverse aeolian ridges: only in scenes that ask for them (see ``EXTRA_KINDS``)
    KNOBBY = 9  #: knobs and small mesas (hard negative; only when asked for)
    LAYERED = 10  #: terraced layered deposits (hard negative; only when asked for)
    RIPPLES = 11  #: crossing ripple trains at 2-9 m (hard negative; only when asked for)
    RIM_POLYGONS = 12  #: low-centred polygons with raised rims (hard negative; only when asked for)

    @property
    def slug(self) -> str:
        """Lower-case name used for folders and JSON keys (``brain_coral``)."""
        return self.name.lower()

    @classmethod
    def parse(cls, value: Terrain | str | int) -> Terrain:
        """Accept a Terrain, its id, or its name in any case (``"brain-coral"`` works too)."""
        if isinstance(value, Terrain):
            return value
        if isinstance(value, int):
            return cls(value)
        key = str(value).strip().upper().replace("-", "_").replace(" ", "_")
        if key.isdigit():
            return cls(int(key))
        if key == "CORAL":
            key = "BRAIN_CORAL"
        return cls[key]


BACKGROUNDS: tuple[Terrain, ...] = (
    Terrain.MANTLE,
    Terrain.ROUGH,
    Terrain.CRATERS,
    Terrain.DUNES,
    Terrain.POLYGONS,
    Terrain.BOULDERS,
)
#: The kinds of labelled tile sets and the terrain pretext task when none are named: brain coral
#: and the default backgrounds (what every recipe so far was trained on).
DEFAULT_KINDS: tuple[Terrain, ...] = (Terrain.BRAIN_CORAL, *BACKGROUNDS)
#: Kinds a scene has only when asked for by name (``kinds=``): adding them to the default mix
#: would change every existing seed's pixels. TARS are parallel bright ridges at the coral's
#: spacing, the hard negative for a brain-coral model; KNOBBY, LAYERED, RIPPLES and RIM_POLYGONS are more hard
#: negatives (:mod:`areoscan.synth.negatives`).
EXTRA_KINDS: tuple[Terrain, ...] = (
    Terrain.TARS,
    Terrain.KNOBBY,
    Terrain.LAYERED,
    Terrain.RIPPLES,
    Terrain.RIM_POLYGONS,
)


def class_table() -> dict[str, int]:
    """Class name -> id, plus ``"nodata": 255``; written beside every label raster."""
    table = {t.slug: int(t) for t in Terrain}
    table["nodata"] = NODATA
    return table
