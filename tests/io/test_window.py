"""The one Window type: a dataclass that still unpacks like (row, col, height, width)."""

import numpy as np

from areoscan.io.window import Window
from areoscan.tiling import Window as TilingWindow


def test_one_type_everywhere():
    assert TilingWindow is Window


def test_unpacks_and_converts():
    w = Window(1, 2, 3, 4)
    row, col, height, width = w
    assert (row, col, height, width) == w.as_tuple() == (1, 2, 3, 4)
    assert Window.of((1, 2, 3, 4)) == w and Window.of(w) is w
    assert Window.of(np.array([1, 2, 3, 4])) == w
    a = np.zeros((10, 10))
    assert a[w.slices].shape == (3, 4)
    assert w.intersect(Window(3, 5, 10, 10)) == Window(3, 5, 1, 1)
    assert w.intersect(Window(9, 9, 1, 1)) is None
