import numpy as np
import pytest
from scipy import ndimage

from areoscan.synth import render_array
from areoscan.synth.layout import Layout
from areoscan.synth.params import SceneParams


def _coral_regions(layout: str, seed: int, frac: float) -> tuple[float, float]:
    """(coral fraction inside the footprint, share of the coral in its 3 largest regions)."""
    lay = Layout.build(SceneParams.from_seed((6000, 2400), seed, 0.5, frac, layout=layout))
    inside = lay._coarse_footprint(*lay.fields["coral"].shape)
    mask = (lay.fields["coral"] > 0) & inside
    lab, n = ndimage.label(mask)
    sizes = np.sort(np.bincount(lab.ravel())[1:])[::-1]
    return float(mask.sum() / inside.sum()), float(sizes[:3].sum() / mask.sum())


@pytest.mark.parametrize("frac", [0.12, 0.3, 0.48])
def test_regions_layout_is_few_large_regions_at_the_target_fraction(frac):
    for seed in (1, 2):
        f_reg, top3_reg = _coral_regions("regions", seed, frac)
        f_pat, top3_pat = _coral_regions("patches", seed, frac)
        assert abs(f_reg - frac) < 0.02 and abs(f_pat - frac) < 0.02
        assert top3_reg > 0.6 and top3_reg > top3_pat


def test_regions_layout_renders_exact_masks():
    dn, lab, p = render_array((256, 320), 3, scale=0.5, coral_fraction=0.3, layout="regions")
    assert p.coral_layout == "regions"
    inside = lab != 255
    assert np.array_equal(dn == 0, ~inside)
    assert 0.15 < (lab[inside] == 1).mean() < 0.45
