"""Fixtures of the survey tests that run the real scan on a Dask cluster (tiny test models)."""

from __future__ import annotations

from pathlib import Path

import pytest

TESTMODELS = Path(__file__).with_name("testmodels.py")


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> list[str]:
    """--screen-model/--segment-model options for the tiny test models; workers preload them."""
    import dask
    import distributed  # noqa: F401  (its config defaults must exist before we override one key)

    from .testmodels import make_models

    screen, seg = make_models(tmp_path_factory.mktemp("models"))
    with dask.config.set({"distributed.worker.preload": [str(TESTMODELS)]}):
        yield ["--screen-model", str(screen), "--segment-model", str(seg)]


@pytest.fixture(scope="module")
def scheduler(models):
    """One warm 2-worker LocalCluster shared by the runs that join it with --scheduler."""
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=":0") as cluster:
        yield cluster.scheduler_address
