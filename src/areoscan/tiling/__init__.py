"""Tile grids, level mapping and blending: how every stage walks an image."""

from areoscan.tiling.blend import Blender, blend_weights
from areoscan.tiling.grid import TileGrid, Window, level_for_scale, window_between_levels

__all__ = [
    "Blender",
    "TileGrid",
    "Window",
    "blend_weights",
    "level_for_scale",
    "window_between_levels",
]
