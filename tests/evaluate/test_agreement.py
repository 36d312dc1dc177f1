"""Annotator agreement on generated three-rater VIA projects."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from areoscan.cli import main
from areoscan.evaluate.agreement import agreement, consensus, read_raters


def _raters(root: Path) -> Path:
    """Raters a and b draw the same disc; c draws it shifted by its radius and adds a rect."""
    (root / "images").mkdir(parents=True)
    for name in ("x.png", "y.png"):
        Image.new("L", (40, 30)).save(root / "images" / name)
    shapes = {
        "a": [{"name": "circle", "cx": 15, "cy": 15, "r": 6}],
        "b": [{"name": "circle", "cx": 15, "cy": 15, "r": 6}],
        "c": [{"name": "circle", "cx": 21, "cy": 15, "r": 6}, {"name": "rect", "x": 30, "y": 2, "width": 5, "height": 5}],
    }  # fmt: skip
    for rater, regions in shapes.items():
        doc = [
            {"filename": "x.png", "regions": [{"shape_attributes": s, "region_attributes": {"Type": "Bright"}} for s in regions]},
            {"filename": "y.png", "regions": []},
        ]  # fmt: skip
        (root / f"proj_{rater}.json").write_text(json.dumps(doc))
    return root


def test_agreement_pairwise_consensus_and_leave_one_out(tmp_path):
    raters = read_raters(_raters(tmp_path))
    assert list(raters) == ["a", "b", "c"]  # the shared "proj_" prefix is dropped
    res = agreement(raters)
    iou = res["pairwise"]["Bright"]["iou"]
    assert iou[0][1] == pytest.approx(1.0) and iou[0][0] is None
    assert iou[0][2] == iou[2][0] < 0.5
    assert res["pairwise"]["Bright"]["instance_f1_50"][0][1] == pytest.approx(1.0)
    # the majority (2 of 3) is a's disc: a agrees fully with everyone's consensus and the others'
    assert res["vs_consensus"]["a"]["Bright"]["iou"] == pytest.approx(1.0)
    assert res["vs_others_consensus"]["a"]["Bright"]["iou"] < 1.0  # b and c: only the overlap
    assert res["vs_others_consensus"]["c"]["Bright"]["instance_f1_50"] == pytest.approx(0.0)
    cons = consensus(raters)
    [disc] = cons.images[0].instances
    assert disc.mask is not None and (disc.mask == raters["a"].images[0].instances[0].mask).all()
    assert cons.images[1].instances == []
    summary = res["summary"]["Bright"]
    assert summary["vs_others_iou"]["min"] <= summary["vs_others_iou"]["max"]


def test_cli_writes_json_consensus_and_heat_map(tmp_path, capsys):
    root = _raters(tmp_path / "d")
    out = tmp_path / "o" / "agree.json"
    argv = ["agreement", str(root), "--json", str(out), "--consensus", str(tmp_path / "c.json")]
    assert main(argv) == 0
    assert json.loads(out.read_text())["raters"] == ["a", "b", "c"]
    assert (tmp_path / "o" / "agree_heatmap.png").stat().st_size > 1000
    assert len(json.loads((tmp_path / "c.json").read_text())["annotations"]) == 1
    assert "3 raters, 2 images" in capsys.readouterr().out
    (root / "proj_b.json").unlink()
    (root / "proj_c.json").unlink()
    assert main(["agreement", str(root)]) == 2
    assert "at least 2 VIA files" in capsys.readouterr().err
