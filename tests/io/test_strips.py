"""Strip planning: cores partition the image, overlaps are clipped, budgets are honoured."""

from __future__ import annotations

import numpy as np
import pytest

from areoscan.io.strips import BYTES_PER_PX, Strip, plan_strips, rows_for_budget


@pytest.mark.parametrize("overlap", [0, 3, 40])
@pytest.mark.parametrize("rows", [1, 7, 64, 1000])
def test_cores_partition_and_overlap_is_clipped(rows: int, overlap: int) -> None:
    plan = plan_strips(250, 100, rows=rows, overlap=overlap)
    cores = [(c0, c1) for _r0, _r1, c0, c1 in plan]
    assert cores[0][0] == 0 and cores[-1][1] == 250
    assert all(a[1] == b[0] for a, b in zip(cores, cores[1:], strict=False))
    for r0, r1, c0, c1 in plan:
        assert r0 == max(0, c0 - overlap)
        assert r1 == min(250, c1 + overlap)
        assert c1 - c0 == min(rows, 250 - c0)


def test_budget_sets_rows_and_aligns_to_code_blocks() -> None:
    width = 20_000
    plan = plan_strips(25_000, width, memory_mb=512, overlap=16)
    fit = rows_for_budget(width, 512)
    core = plan[0][3] - plan[0][2]
    assert core % 64 == 0
    assert core + 32 <= fit
    assert (plan[0][1] - plan[0][0]) * width * BYTES_PER_PX <= 512 * 2**20


def test_reserved_memory_is_subtracted() -> None:
    a = plan_strips(10_000, 1000, memory_mb=100)
    b = plan_strips(10_000, 1000, memory_mb=100, reserved_mb=50)
    assert len(b) > len(a)


def test_too_small_budget_says_how_much_is_needed() -> None:
    with pytest.raises(ValueError, match="allow at least"):
        plan_strips(1000, 100_000, memory_mb=1, overlap=10)
    with pytest.raises(ValueError, match="overlap"):
        plan_strips(10, 10, overlap=-1)
    with pytest.raises(ValueError, match="rows"):
        plan_strips(10, 10, rows=0)
    assert plan_strips(0, 10) == []


def test_strip_core_view() -> None:
    data = np.arange(12, dtype=np.float32).reshape(6, 2)
    s = Strip(row0=4, row1=10, core0=5, core1=8, data=data)
    np.testing.assert_array_equal(s.core, data[1:4])
