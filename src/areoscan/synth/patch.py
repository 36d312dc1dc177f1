"""In-memory synthetic patches and small scenes: training tiles on the fly, test fixtures.

Use :func:`render_patch` for one tile of a chosen terrain kind (or a mixed scene crop) as a
float image plus labels; use :func:`render_array` for a whole small scene (with its rotated
footprint) when you need the exact uint16 DN a scene file would hold, without writing files.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from areoscan.synth.blocks import BLOCK, render_into
from areoscan.synth.classes import Terrain
from areoscan.synth.layout import Layout
from areoscan.synth.params import SceneParams
from areoscan.synth.render import render_window


def render_array(
    size: tuple[int, int],
    seed: int,
    scale: float = 0.25,
    coral_fraction: float = 0.2,
    threads: int = 2,
    strip_rows: int | None = None,
    block: int = BLOCK,
    **kwargs: Any,
) -> tuple[np.ndarray, np.ndarray, SceneParams]:
    """A whole scene in memory: DN uint16 (0 = no data), classes uint8 (255 = no data), params.

    Identical to the pixels :func:`areoscan.synth.generate_scene` writes for the same arguments.
    Keyword arguments go to :meth:`SceneParams.from_seed` (sun_azimuth, incidence, kinds, ...).
    """
    p = SceneParams.from_seed(size, seed, scale, coral_fraction, **kwargs)
    lay = Layout.build(p)
    dn = np.empty((p.height, p.width), np.uint16)
    lab = np.empty((p.height, p.width), np.uint8)
    render_into(lay, dn, lab, strip_rows, threads, block)
    return dn, lab, p


def render_patch(
    kind: Terrain | str | int | None,
    size: int | tuple[int, int],
    scale: float = 1.0,
    seed: int = 0,
    sun_azimuth: float | None = None,
    incidence: float | None = None,
    coral_fraction: float = 0.2,
    family: str = "bandpass",
    layout: str = "patches",
    kinds: Iterable[Terrain | str | int] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """One tile: image float32 in [0, 1] (10-bit DN / 1023) and labels uint8 (Terrain ids).

    ``kind`` = a :class:`Terrain` (or its name) fills the tile with that kind (brain coral tiles
    are all coral, partly mantled in places); ``None`` gives a crop of a mixed scene with
    ``coral_fraction`` coral. No footprint: every pixel is data. Deterministic per seed;
    about 0.1 s for 256 x 256 px. ``family`` picks the coral pattern (see
    :mod:`areoscan.synth.families`), ``layout`` where the coral of a mixed crop lies (``patches``
    or ``regions``) and ``kinds`` the background kinds of a mixed crop (e.g. the defaults plus the
    hard negatives of ``EXTRA_KINDS``; None: the defaults).
    """
    h, w = (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))
    force = Terrain.parse(kind) if kind is not None else None
    frac = 1.0 if force is Terrain.BRAIN_CORAL else (0.0 if force is not None else coral_fraction)
    p = SceneParams.from_seed(
        (h, w),
        seed,
        scale,
        frac,
        sun_azimuth=sun_azimuth,
        incidence=incidence,
        footprint=False,
        family=family,
        layout=layout,
        kinds=kinds,
    )
    lay = Layout.build(p, force_kind=force)
    dn, lab = render_window(lay, (0, 0, h, w))
    return dn.astype(np.float32) * np.float32(1.0 / 1023.0), lab
