import numpy as np

from areoscan.synth.shading import cast_shadow, shade, shadow_margin, shadow_offsets, sun_vector


def test_sun_vector_is_unit_and_points_up():
    v = sun_vector(270.0, 60.0)
    assert abs(np.linalg.norm(v) - 1) < 1e-9 and v[2] > 0 and v[0] < 0  # sun in the west


def test_flat_ground_has_unit_radiance_times_albedo():
    rad = shade(np.zeros((20, 30), np.float32), 0.5, 250.0, 50.0, albedo=0.8, sky=0.2, shadow_px=8)
    assert rad.shape == (18, 28)
    assert np.allclose(rad, 0.8, atol=1e-5)


def test_slope_facing_the_sun_is_brighter():
    x = np.arange(40, dtype=np.float32) * 0.5
    east_up = np.tile(x * 0.3, (20, 1))  # rises to the east
    west_sun = shade(east_up, 0.5, 270.0, 60.0, shadow_px=0).mean()
    east_sun = shade(east_up, 0.5, 90.0, 60.0, shadow_px=0).mean()
    assert east_sun < 1.0 < west_sun


def test_wall_casts_a_shadow_down_sun_of_the_right_length():
    h = np.zeros((9, 80), np.float32)
    h[:, 20] = 2.0  # 2 m wall, 0.5 m pixels, sun in the west at 45 degrees elevation
    sh = cast_shadow(h, 0.5, 270.0, 45.0, max_px=16)
    row = sh[4]
    assert row[21:23].min() > 0.99  # right behind the wall
    assert row[30:].max() < 0.01  # beyond 2 m / tan(45) = 4 px, plus the penumbra
    assert row[:20].max() == 0.0  # nothing up-sun


def test_shadow_offsets_follow_the_sun_and_margin_covers_them():
    steps = shadow_offsets(90.0, 16)
    total = np.sum(steps, axis=0)
    assert total[0] == 0 and total[1] > 0  # east: columns grow
    assert shadow_margin(90.0, 16) >= total[1]


def test_shading_a_window_matches_the_larger_render_in_its_core():
    rng = np.random.default_rng(0)
    h = rng.normal(0, 0.3, (120, 140)).astype(np.float32)
    full = shade(h, 0.5, 230.0, 60.0, shadow_px=8)
    m = shadow_margin(230.0, 8)
    part = shade(h[30 - m : 90 + m, 40 - m : 100 + m], 0.5, 230.0, 60.0, shadow_px=8)
    assert np.allclose(part[m - 1 : m - 1 + 60, m - 1 : m - 1 + 60], full[29:89, 39:99], atol=1e-6)


def test_keep_computes_a_part_identical_to_the_full_result():
    rng = np.random.default_rng(1)
    h = rng.normal(0, 0.3, (80, 90)).astype(np.float32)
    alb = rng.uniform(0.8, 1.2, (80, 90)).astype(np.float32)
    full = shade(h, 0.5, 250.0, 55.0, alb, shadow_px=8)
    part = shade(h, 0.5, 250.0, 55.0, alb, shadow_px=8, keep=(10, 20, 30, 40))
    assert np.array_equal(part, full[10:40, 20:60])
