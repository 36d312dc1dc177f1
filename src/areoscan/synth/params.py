"""Every random choice of a synthetic scene, drawn once from its seed (JSON-serialisable).

Use :meth:`SceneParams.from_seed` to get the parameters of a scene; pass explicit values to pin
any of them (sun angles, latitude, coral fraction, which terrain kinds appear). Two scenes with
the same parameters are pixel-identical whatever strip height or thread count renders them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from areoscan.errors import DataError
from areoscan.synth.classes import BACKGROUNDS, Terrain

#: Brain coral pattern families (:mod:`areoscan.synth.families`); the first is the default.
FAMILIES: tuple[str, ...] = ("bandpass", "turing", "cells")
#: Coral layouts: ``patches`` (many patches, the default) or ``regions`` (few large ones).
LAYOUTS: tuple[str, ...] = ("patches", "regions")
FAMILY_WAVELENGTH_M = (2.0, 25.0)  # ridge spacing range of the non-default families
MIN_PX_PER_WAVELENGTH = 5.0  # shorter wavelengths are not resolved at the scene's scale


@dataclass(frozen=True)
class FamilyParams:
    """Pattern parameters of the non-default coral families (drawn from their own stream).

    Use :meth:`draw`; the default family (``bandpass``) keeps its own fields in
    :class:`SceneParams` and has none of these.
    """

    wavelength: float  #: ridge spacing (m), log-uniform in FAMILY_WAVELENGTH_M
    relief: float  #: ridge amplitude as a fraction of the wavelength (faint 0.02 .. bold 0.12)
    closure: float  #: 0 open meanders .. 1 closed cells
    sharp: float  #: steepness of ridge walls (tanh gain)
    theta: float  #: preferred direction (radians)
    aniso: float  #: elongation along theta (0 none)
    burial: float  #: how far troughs are filled by a smooth mantle (0..0.7 of the relief)
    erosion: float  #: how much ridge crests are broken down (0..0.6)
    dust: float  #: extra uniform mantling that softens walls (0..0.3)

    @classmethod
    def draw(cls, seed: int, scale: float) -> FamilyParams:
        """Parameters of ``seed`` (a stream separate from :meth:`SceneParams.from_seed`'s)."""
        rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, 19, int(seed) >> 32])
        lo, hi = FAMILY_WAVELENGTH_M
        lam = float(math.exp(rng.uniform(math.log(lo), math.log(hi))))
        return cls(
            wavelength=max(lam, MIN_PX_PER_WAVELENGTH * scale),
            relief=float(math.exp(rng.uniform(math.log(0.02), math.log(0.12)))),
            closure=float(rng.uniform(0.0, 1.0)),
            sharp=float(rng.uniform(1.0, 3.0)),
            theta=float(rng.uniform(0.0, math.pi)),
            aniso=float(rng.uniform(0.0, 0.6)),
            burial=float(rng.uniform(0.0, 0.7)),
            erosion=float(rng.uniform(0.0, 0.6)),
            dust=float(rng.uniform(0.0, 0.3)),
        )


