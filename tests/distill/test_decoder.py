from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from areoscan.cli import main
from areoscan.distill.cache import build_cache, open_cache
from areoscan.distill.metrics import confusion, scores
from areoscan.errors import DataError
from areoscan.models.registry import load_model

from .conftest import write_scenes


def test_pixel_scores_by_hand():
    truth = np.array([0, 0, 1, 1, 2, 2])
    pred = np.array([0, 1, 1, 1, 2, 0])
    s = scores(confusion(truth, pred, 3))
    # class 0: tp 1 fp 1 fn 1; class 1: tp 2 fp 1 fn 0; class 2: tp 1 fp 0 fn 1
    assert s["accuracy"] == pytest.approx(4 / 6)
    assert s["miou"] == pytest.approx((1 / 3 + 2 / 3 + 1 / 2) / 3)
    assert s["micro_precision"] == pytest.approx(3 / 4)
    assert s["micro_recall"] == pytest.approx(3 / 4)
    assert s["micro_f1"] == pytest.approx(3 / 4)
    assert s["macro_f1"] == pytest.approx((4 / 5 + 2 / 3) / 2)
    empty = scores(confusion(np.zeros(4), np.zeros(4), 2))
    assert empty["micro_f1"] == 0 and empty["accuracy"] == 1 and empty["miou"] == 1


class CountingEncoder:
    """A stand-in encoder: the mean of 8x8 blocks, counting its passes."""

    spec, input_size, grid, channels = "counting", 64, 8, 1

    def __init__(self) -> None:
        self.calls = 0

    def embed(self, image: np.ndarray) -> np.ndarray:
        self.calls += 1
        return image[:64, :64].reshape(8, 8, 8, 8).mean(axis=(1, 3))[None].astype(np.float16)


def test_cache_runs_the_encoder_once_per_image(tmp_path):
    files = []
    for k in range(3):
        path = tmp_path / "imgs" / f"ESP_01234{k}_1234_RED_x.png"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(b"x")
        files.append(path)
    enc = CountingEncoder()
    pixels = np.arange(64 * 64, dtype=np.uint8).reshape(64, 64)
    cache, passes = build_cache(files, enc, tmp_path / "emb", read=lambda p: pixels)
    assert passes == enc.calls == 3
    again = open_cache(tmp_path / "emb")
    assert again.group(files[0].stem) == "ESP_012340_1234"
    emb = again.load(files[1].stem)
    assert isinstance(emb, np.memmap) and emb.shape == (1, 8, 8) and emb.dtype == np.float16
    _, passes = build_cache(files, enc, tmp_path / "emb", read=lambda p: pixels)
    assert passes == 0 and enc.calls == 3
    files[2].write_bytes(b"changed")
    _, passes = build_cache(files, enc, tmp_path / "emb", read=lambda p: pixels)
    assert passes == 1
    enc.spec = "another"
    with pytest.raises(DataError, match="holds counting embeddings"):
        build_cache(files, enc, tmp_path / "emb", read=lambda p: pixels)


def _pipeline(tmp_path: Path, classes) -> Path:
    coco, _ = write_scenes(tmp_path / "imgs", list(range(8)), classes=classes)
    assert (
        main(
            ["label", str(tmp_path / "imgs"), "--boxes", str(coco), "--format", "coco"]
            + ["--out", str(tmp_path / "lab")]
        )
        == 0
    )
    assert (
        main(
            [
                "embed",
                str(tmp_path / "imgs"),
                "--input-size",
                "192",
                "--out",
                str(tmp_path / "emb"),
                "--threads",
                "1",
            ]
        )
        == 0
    )
    return tmp_path


@pytest.mark.slow
@pytest.mark.parametrize(
    ("classes", "merge"), [(("pit", "mound"), "pit"), (("pit", "mound"), None)]
)
def test_nshot_curve_and_decoder_end_to_end(tmp_path, capsys, classes, merge):
    root = _pipeline(tmp_path, classes)
    out = root / "dec"
    rc = main(
        ["train", "decoder", "--embeddings", str(root / "emb"), "--masks", str(root / "lab/masks")]
        + ["--n", "2,4", "--draws", "2", "--epochs", "40", "--out", str(out), "--name", "pits"]
        + (["--merge-classes", merge] if merge else [])
    )
    classes = (merge,) if merge else classes
    assert rc == 0, capsys.readouterr().err
    md = (out / "nshot.md").read_text()
    assert "| 2 | 2 |" in md and "| 4 | 2 |" in md and "micro_f1" in md
    rows = json.loads((out / "nshot.json").read_text())
    assert [(r["n"], r["draw"]) for r in rows] == [(2, 0), (2, 1), (4, 0), (4, 1)]
    assert all(len(r["train"]) == r["n"] for r in rows)
    assert (out / "nshot.png").stat().st_size > 1000
    module, card = load_model(out / "pits.json")
    assert card.arch == "distilled-unet" and card.classes == ["background", *classes]
    assert card.task == "segmentation" and card.arch_kwargs["encoder"] == "brain-coral-unet"
    assert module.decoder.head.out_channels == (1 if len(classes) == 1 else 3)
    # an all-background map scores micro-F1 0: the decoder must find objects on unseen scenes
    assert card.metrics["test"]["micro_f1"] > 0.2
    assert card.metrics["test"]["micro_precision"] > 0.2
    capsys.readouterr()
    assert main(["models", "--dir", str(out)]) == 0
    assert "distilled-unet" in capsys.readouterr().out
    # suggest: only images the decoder never trained on, most uncertain first
    trained = set(card.training["stems"])
    for extra in ([], ["--embeddings", str(root / "emb")]):
        rc = main(
            ["label", "suggest", str(root / "imgs"), "--model", str(out / "pits.json")]
            + ["--k", "2", *extra]
        )
        lines = capsys.readouterr().out.strip().splitlines()
        assert rc == 0 and len(lines) == 2
        scores = [float(line.split("\t")[0]) for line in lines]
        assert scores == sorted(scores, reverse=True) and 0 < scores[-1] <= 1
        assert not {Path(line.split("\t")[1]).stem for line in lines} & trained


def test_uncertainty_is_normalised_entropy():
    from areoscan.distill.suggest import uncertainty

    sure = np.zeros((1, 3, 4, 4))
    sure[:, 0] = 1
    unsure = np.full((1, 3, 4, 4), 1 / 3)
    half = np.concatenate([sure[..., :2], unsure[..., 2:]], axis=-1)
    assert uncertainty(np.concatenate([sure, unsure, half])) == pytest.approx([0, 1, 0.5], abs=1e-5)


def test_train_decoder_bad_input_is_one_line(tmp_path, capsys):
    rc = main(
        ["train", "decoder", "--embeddings", str(tmp_path), "--masks", str(tmp_path)]
        + ["--n", "5", "--out", str(tmp_path / "o")]
    )
    err = capsys.readouterr().err.strip()
    assert rc == 2 and "areoscan embed" in err and len(err.splitlines()) == 1
    rc = main(
        ["train", "decoder", "--embeddings", str(tmp_path), "--masks", str(tmp_path)]
        + ["--n", "five", "--out", str(tmp_path / "o")]
    )
    assert rc == 2 and "--n" in capsys.readouterr().err
    rc = main(["label", "suggest", str(tmp_path), "--k", "3"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and "--model" in err and len(err.splitlines()) == 1
    rc = main(["label", str(tmp_path), "--format", "coco", "--out", str(tmp_path / "o")])
    assert rc == 2 and "missing --boxes" in capsys.readouterr().err
