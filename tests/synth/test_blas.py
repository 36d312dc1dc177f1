import numpy as np

from areoscan.synth.blas import _setter, single_thread_blas


def test_single_thread_blas_restores_and_matmul_still_works():
    a = np.random.default_rng(0).random((64, 64), dtype=np.float32)
    with single_thread_blas():
        inside = a @ a
    assert np.allclose(inside, a @ a, rtol=1e-5)
    fn = _setter()
    if fn is not None:  # numpy's OpenBLAS exposes the per-thread setter
        before = fn(3)
        with single_thread_blas():
            assert fn(1) == 1
        assert fn(before) == 3
