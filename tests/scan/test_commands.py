"""The scan and compare verbs through areoscan.cli.main: exit codes and one-line errors."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import rasterio

from areoscan.cli import main
from areoscan.io import write_geotiff


def test_scan_verb_writes_outputs_and_prints_where(patch_scene, test_models, tmp_path, capsys):
    path, _ = patch_scene
    screen, seg = test_models
    code = main(["scan", str(path), "--out", str(tmp_path / "o"), "--screen-model", str(screen),
                 "--segment-model", str(seg), "--fast", "--quiet", "--json"])  # fmt: skip
    out = capsys.readouterr()
    assert code == 0
    summary = json.loads(out.out)
    assert summary["regions"] == 1 and Path(summary["output_dir"]).is_dir()
    assert out.err == ""


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["scan", "/nonexistent/ESP_000000_0000_RED.JP2"], "ESP_000000_0000_RED.JP2"),
        (["scan", "{bad}"], "bad.JP2"),
        (["scan", "{img}", "--screen-model", "no-such-model"], "no-such-model"),
        (["scan", "{img}", "--segment-model", "{screen}"], "a segmenter"),
        (["scan", "{img}", "--segment-overlap", "128"], "segment overlap 128 px"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args, needle, patch_scene, test_models, tmp_path, capsys):
    path, _ = patch_scene
    screen, seg = test_models
    bad = tmp_path / "bad.JP2"
    bad.write_bytes(b"\x00" * 100)
    fill = {"{img}": str(path), "{bad}": str(bad), "{screen}": str(screen)}
    argv = [fill.get(a, a) for a in args] + ["--out", str(tmp_path / "o"), "--quiet"]
    if "--screen-model" not in argv:
        argv += ["--screen-model", str(screen)]
    if "--segment-model" not in argv:
        argv += ["--segment-model", str(seg)]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("areoscan: ") and needle in err
    assert not (tmp_path / "o" / "ESP_012345_1234").exists()


def test_output_under_a_file_is_exit_3(patch_scene, test_models, tmp_path, capsys):
    path, _ = patch_scene
    screen, seg = test_models
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    code = main(["scan", str(path), "--out", str(blocker), "--quiet",
                 "--screen-model", str(screen), "--segment-model", str(seg)])  # fmt: skip
    assert code == 3
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def _masks(tmp_path):
    ref = np.zeros((300, 400), dtype=np.uint8)
    ref[50:150, 50:250] = 1
    ref[:, :20] = 255
    pred = np.zeros_like(ref)
    pred[60:150, 50:300] = 1
    pred[:, :20] = 255
    a = write_geotiff(tmp_path / "pred.tif", pred, nodata=255)
    b = write_geotiff(tmp_path / "ref.tif", ref, nodata=255)
    return a, b, pred, ref


def test_compare_scores_and_overlay(tmp_path, capsys):
    a, b, pred, ref = _masks(tmp_path)
    assert main(["compare", str(a), str(b), "--json", "--overlay", str(tmp_path / "ov.png")]) == 0
    s = json.loads(capsys.readouterr().out)
    tp, fp, fn = 90 * 200, 90 * 50, 10 * 200
    assert s["iou"] == pytest.approx(tp / (tp + fp + fn))
    assert s["precision"] == pytest.approx(tp / (tp + fp))
    assert s["recall"] == pytest.approx(tp / (tp + fn))
    assert s["n"] == 300 * 380
    assert Path(s["overlay"]).stat().st_size > 0


def test_compare_resamples_a_coarser_reference(tmp_path, capsys):
    a, _, pred, ref = _masks(tmp_path)
    small = write_geotiff(tmp_path / "small.tif", ref[::2, ::2], nodata=255)
    assert main(["compare", str(a), str(small), "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert s["n"] == 150 * 190 and 0.6 < s["iou"] < 0.9


def test_to_training_mask_majority_per_block(tmp_path, capsys):
    a, _, pred, _ = _masks(tmp_path)
    out = tmp_path / "train.tif"
    assert main(["compare", str(a), "--to-training-mask", "2", str(out)]) == 0
    with rasterio.open(out) as ds:
        m = ds.read(1)
        assert ds.shape == (75, 100) and ds.nodata == 255
    assert (m[:, :5] == 255).all()
    assert (m[15:37, 13:75] == 1).all() and (m[:14, 5:] == 0).all()


def test_compare_bad_input(tmp_path, capsys):
    assert main(["compare", str(tmp_path / "nope.tif"), str(tmp_path / "nope2.tif")]) == 2
    assert "mask file not found" in capsys.readouterr().err
    assert main(["compare", str(tmp_path / "x.tif")]) == 2


def test_console_script_help_lists_the_verbs():
    exe = Path(sys.executable).with_name("areoscan")
    out = subprocess.run([str(exe), "scan", "--help"], capture_output=True, text=True, check=True)
    assert "--memory-mb" in out.stdout and "Exit codes" in out.stdout
