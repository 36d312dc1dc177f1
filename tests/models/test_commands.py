import csv

import numpy as np
import pytest
import torch
from PIL import Image

from areoscan import cli
from areoscan.models.card import ModelCard
from areoscan.models.registry import build_module, save_model


@pytest.fixture
def model_dir(tmp_path):
    torch.manual_seed(0)
    card = ModelCard(
        name="tiny",
        task="classification",
        arch="small_cnn",
        classes=["other", "crater"],
        tile_size=32,
        arch_kwargs={"widths": [8, 16]},
    )
    save_model(build_module(card), card, tmp_path / "model")
    return tmp_path / "model"


def test_export_verb_checks_parity(model_dir, tmp_path, capsys):
    assert cli.main(["export", "--model", str(model_dir), "--onnx", str(tmp_path / "t.onnx")]) == 0
    assert "max |Δ|" in capsys.readouterr().out
    assert (tmp_path / "t.onnx").is_file()


def test_classify_verb_writes_csv_for_any_tile_size(model_dir, tmp_path, capsys):
    tiles = tmp_path / "tiles"
    (tiles / "sub").mkdir(parents=True)
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (50, 70), dtype=np.uint8)).save(
        tiles / "a.png"
    )
    Image.fromarray(np.full((300, 300), 900, np.uint16)).save(tiles / "sub" / "b.tif")
    Image.fromarray(np.zeros((20, 20, 3), np.uint8)).save(tmp_path / "c.jpg")
    out = tmp_path / "preds.csv"
    assert (
        cli.main(
            [
                "classify",
                str(tiles),
                str(tmp_path / "c.jpg"),
                "--model",
                str(model_dir / "tiny.json"),
                "--out",
                str(out),
                "--threads",
                "1",
            ]
        )
        == 0
    )
    rows = list(csv.DictReader(out.open()))
    assert [r.keys() for r in rows][0] == {"file", "label", "p_other", "p_crater"}
    assert len(rows) == 3 and {r["label"] for r in rows} <= {"other", "crater"}
    for r in rows:
        assert float(r["p_other"]) + float(r["p_crater"]) == pytest.approx(1, abs=1e-5)
    # stdout when no --out, and the onnx backend gives the same labels
    assert cli.main(["classify", str(tiles), "--model", str(model_dir), "--backend", "onnx"]) == 0
    assert capsys.readouterr().out.startswith("file,label,p_other,p_crater")


def test_bad_inputs_are_one_line_exit_2(model_dir, tmp_path, capsys):
    assert cli.main(["classify", str(tmp_path / "none"), "--model", str(model_dir)]) == 2
    assert cli.main(["classify", str(model_dir), "--model", "no-such-model"]) == 2
    (tmp_path / "bad.png").write_bytes(b"garbage")
    assert cli.main(["classify", str(tmp_path / "bad.png"), "--model", str(model_dir)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and all(line.startswith("areoscan: ") for line in err)


def test_models_verb_lists_without_error(capsys):
    assert cli.main(["models"]) == 0
    assert cli.main(["models", "--json"]) == 0
