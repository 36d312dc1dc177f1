"""Synthetic HiRISE-like terrain with exact per-pixel labels.

Use :func:`render_patch` for in-memory training tiles, :func:`render_array` for small whole
scenes in memory (test fixtures), :func:`generate_scene` to write JP2 + label + masks, and
:func:`make_tiles` for labelled tile folders. Class ids are :class:`Terrain`; 255 is no data.
"""

from __future__ import annotations

from areoscan.synth.classes import (
    BACKGROUNDS,
    DEFAULT_KINDS,
    EXTRA_KINDS,
    NODATA,
    Terrain,
    class_table,
)
from areoscan.synth.params import SceneParams
from areoscan.synth.patch import render_array, render_patch
from areoscan.synth.scene import generate_scene
from areoscan.synth.sceneinfo import SceneInfo, scene_paths
from areoscan.synth.tiles import make_tiles

__all__ = [
    "BACKGROUNDS",
    "DEFAULT_KINDS",
    "EXTRA_KINDS",
    "NODATA",
    "SceneInfo",
    "SceneParams",
    "Terrain",
    "class_table",
    "generate_scene",
    "make_tiles",
    "render_array",
    "render_patch",
    "scene_paths",
]
