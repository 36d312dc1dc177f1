"""Synthetic classifier tiles: ``synth:N`` (coral vs background, :func:`from_synth`, made as a
:class:`SynthMix` says) and ``synth-terrain:N`` (labelled by terrain kind, :func:`from_synth_terrain`).

Use :func:`areoscan.data.samples.load_source` for a ``--data`` spec; call these directly for a
synthetic set in code (tests, benchmarks).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from areoscan.data.sample_set import SampleSet, from_tiles
from areoscan.errors import DataError


def coral_tile_label(labels: np.ndarray, partial_min: float) -> int | None:
    """Screen label of a synthetic tile from its terrain labels: 1 when at least ``partial_min``
    of it is brain coral, 0 when none is, None (leave the tile out) in between."""
    from areoscan.synth import Terrain

    share = float((labels == Terrain.BRAIN_CORAL).mean())
    if share >= partial_min:
        return 1
    return 0 if share == 0.0 else None


@dataclass(frozen=True)
class SynthMix:
    """What ``synth:N`` tiles are made of.

    families: coral pattern families, taken in turn by the coral and mixed patches (``bandpass``,
    ``turing``, ``cells``; :mod:`areoscan.synth.families`). layout: where the coral of a mixed crop
    lies (``patches`` or ``regions``). extra_kinds: hard-negative kinds (slugs of
    ``areoscan.synth.EXTRA_KINDS``: tars, knobby, layered, ripples, rim_polygons) added to the
    background kinds of the background and mixed patches. The default is the mix every recipe so
    far was trained on (same tiles, same pixels).
    """

    families: tuple[str, ...] = ("bandpass",)
    layout: str = "patches"
    extra_kinds: tuple[str, ...] = ()


DEFAULT_MIX = SynthMix()  # what every recipe before issue 19 was trained on

_MIX_KEYS = {"families", "layout", "negatives"}


def parse_synth_spec(spec: str, default: SynthMix = DEFAULT_MIX) -> tuple[int, SynthMix]:
    """``synth:N`` or ``synth:N,KEY=A+B,...`` -> (N, the mix of these tiles).

    Use it to put several synthetic mixes in one training run, one ``synth:`` spec per mix (e.g.
    the shipped screen's band-pass patches beside turing and cells in large regions with hard
    negatives). Keys: ``families`` (``+``-separated), ``layout``, ``negatives`` (``+``-separated
    hard-negative kinds, or ``none``); a key left out keeps ``default`` (the ``--synth-*`` options).
    """
    from areoscan.synth.params import FAMILIES, LAYOUTS

    head, *options = spec.split(",")
    try:
        n = int(head.split(":", 1)[1])
    except (IndexError, ValueError):
        raise DataError(f"{spec}: expected synth:N with N a number of tiles") from None
    values = {"families": default.families, "layout": (default.layout,)}
    values["negatives"] = default.extra_kinds
    for opt in options:
        key, eq, value = opt.partition("=")
        if key not in _MIX_KEYS or not eq or not value:
            raise DataError(f"{spec}: expected KEY=VALUE with KEY one of {sorted(_MIX_KEYS)}")
        values[key] = tuple(v for v in value.split("+") if v != "none")
    fams, layout = values["families"], values["layout"]
    if not fams or not set(fams) <= set(FAMILIES) or len(layout) != 1 or layout[0] not in LAYOUTS:
        raise DataError(f"{spec}: families among {list(FAMILIES)}, one layout of {list(LAYOUTS)}")
    return n, SynthMix(values["families"], values["layout"][0], values["negatives"])


def from_synth(
    n: int,
    size: int,
    scale: float = 1.0,
    seed: int = 0,
    positive_share: float = 0.3,
    partial_share: float = 0.25,
    partial_min: float = 0.15,
    mix: SynthMix = SynthMix(),
) -> SampleSet:
    """About ``n`` synthetic tiles from :func:`areoscan.synth.render_patch`: ``brain_coral`` vs ``background``.

    Patches of 2x2 tiles are rendered at once (4x cheaper per tile) and cut into 4 tiles that share a
    group. ``positive_share`` of the patches are all coral (partly mantled, as generated);
    ``partial_share`` are mixed-scene crops holding 15-60 % coral, whose tiles are ``brain_coral``
    when at least ``partial_min`` of their pixels are coral, ``background`` when none are, and
    left out in between: a screen must flag the partly covered tiles at a patch's edge, since the
    segmenter only sees flagged tiles. The rest cycle through every background kind (``mix``'s
    hard negatives included) and coral-free mixed crops.
    """
    try:
        from areoscan.synth import BACKGROUNDS, Terrain, render_patch
    except ImportError as exc:
        raise DataError(f"synth:{n}: areoscan.synth is not available ({exc})") from None
    try:
        extra = [Terrain.parse(k) for k in mix.extra_kinds]
    except (KeyError, ValueError):
        raise DataError(f"unknown synthetic terrain kind in {list(mix.extra_kinds)}") from None
    rng = np.random.default_rng(seed)
    tiles, labels, keys, groups = [], [], [], []
    kinds: list[Terrain | None] = [*BACKGROUNDS, *extra, None]
    mixed_kinds = [*BACKGROUNDS, *extra] if extra else None  # None: the defaults, same pixels
    for i in range((n + 3) // 4):
        s = int(rng.integers(0, 2**31 - 1))
        draw = rng.random()
        fam = mix.families[i % len(mix.families)]
        if draw < positive_share:
            img, lab = render_patch(Terrain.BRAIN_CORAL, 2 * size, scale, s, family=fam)
            slug = "brain_coral"
        elif draw < positive_share + partial_share:
            frac = float(rng.uniform(0.15, 0.6))
            img, lab = render_patch(
                None, 2 * size, scale, s, coral_fraction=frac, family=fam, layout=mix.layout,
                kinds=mixed_kinds,
            )  # fmt: skip
            slug = "partial"
        else:
            kind = kinds[i % len(kinds)]
            img, lab = render_patch(
                kind, 2 * size, scale, s, coral_fraction=0.0, family=fam, layout=mix.layout,
                kinds=mixed_kinds,
            )  # fmt: skip
            slug = getattr(kind, "slug", "mixed")
        name = f"synth/{slug}/{s}"
        for r in (0, size):
            for c in (0, size):
                label = coral_tile_label(lab[r : r + size, c : c + size], partial_min)
                if label is None:
                    continue  # a sliver of coral: neither a clear positive nor a negative
                tiles.append(img[r : r + size, c : c + size].astype(np.float32))
                labels.append(label)
                keys.append(f"{name}/{r}_{c}")
                groups.append(name)
    return from_tiles(tiles, labels, ["background", "brain_coral"], groups, keys, "synth", size)


def from_synth_terrain(
    n: int, size: int, scales: tuple[float, float] = (1.0, 6.0), seed: int = 0
) -> SampleSet:
    """About ``n`` synthetic tiles labelled with their terrain kind (7 classes: brain coral, mantle,
    rough, craters, dunes, polygons, boulders), at ground scales log-uniform in ``scales`` m/px.

    Use as a pretext task: pretrain a classifier on it, then fine-tune on real tiles with
    ``--init`` (exact labels for free; teaches craters, dunes and ridged textures).
    """
    try:
        from areoscan.synth import DEFAULT_KINDS, render_patch
    except ImportError as exc:
        raise DataError(f"synth-terrain:{n}: areoscan.synth is not available ({exc})") from None
    rng = np.random.default_rng(seed)
    kinds = list(DEFAULT_KINDS)  # the seven kinds the shipped recipe pretrained on
    tiles, labels, keys, groups = [], [], [], []
    for i in range((n + 3) // 4):
        s = int(rng.integers(0, 2**31 - 1))
        kind = kinds[i % len(kinds)]
        scale = float(np.exp(rng.uniform(np.log(scales[0]), np.log(scales[1]))))
        img, _ = render_patch(kind, 2 * size, scale=scale, seed=s)
        name = f"synth/{kind.slug}/{s}"
        for r in (0, size):
            for c in (0, size):
                tiles.append(img[r : r + size, c : c + size].astype(np.float32))
                labels.append(i % len(kinds))
                keys.append(f"{name}/{r}_{c}")
                groups.append(name)
    return from_tiles(tiles, labels, [k.slug for k in kinds], groups, keys, "synth-terrain", size)
