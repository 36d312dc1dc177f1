import pytest

from areoscan.errors import DataError
from areoscan.synth.classes import Terrain
from areoscan.synth.params import SceneParams


def test_same_seed_same_parameters_and_defaults_in_hirise_ranges():
    a = SceneParams.from_seed((100, 200), 42)
    assert a == SceneParams.from_seed((100, 200), 42)
    assert a != SceneParams.from_seed((100, 200), 43)
    assert 30 <= a.latitude <= 50 and 40 <= a.incidence <= 65 and 200 <= a.sun_azimuth <= 300
    assert all(5.0 <= lam <= 18.0 for lam in a.coral_wavelength)


def test_new_parameters_are_drawn_last_so_old_seeds_keep_their_values():
    # values drawn by the version before the TARS kind existed (numpy's PCG64 is portable)
    p = SceneParams.from_seed((100, 200), 42)
    assert p.coral_wavelength == pytest.approx((12.513942616939586, 10.576620373917063))
    assert p.dune_wavelength == pytest.approx((65.36481486000798, 29.00458174908711))
    assert p.stripe == pytest.approx(0.002515079060970718)
    assert int(Terrain.TARS) not in p.kinds and 8.0 <= p.tar_wavelength <= 30.0


def test_explicit_values_win_and_kinds_are_restricted():
    p = SceneParams.from_seed(
        (64, 64),
        1,
        0.5,
        0.4,
        sun_azimuth=90,
        incidence=30,
        latitude=-40,
        longitude=-10,
        kinds=["dunes", "brain_coral"],
    )
    assert (p.sun_azimuth, p.incidence, p.latitude, p.longitude) == (90, 30, -40, 350)
    assert p.kinds == (int(Terrain.DUNES),)
    assert p.to_json()["kinds"] == ["dunes"]


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(size=(8, 8)),
        dict(scale=0.0),
        dict(coral_fraction=1.5),
        dict(incidence=95.0),
        dict(latitude=89.0),
    ],
)
def test_bad_values_raise_data_error(kwargs):
    args = dict(size=(64, 64), seed=1)
    args.update(kwargs)
    with pytest.raises(DataError):
        SceneParams.from_seed(**args)
