import json
import subprocess
import sys

from areoscan.cli import main


def test_scene_verb_writes_files_and_prints_json(tmp_path, capsys):
    out = tmp_path / "S.JP2"
    assert (
        main(
            [
                "synth",
                "scene",
                str(out),
                "--size",
                "96",
                "128",
                "--seed",
                "4",
                "--scale",
                "0.5",
                "--coral",
                "0.3",
                "--json",
            ]
        )
        == 0
    )
    summary = json.loads(capsys.readouterr().out)
    assert summary["observation_id"].startswith("SYN_000004_")
    for name in ("S.LBL", "S_mask.tif", "S_classes.tif", "S.json"):
        assert (tmp_path / name).exists()


def test_tiles_verb(tmp_path, capsys):
    assert (
        main(["synth", "tiles", str(tmp_path / "t"), "--n", "2", "--size", "32", "--seed", "1"])
        == 0
    )
    assert (tmp_path / "t" / "manifest.csv").exists()
    assert "2 tiles" in capsys.readouterr().out


def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys):
    assert main(["synth", "scene", str(tmp_path / "x.JP2"), "--size", "4", "4", "--seed", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "too small" in err[0]
    assert (
        main(["synth", "tiles", str(tmp_path / "t"), "--n", "1", "--seed", "1", "--kinds", "lava"])
        == 2
    )
    assert "unknown terrain kind" in capsys.readouterr().err


def test_console_script_runs(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "areoscan",
            "synth",
            "scene",
            str(tmp_path / "x.png"),
            "--size",
            "64",
            "64",
            "--seed",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and ".JP2" in proc.stderr


def test_scene_verb_family_option(tmp_path, capsys):
    out = tmp_path / "T.JP2"
    args = ["synth", "scene", str(out), "--size", "96", "128", "--seed", "4", "--scale", "0.5"]
    assert main([*args, "--family", "turing", "--layout", "regions", "--json"]) == 0
    desc = json.loads((tmp_path / "T.json").read_text())
    assert desc["coral_family"] == "turing" and desc["params"]["family"]["wavelength"] >= 2.0
    assert desc["coral_layout"] == "regions"