@dataclass(frozen=True)
class SceneParams:
    """Parameters of one synthetic scene. Lengths in metres unless the name says ``px``."""

    height: int  #: image rows (level 0)
    width: int  #: image columns (level 0)
    scale: float  #: metres per pixel (HiRISE RDRs: 0.25 or 0.5)
    seed: int  #: the one number everything below was drawn from
    coral_fraction: float  #: target fraction of the footprint covered by brain coral (0..1)
    sun_azimuth: float  #: degrees clockwise from north, towards the sun
    incidence: float  #: solar incidence angle, degrees from the zenith
    latitude: float  #: planetocentric latitude of the scene centre, degrees north
    longitude: float  #: east longitude of the scene centre, degrees 0..360
    rotation: float  #: footprint rotation (degrees): the strip's long axis vs image columns
    footprint: bool  #: False: the whole raster is data (tiles, patches)
    kinds: tuple[int, ...]  #: background kinds that may appear (Terrain ids)
    kind_bias: tuple[float, ...]  #: log-weight of each kind in ``kinds`` (larger: more area)
    region_m: float  #: size of background regions (wavelength of the partition noise)
    coral_patch_m: float  #: size of brain coral patches
    coral_wavelength: tuple[float, float]  #: dominant ridge spacing of the two coral fields
    coral_theta: tuple[float, float]  #: preferred ridge directions (radians)
    coral_aniso: tuple[float, float]  #: how strongly each field prefers its direction (0..1)
    coral_relief: float  #: ridge amplitude as a fraction of the wavelength
    coral_sharp: float  #: steepness of ridge walls (tanh gain)
    coral_bias: float  #: >0 narrower ridges / wider troughs
    dune_wavelength: tuple[float, float]  #: dunes, ripples
    dune_theta: tuple[float, float]  #: crest-normal directions (radians)
    polygon_m: float  #: polygon size of patterned ground
    crater_k: float  #: cumulative crater density N(>D) = k D^-2 per m^2 (background)
    dn_mean: float  #: mean DN of flat ground at albedo 1
    dn_contrast: float  #: DN per unit radiance change
    noise_dn: float  #: detector read noise (DN)
    stripe: float  #: relative column-gain noise (along-track striping)
    extras: dict[str, Any] = field(default_factory=dict)
    tar_wavelength: float = 15.0  #: crest spacing of transverse aeolian ridges (TARS kind)
    tar_theta: float = 0.0  #: their crest-normal direction (radians)
    coral_family: str = "bandpass"  #: pattern family of the coral (FAMILIES)
    family: FamilyParams | None = None  #: its parameters (None for ``bandpass``)
    coral_layout: str = "patches"  #: where the coral is (LAYOUTS)

    @classmethod
    def from_seed(
        cls,
        size: tuple[int, int],
        seed: int,
        scale: float = 0.25,
        coral_fraction: float = 0.2,
        sun_azimuth: float | None = None,
        incidence: float | None = None,
        latitude: float | None = None,
        longitude: float | None = None,
        kinds: Iterable[Terrain | str | int] | None = None,
        footprint: bool = True,
        family: str = "bandpass",
        layout: str = "patches",
    ) -> SceneParams:
        """Draw every unspecified parameter from ``seed``; validate the explicit ones.

        ``family`` picks the coral pattern (FAMILIES) and ``layout`` where the coral is
        (LAYOUTS); the defaults give the same parameters and pixels as before they existed.
        """
        h, w = int(size[0]), int(size[1])
        if h < 16 or w < 16:
            raise DataError(f"scene size {h}x{w} is too small: use at least 16x16 pixels")
        if not (0.05 <= scale <= 10.0):
            raise DataError(f"scale {scale} m/px is out of range: use 0.05..10 (HiRISE: 0.25, 0.5)")
        if not (0.0 <= coral_fraction <= 1.0):
            raise DataError(f"coral fraction {coral_fraction} must be within 0..1")
        if incidence is not None and not (0.0 <= incidence < 89.0):
            raise DataError(f"incidence {incidence} degrees must be within 0..89")
        if latitude is not None and not (-85.0 <= latitude <= 85.0):
            raise DataError(f"latitude {latitude} must be within -85..85 (equirectangular labels)")
        if family not in FAMILIES:
            raise DataError(f"unknown coral family {family!r}: use one of {', '.join(FAMILIES)}")
        if layout not in LAYOUTS:
            raise DataError(f"unknown coral layout {layout!r}: use one of {', '.join(LAYOUTS)}")
        rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, 7, int(seed) >> 32])
        bg = tuple(sorted({int(Terrain.parse(k)) for k in kinds})) if kinds is not None else None
        if bg is not None:
            bg = tuple(k for k in bg if k != Terrain.BRAIN_CORAL) or (int(Terrain.MANTLE),)
        else:
            bg = tuple(int(k) for k in BACKGROUNDS)
        bias = tuple(float(x) for x in rng.normal(0.0, 0.6, len(bg)))
        # mantle is the commonest surface at brain-coral latitudes
        bias = tuple(
            b + (0.8 if k == Terrain.MANTLE else 0.0) for k, b in zip(bg, bias, strict=True)
        )
        extent = min(h, w) * scale
        lam1 = float(rng.uniform(10.0, 19.0))
        lam2 = float(np.clip(lam1 * rng.uniform(0.75, 1.3), 8.0, 22.0))
        th = float(rng.uniform(0, math.pi))
        return cls(
            height=h,
            width=w,
            scale=float(scale),
            seed=int(seed),
            coral_fraction=float(coral_fraction),
            sun_azimuth=float(sun_azimuth if sun_azimuth is not None else rng.uniform(200, 300))
            % 360.0,
            incidence=float(incidence if incidence is not None else rng.uniform(40.0, 65.0)),
            latitude=float(latitude if latitude is not None else rng.uniform(30.0, 50.0)),
            longitude=float(longitude if longitude is not None else rng.uniform(0.0, 360.0))
            % 360.0,
            rotation=float(rng.uniform(3.0, 9.0) * rng.choice([-1.0, 1.0])),
            footprint=bool(footprint),
            kinds=bg,
            kind_bias=bias,
            region_m=float(np.clip(extent / 3.0, 150.0, 700.0) * rng.uniform(0.7, 1.3)),
            coral_patch_m=float(np.clip(extent / 2.0, 200.0, 700.0) * rng.uniform(0.7, 1.3)),
            coral_wavelength=(lam1, lam2),
            coral_theta=(th, th + float(rng.uniform(0.5, 2.6))),
            coral_aniso=(float(rng.uniform(0.0, 0.6)), float(rng.uniform(0.0, 0.6))),
            coral_relief=float(rng.uniform(0.05, 0.09)),
            coral_sharp=float(rng.uniform(0.9, 1.8)),
            coral_bias=float(rng.uniform(-0.2, 0.4)),
            dune_wavelength=(float(rng.uniform(40.0, 120.0)), float(rng.uniform(8.0, 30.0))),
            dune_theta=(float(rng.uniform(0, math.pi)), float(rng.uniform(0, math.pi))),
            polygon_m=float(rng.uniform(8.0, 22.0)),
            crater_k=float(10 ** rng.uniform(-2.6, -2.0)),
            dn_mean=float(rng.uniform(380.0, 620.0)),
            dn_contrast=float(rng.uniform(140.0, 260.0)),
            noise_dn=float(rng.uniform(1.0, 2.5)),
            stripe=float(rng.uniform(0.001, 0.004)),
            # drawn last: scenes of earlier versions keep every other parameter
            tar_wavelength=float(rng.uniform(8.0, 30.0)),
            tar_theta=float(rng.uniform(0, math.pi)),
            coral_family=family,
            family=None if family == FAMILIES[0] else FamilyParams.draw(seed, scale),
            coral_layout=layout,
        )

    def to_json(self) -> dict[str, Any]:
        """A plain dict (tuples become lists) for the scene's JSON sidecar."""
        d = asdict(self)
        d["kinds"] = [Terrain(k).slug for k in self.kinds]
        return d
