import csv
from pathlib import Path

import pytest

from areoscan.cli import main
from areoscan.errors import DataError
from areoscan.evaluate.table_cli import TABLE_COLUMNS, data_for, markdown, table_row


def _result(f1: float) -> dict:
    return {
        "n": 10,
        "is_screen": True,
        "binary": {"f1": f1, "tp_pct": 20.0, "tn_pct": 70.0, "fp_pct": 5.0, "fn_pct": 5.0},
        "macro_f1": 0.7,
        "accuracy": 0.9,
        "speed": {"area_1k_per_s": 123.4},
        "majority_class": "background",
        "majority_accuracy": 0.75,
        "majority_macro_f1": 0.43,
    }


def test_data_specs_per_model():
    specs = data_for(["a", "b"], ["synth:10", "b=DIR@coral", "a=x:y"])
    assert specs == {"a": ["synth:10", "x:y"], "b": ["synth:10", "DIR@coral"]}
    with pytest.raises(DataError, match="no --data for b"):
        data_for(["a", "b"], ["a=synth:10"])


def test_markdown_rows_follow_the_columns():
    row = table_row("screen", 600, _result(0.8))
    assert (
        len(row) == len(TABLE_COLUMNS) and row[3] == 0.8 and row[-3:] == ["background", 0.75, 0.43]
    )
    lines = markdown([row]).splitlines()
    assert lines[0].startswith("| model | train n | test n | F1 | TP% |") and len(lines) == 3
    assert lines[2] == (
        "| screen | 600 | 10 | 0.800 | 20.0 | 70.0 | 5.000 | 5.000 | 123.4 | 0.900 | 0.700 "
        "| background | 0.750 | 0.430 |"
    )


@pytest.mark.slow
def test_table_verb_on_synthetic_tiles(tmp_path: Path, capsys):
    out = tmp_path / "table"
    code = main(
        ["evaluate", "table", "--models", "brain-coral-screen", "--data", "synth:48", "--out",
         str(out), "--threads", "1"]
    )  # fmt: skip
    assert code in (0, 1)  # 1 only if the model collapsed onto one class
    printed = capsys.readouterr().out
    assert printed == (tmp_path / "table.md").read_text()
    rows = list(csv.DictReader((tmp_path / "table.csv").open()))
    assert [r["model"] for r in rows] == ["brain-coral-screen"] and rows[0]["test n"] == "48"
    pct = sum(float(rows[0][k]) for k in ("TP%", "TN%", "FP%", "FN%"))
    assert pct == pytest.approx(100.0, abs=1e-3)
    assert 0.0 <= float(rows[0]["majority accuracy"]) <= 1.0 and float(rows[0]["1K×1K tiles/s"]) > 0


@pytest.mark.slow
def test_table_scores_the_unet_per_pixel_on_scenes(tmp_path: Path, capsys):
    from areoscan.data.seg_samples import synthesize_scenes

    scenes = tmp_path / "scenes"
    synthesize_scenes(scenes, 1, seed=901, size=(512, 512), coral_fraction=0.4)
    out = tmp_path / "table"
    code = main(
        ["evaluate", "table", "--models", "brain-coral-unet", "--data",
         f"brain-coral-unet={scenes}", "--out", str(out), "--threads", "1"]
    )  # fmt: skip
    assert code in (0, 1)  # 1 only if the model collapsed onto one class
    rows = list(csv.DictReader((tmp_path / "table.csv").open()))
    assert [r["model"] for r in rows] == ["brain-coral-unet"] and int(rows[0]["test n"]) >= 1
    pct = sum(float(rows[0][k]) for k in ("TP%", "TN%", "FP%", "FN%"))
    assert pct == pytest.approx(100.0, abs=1e-3)
    assert 0.0 <= float(rows[0]["F1"]) <= 1.0 and rows[0]["majority class"] == "background"
    assert float(rows[0]["majority accuracy"]) == pytest.approx(1 - float(rows[0]["TP%"]) / 100
        - float(rows[0]["FN%"]) / 100, abs=1e-3)  # fmt: skip


def test_table_refuses_a_non_folder_for_a_segmenter(tmp_path: Path, capsys):
    code = main(["evaluate", "table", "--models", "brain-coral-unet", "--data", "synth:8"])
    assert code == 2
    err = capsys.readouterr().err
    assert "folders of labelled scenes" in err and len(err.strip().splitlines()) == 1
