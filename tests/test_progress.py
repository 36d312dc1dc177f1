import fcntl
import io
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from areoscan.progress import on_terminal, progress_bar

AREOSCAN = [sys.executable, "-m", "areoscan"]
SRC = str(Path(__file__).resolve().parents[1] / "src")


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _env() -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=SRC, OMP_NUM_THREADS="2", COLUMNS="120", TERM="xterm")
    return env


def run_in_pty(cmd: list[str], cwd: Path, timeout: float = 300) -> tuple[int, str]:
    """Run a command with stdin/stdout/stderr on a pseudo-terminal; its exit code and output."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    proc = subprocess.Popen(cmd, stdin=slave, stdout=slave, stderr=slave, cwd=cwd, env=_env())
    os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    data = os.read(master, 65536)
                except OSError:  # EIO: every process holding the terminal closed it
                    break
                if not data:
                    break
                chunks.append(data)
            elif proc.poll() is not None:
                break
        else:
            proc.kill()
    finally:
        os.close(master)
    return proc.wait(timeout=60), b"".join(chunks).decode(errors="replace")


def run_piped(cmd: list[str], cwd: Path) -> tuple[int, str]:
    """The same command with its output going to pipes (not a terminal)."""
    done = subprocess.run(cmd, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=300)
    return done.returncode, done.stdout + done.stderr


def test_a_bar_draws_only_on_a_terminal():
    log = io.StringIO()
    assert not on_terminal(log)
    with progress_bar(total=5, desc="screen L3", unit="tile", stream=log) as bar:
        bar.update(5)
        bar.write("a line")
    assert log.getvalue() == "a line\n"  # lines still print; no bar
    term = FakeTerminal()
    with progress_bar(total=5, desc="screen L3", unit="tile", stream=term) as bar:
        bar.update(2)
    drawn = term.getvalue()  # stage, count of total, rate (tqdm redraws at most 10 times a second)
    assert "screen L3:" in drawn and "/5 [" in drawn and "tile/s" in drawn
    quiet = FakeTerminal()
    assert list(progress_bar(range(3), desc="x", enabled=False, stream=quiet)) == [0, 1, 2]
    assert quiet.getvalue() == ""


@pytest.mark.slow
def test_classify_shows_a_bar_on_a_terminal_only(tmp_path: Path):
    rng = np.random.default_rng(0)
    tiles = tmp_path / "tiles"
    tiles.mkdir()
    for i in range(40):
        Image.fromarray(rng.integers(0, 255, (64, 64), dtype=np.uint8)).save(tiles / f"t{i}.png")
    cmd = [*AREOSCAN, "classify", str(tiles), "--model", "hirise-landmarks", "--batch-size", "4"]
    code, shown = run_in_pty([*cmd, "--out", "a.csv"], tmp_path)
    assert code == 0 and "classify" in shown and "/10 [" in shown and "batch/s" in shown
    code, piped = run_piped([*cmd, "--out", "b.csv"], tmp_path)
    assert code == 0 and "classify" not in piped and "batch" not in piped
    assert (tmp_path / "a.csv").read_text() == (tmp_path / "b.csv").read_text()


@pytest.fixture(scope="module")
def scene(tmp_path_factory) -> Path:
    from areoscan.synth import generate_scene

    folder = tmp_path_factory.mktemp("scene")
    image = folder / "SYN_000042_2200_RED.JP2"
    generate_scene(image, size=(1024, 1024), seed=42, latitude=40.0, coral_fraction=0.3)
    return image


@pytest.mark.slow
def test_scan_shows_stage_bars_on_a_terminal_only(tmp_path: Path, scene: Path):
    cmd = [*AREOSCAN, "scan", str(scene), "--out"]
    code, shown = run_in_pty([*cmd, "tty"], tmp_path)
    assert code == 0, shown[-2000:]
    assert "screen L" in shown and "segment L0" in shown and "tile/s" in shown
    code, piped = run_piped([*cmd, "pipe"], tmp_path)
    assert code == 0 and "screen L" not in piped and "tile/s" not in piped
    assert "areoscan scan:" in piped  # the stage lines stay (--quiet drops them too)


@pytest.mark.slow
def test_survey_shows_an_image_bar_on_a_terminal_only(tmp_path: Path, scene: Path):
    (tmp_path / "ids.txt").write_text(f"{scene}\n")
    cmd = [*AREOSCAN, "survey", "ids.txt", "--workers", "1", "--dashboard-address", ":0", "--out"]
    code, shown = run_in_pty([*cmd, "tty"], tmp_path)
    assert code == 0, shown[-2000:]
    assert "survey: 100%" in shown and "1/1" in shown and "image" in shown
    assert "dask dashboard http://" in shown and "needs the 'bokeh' package" not in shown
    code, piped = run_piped([*cmd, "pipe"], tmp_path)
    assert code == 0 and "survey: 100%" not in piped and "[1/1] SYN_000042_2200 done" in piped


@pytest.mark.slow
def test_the_dask_dashboard_answers(tmp_path: Path):
    from urllib.request import urlopen

    from areoscan.survey.engine import open_client

    said: list[str] = []
    with open_client(1, dashboard_address=":0", say=said.append) as client:
        link = client.dashboard_link
        with urlopen(link, timeout=30) as reply:  # bokeh serves the status page
            assert reply.status == 200 and b"<html" in reply.read(4096).lower()
    assert any(link in line for line in said)
