"""atomic_output: the destination appears complete or not at all."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from areoscan.errors import OutputError
from areoscan.io import atomic_output


def test_success_replaces_and_keeps_suffix(tmp_path: Path) -> None:
    dest = tmp_path / "sub" / "out.tif"
    with atomic_output(dest) as tmp:
        assert tmp.parent == dest.parent
        assert tmp.suffix == ".tif"
        assert not dest.exists()
        tmp.write_text("new")
    assert dest.read_text() == "new"
    assert sorted(p.name for p in dest.parent.iterdir()) == ["out.tif"]
    mode = stat.S_IMODE(dest.stat().st_mode)
    umask = os.umask(0)
    os.umask(umask)
    assert mode == 0o666 & ~umask


def test_error_leaves_old_file_and_no_temp(tmp_path: Path) -> None:
    dest = tmp_path / "out.json"
    dest.write_text("old")
    with pytest.raises(RuntimeError), atomic_output(dest) as tmp:
        tmp.write_text("half")
        raise RuntimeError("boom")
    assert dest.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_unwritable_folder_is_an_output_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OutputError, match="cannot create"), atomic_output(blocker / "out.txt"):
        pass
