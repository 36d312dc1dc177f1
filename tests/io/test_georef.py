"""Georeference against values worked out by hand from the label keys (sphere formulas, no pyproj)."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from areoscan.io.georef import Georef, label_centred_on, local_radius_km, wrap_longitude
from areoscan.io.label import MapLabel

R_LOCAL_KM = 3394.8398133163  # local radius at 15° on the 3396.19 / 3376.2 km ellipsoid

EQUI = MapLabel(
    projection="EQUIRECTANGULAR",
    map_scale=0.5,
    center_latitude=15.0,
    center_longitude=180.0,
    line_projection_offset=1872006.5,
    sample_projection_offset=12278395.5,
    lines=67395,
    line_samples=19243,
    a_axis_radius=R_LOCAL_KM,
    b_axis_radius=R_LOCAL_KM,
    c_axis_radius=R_LOCAL_KM,
)

POLAR = MapLabel(
    projection="POLAR STEREOGRAPHIC",
    map_scale=0.5,
    center_latitude=-90.0,
    center_longitude=0.0,
    line_projection_offset=451137.5,
    sample_projection_offset=928570.5,
    lines=19574,
    line_samples=29208,
    a_axis_radius=3396.19,
    b_axis_radius=3396.19,
    c_axis_radius=3376.2,
)


def test_equirectangular_geotransform_matches_gdal() -> None:
    # GDAL's own expectation for this label (autotest pds, HiRISE offsets): x0 = -(S - 0.5) * scale
    g = Georef.from_label(EQUI)
    assert g.transform.to_gdal() == (-6139197.5, 0.5, 0.0, 936003.0, 0.0, -0.5)


def test_pixel_centres_are_half_a_pixel_in() -> None:
    g = Georef.from_label(EQUI)
    x, y = g.pixel_to_xy(0, 0)
    assert (x, y) == (-6139197.25, 936002.75)
    x, y = g.pixel_to_xy(10, 20, level=2)  # 4 m pixels from the same corner
    assert (x, y) == (-6139197.5 + 20.5 * 2.0, 936003.0 - 10.5 * 2.0)
    r, c = g.xy_to_pixel(-6139197.25, 936002.75)
    assert (r, c) == (0.0, 0.0)


def test_equirectangular_lonlat_by_hand() -> None:
    g = Georef.from_label(EQUI)
    rows = np.array([0, 1000, 67394])
    cols = np.array([0, 5000, 19242])
    lon, lat = g.pixel_to_lonlat(rows, cols)
    r_m = R_LOCAL_KM * 1000
    x = -(EQUI.sample_projection_offset - 0.5) * 0.5 + (cols + 0.5) * 0.5
    y = (EQUI.line_projection_offset - 0.5) * 0.5 - (rows + 0.5) * 0.5
    exp_lon = 180.0 + np.degrees(x / (r_m * math.cos(math.radians(15.0))))
    exp_lat = np.degrees(y / r_m)
    np.testing.assert_allclose(lon, exp_lon % 360, atol=1e-9)
    np.testing.assert_allclose(lat, exp_lat, atol=1e-9)
    # the label's own bounds lie on this grid (west edge 72.7318 E, north edge 15.7972 N)
    assert lon[0] == pytest.approx(72.7318, abs=1e-4)
    assert lat[0] == pytest.approx(15.7972, abs=1e-4)


def test_longitude_ranges() -> None:
    g = Georef.from_label(dataclasses.replace(EQUI, sample_projection_offset=-10_000_000.5))
    lon360, _ = g.pixel_to_lonlat(0, 0, lon_range=360)
    lon180, _ = g.pixel_to_lonlat(0, 0, lon_range=180)
    assert 180 < lon360 < 360
    assert lon180 == pytest.approx(lon360 - 360)
    np.testing.assert_allclose(
        wrap_longitude(np.array([-190.0, 370.0, 180.0]), 180), [170, 10, -180]
    )
    with pytest.raises(ValueError, match="lon_range"):
        wrap_longitude(np.array([1.0]), 90)


def test_lonlat_to_pixel_accepts_both_longitude_conventions() -> None:
    g = Georef.from_label(EQUI)
    r1, c1 = g.lonlat_to_pixel(72.8, 15.5)
    r2, c2 = g.lonlat_to_pixel(72.8 - 360, 15.5)
    assert (r1, c1) == pytest.approx((r2, c2))


def test_polar_stereographic_by_hand() -> None:
    # GDAL's PDS driver: planetocentric polar labels use a sphere of the polar radius (C_AXIS_RADIUS),
    # natural origin at the pole, k0 = 1. South-pole sphere formulas (Snyder 21-5/21-6):
    # x = 2 R tan(pi/4 + phi/2) sin(lon - lon0), y = 2 R tan(pi/4 + phi/2) cos(lon - lon0)
    g = Georef.from_label(POLAR)
    rows = np.array([0.0, 9786.0, 19573.0])
    cols = np.array([0.0, 14603.0, 29207.0])
    lon, lat = g.pixel_to_lonlat(rows, cols)
    x = -(POLAR.sample_projection_offset - 0.5) * 0.5 + (cols + 0.5) * 0.5
    y = (POLAR.line_projection_offset - 0.5) * 0.5 - (rows + 0.5) * 0.5
    r_m = 3376.2e3
    rho = np.hypot(x, y)
    exp_lat = np.degrees(2 * np.arctan(rho / (2 * r_m)) - math.pi / 2)
    exp_lon = np.degrees(np.arctan2(x, y)) % 360
    np.testing.assert_allclose(lat, exp_lat, atol=1e-9)
    np.testing.assert_allclose(lon, exp_lon, atol=1e-9)
    # and the forward formula from a chosen point
    x2, y2 = g.lonlat_to_xy(296.0, -81.4)
    k = 2 * r_m * math.tan(math.pi / 4 + math.radians(-81.4) / 2)
    assert x2 == pytest.approx(k * math.sin(math.radians(296.0)), abs=1e-6)
    assert y2 == pytest.approx(k * math.cos(math.radians(296.0)), abs=1e-6)


def test_north_polar_uses_north_formula() -> None:
    north = dataclasses.replace(POLAR, center_latitude=90.0)
    g = Georef.from_label(north)
    x, y = g.lonlat_to_xy(30.0, 80.0)
    k = 2 * 3376.2e3 * math.tan(math.pi / 4 - math.radians(80.0) / 2)
    assert x == pytest.approx(k * math.sin(math.radians(30.0)), abs=1e-6)
    assert y == pytest.approx(-k * math.cos(math.radians(30.0)), abs=1e-6)


def test_vectorised_round_trip() -> None:
    g = Georef.from_label(EQUI)
    rng = np.random.default_rng(3)
    rows = rng.uniform(0, EQUI.lines, 50)
    cols = rng.uniform(0, EQUI.line_samples, 50)
    lon, lat = g.pixel_to_lonlat(rows, cols)
    r2, c2 = g.lonlat_to_pixel(lon, lat)
    np.testing.assert_allclose(r2, rows, atol=1e-6)
    np.testing.assert_allclose(c2, cols, atol=1e-6)
    assert isinstance(g.pixel_to_lonlat(1, 2)[0], float)


def test_level_transforms_keep_the_corner() -> None:
    g = Georef.from_label(EQUI)
    t3 = g.transform_at(3)
    assert (t3.c, t3.f, t3.a, t3.e) == (-6139197.5, 936003.0, 4.0, -4.0)
    assert g.scale_at(3) == 4.0


def test_local_radius() -> None:
    assert local_radius_km(15.0) == pytest.approx(R_LOCAL_KM, abs=1e-9)
    assert local_radius_km(0.0) == pytest.approx(3396.19)
    assert local_radius_km(-90.0) == pytest.approx(3376.2)


@pytest.mark.parametrize(
    ("lat", "lon"), [(-35.2, 143.1), (42.0, 359.999), (3.0, 0.001), (-80.0, 296.0)]
)
def test_label_centred_on_puts_the_centre_there(lat: float, lon: float) -> None:
    lab = label_centred_on(lat, lon, 1000, 800, 0.25, product_id="ESP_000001_1000_RED")
    g = Georef.from_label(lab)
    c_lon, c_lat = g.pixel_to_lonlat(499.5, 399.5)
    assert c_lat == pytest.approx(lat, abs=1e-9)
    assert ((c_lon - lon + 180) % 360 - 180) == pytest.approx(0, abs=1e-9)
    assert lab.minimum_latitude < lat < lab.maximum_latitude
    if abs(lat) > 65:
        assert lab.projection == "POLAR STEREOGRAPHIC"
        assert lab.c_axis_radius == 3376.2
    else:
        assert lab.projection == "EQUIRECTANGULAR"
        assert lab.center_latitude == math.trunc(lat / 5) * 5
        assert lab.a_axis_radius == pytest.approx(local_radius_km(lab.center_latitude))
    # HiRISE-like: the image spans about 800 * 0.25 m east-west
    width_m = 800 * 0.25
    assert g.pixel_to_xy(0, 799)[0] - g.pixel_to_xy(0, 0)[0] == pytest.approx(width_m - 0.25)


def test_from_crs_transform() -> None:
    from affine import Affine

    g = Georef.from_crs_transform("+proj=eqc +R=3396190 +units=m", Affine(1, 0, 0, 0, -1, 0))
    lon, lat = g.pixel_to_lonlat(-0.5, -0.5 + 3396190 * math.pi / 180)
    assert (lon, lat) == pytest.approx((1.0, 0.0))
    assert g.projection_name().lower().startswith("equidistant")
