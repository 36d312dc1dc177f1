import numpy as np
import pytest

from areoscan.synth import DEFAULT_KINDS, EXTRA_KINDS, Terrain, render_array, render_patch
from areoscan.synth.params import SceneParams

NEW = [Terrain.KNOBBY, Terrain.LAYERED, Terrain.RIPPLES, Terrain.RIM_POLYGONS]


def test_new_negatives_are_extra_kinds_not_in_default_scenes():
    assert all(k in EXTRA_KINDS and k not in DEFAULT_KINDS for k in NEW)
    assert not set(map(int, NEW)) & set(SceneParams.from_seed((64, 64), 1).kinds)


@pytest.mark.parametrize("kind", NEW)
def test_each_negative_renders_textured_with_its_label(kind):
    img, lab = render_patch(kind, 192, scale=0.5, seed=3)
    flat, _ = render_patch("mantle", 192, scale=0.5, seed=3)
    assert (lab == int(kind)).mean() > 0.8 and not (lab == int(Terrain.BRAIN_CORAL)).any()
    # more relief than smooth mantle under the same sun
    assert np.abs(np.diff(img, axis=1)).mean() > 1.2 * np.abs(np.diff(flat, axis=1)).mean()
    again, _ = render_patch(kind, 192, scale=0.5, seed=3)
    assert np.array_equal(img, again)


def test_negatives_join_blocks_without_seams():
    kw = dict(
        scale=0.5,
        coral_fraction=0.2,
        threads=1,
        kinds=["knobby", "layered", "ripples", "rim_polygons"],
    )
    a, la, _ = render_array((320, 300), 9, block=96, **kw)
    b, lb, _ = render_array((320, 300), 9, block=512, **kw)
    diff = np.abs(a.astype(int) - b.astype(int))
    assert diff.max() <= 1 and (diff > 0).mean() < 0.01
    assert (la != lb).mean() < 1e-4
    assert {int(k) for k in NEW} & set(np.unique(la).tolist())
