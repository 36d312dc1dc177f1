import re
import subprocess
import sys
from pathlib import Path

import pytest

import areoscan

DOC = Path(__file__).resolve().parents[1] / "docs" / "api.md"
HEAVY = ("numpy", "torch", "rasterio", "dask", "distributed", "bokeh", "PIL", "scipy")


def test_import_is_light():
    code = f"import sys, areoscan; print([m for m in {HEAVY!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_every_documented_name_resolves():
    for name in areoscan.__all__:
        assert getattr(areoscan, name) is not None, name
    from areoscan import api

    assert areoscan.run_scan is api.run_scan and areoscan.run_survey is api.run_survey
    # the packages stay plain packages (not callable), reachable from ``import areoscan``
    assert callable(areoscan.scan.read_regions) and areoscan.survey.__name__ == "areoscan.survey"
    assert not callable(areoscan.scan) and not callable(areoscan.survey)
    with pytest.raises(AttributeError):
        areoscan.no_such_thing  # noqa: B018


def test_api_errors_are_areoscan_errors(tmp_path: Path):
    from areoscan.errors import DataError, RasterError

    with pytest.raises(RasterError):
        areoscan.run_scan(tmp_path / "missing_RED.JP2", out=tmp_path / "runs")
    with pytest.raises(DataError, match="no survey catalogue"):
        areoscan.report(tmp_path / "nothing")


@pytest.mark.slow
def test_worked_example_runs_as_documented(tmp_path: Path, monkeypatch, capsys):
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)
    assert len(blocks) >= 4
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "api_example"}
    for block in blocks:
        exec(compile(block, str(DOC), "exec"), namespace)  # noqa: S102 - the doc's own code
    result, outcome, paths = namespace["result"], namespace["outcome"], namespace["paths"]
    assert isinstance(result, areoscan.ScanResult) and result.summary.status == "done"
    assert result.regions and result.paths.quicklook == Path("runs/SYN_000042_2200/quicklook.png")
    assert outcome.counts["done"] == 1 and not outcome.interrupted
    assert paths.html.is_file() and paths.n_candidates == len(result.regions)
    assert "1 new" in capsys.readouterr().out
