import numpy as np
import scipy.fft
import torch

from areoscan.models.dct import BlockDCT, dct_matrix


def test_dct_matrix_is_orthonormal():
    c = dct_matrix(8)
    assert torch.allclose(c @ c.T, torch.eye(8, dtype=torch.float64), atol=1e-12)


def test_block_dct_matches_scipy_per_block():
    rng = np.random.default_rng(3)
    x = rng.random((2, 1, 32, 48)).astype(np.float32)
    out = BlockDCT()(torch.from_numpy(x)).numpy()
    assert out.shape == (2, 64, 4, 6)
    for n in range(2):
        for by in range(4):
            for bx in range(6):
                block = x[n, 0, by * 8 : by * 8 + 8, bx * 8 : bx * 8 + 8].astype(np.float64)
                ref = scipy.fft.dctn(block, type=2, norm="ortho")
                got = out[n, :, by, bx].reshape(8, 8)  # channel 8*u + v
                np.testing.assert_allclose(got, ref, atol=2e-6)


def test_dct_is_fixed_and_not_saved():
    layer = BlockDCT()
    assert not list(layer.parameters())
    assert "basis" not in layer.state_dict()
