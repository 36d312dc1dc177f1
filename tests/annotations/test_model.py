"""The in-memory form's helpers: the ellipse a box implies."""

import numpy as np

from areoscan.annotations import box_ellipse, box_of_mask


def test_box_ellipse_is_inscribed_in_its_box():
    mask = box_ellipse((10.0, 20.0, 50.0, 40.0), 60, 70)
    assert mask.shape == (60, 70) and mask.dtype == bool
    assert box_of_mask(mask) == (10.0, 20.0, 50.0, 40.0)
    assert abs(mask.sum() / (40 * 20) - np.pi / 4) < 0.03  # an ellipse fills pi/4 of its box
    yy, xx = np.mgrid[0:60, 0:70] + 0.5  # the same rule over the whole frame
    assert np.array_equal(mask, ((xx - 30) / 20) ** 2 + ((yy - 30) / 10) ** 2 <= 1)


def test_box_ellipse_clips_at_the_frame_and_keeps_tiny_boxes():
    edge = box_ellipse((-10.0, -10.0, 10.0, 10.0), 30, 30)
    assert edge[:10, :10].sum() > 0 and edge[10:].sum() == 0 and edge[:, 10:].sum() == 0
    assert box_ellipse((5.0, 5.0, 6.0, 6.0), 10, 10).sum() == 1  # a one-pixel box: its pixel
    assert box_ellipse((40.0, 40.0, 50.0, 50.0), 10, 10).sum() == 0  # outside the frame
