import numpy as np

from areoscan.synth.noise import (
    Gaussian,
    PowerLaw,
    Ring,
    band_field,
    filter_gain,
    hash_u64,
    hash_uniform,
    lattice_noise,
)


def test_hash_is_deterministic_and_broadcasts():
    a = hash_uniform(3, 1, np.arange(5), 7)
    b = hash_uniform(3, 1, np.arange(5), 7)
    assert a.shape == (5,) and np.array_equal(a, b)
    assert ((a >= 0) & (a < 1)).all()
    assert not np.array_equal(a, hash_uniform(4, 1, np.arange(5), 7))
    assert hash_u64(1, 2, 3)[0] != hash_u64(1, 2, 4)[0]


def test_hash_uniform_is_roughly_uniform():
    u = hash_uniform(0, 9, np.arange(20000))
    assert abs(u.mean() - 0.5) < 0.01 and abs(u.std() - 12**-0.5) < 0.01


def test_lattice_noise_depends_only_on_absolute_position():
    big = lattice_noise(5, 1, -300, -40, 700, 600)
    part = lattice_noise(5, 1, -20, 100, 300, 333)
    assert np.array_equal(part, big[280:580, 140:473])
    assert abs(big.std() - 1.0) < 0.02
    assert not np.array_equal(big, lattice_noise(5, 2, -300, -40, 700, 600))


def test_band_field_windows_agree_where_they_overlap():
    ring = Ring(6.0, 0.25)
    (a,) = band_field(1, 3, (0, 0, 200, 300), 0.5, [ring], factor=1, pad=40)
    (b,) = band_field(1, 3, (120, 150, 200, 300), 0.5, [ring], factor=1, pad=40)
    diff = np.abs(a[120:, 150:] - b[:80, :150])
    assert diff.max() < 1e-3 * a.std() * 10 and diff.max() < 0.01


def test_band_field_lattice_factor_matches_unit_variance():
    (a,) = band_field(2, 4, (0, 0, 512, 512), 0.25, [Ring(8.0, 0.2)], factor=2, pad=80)
    assert 0.8 < a.std() < 1.2
    (g,) = band_field(2, 5, (0, 0, 256, 256), 0.5, [PowerLaw(3.0, 1.0, 10.0)], pad=40)
    assert 0.7 < g.std() < 1.3


def test_filter_gain_is_window_independent_and_positive():
    assert filter_gain(Gaussian(1.0), 0.5) > 0
    assert filter_gain(Ring(5.0), 0.5) == filter_gain(Ring(5.0), 0.5)


def test_ring_spectrum_peaks_at_its_wavelength():
    (a,) = band_field(7, 6, (0, 0, 512, 512), 0.5, [Ring(10.0, 0.15)], pad=60)
    spec = np.abs(np.fft.rfft2(a)) ** 2
    ky = np.fft.fftfreq(512, 0.5)[:, None]
    kx = np.fft.rfftfreq(512, 0.5)[None, :]
    k = np.sqrt(ky**2 + kx**2)
    peak = k.ravel()[np.argmax(spec.ravel())]
    assert abs(1 / peak - 10.0) < 2.5


def test_upsample2_interpolates_smooth_fields_at_absolute_positions():
    from areoscan.synth.noise import half_grid, upsample2

    def f(r, c):
        return np.sin(r / 7.0) * np.cos(c / 9.0)

    for win in [(-13, 5, 40, 31), (7, -3, 9, 12)]:
        (gr, nr), (gc, nc) = half_grid(win[0], win[2]), half_grid(win[1], win[3])
        rows, cols = 2 * (gr + np.arange(nr)), 2 * (gc + np.arange(nc))
        up = upsample2(f(rows[:, None], cols[None, :]).astype(np.float32), win)
        rr, cc = np.arange(win[0], win[0] + win[2]), np.arange(win[1], win[1] + win[3])
        assert up.shape == (win[2], win[3])
        assert np.abs(up - f(rr[:, None], cc[None, :])).max() < 1e-3
