"""Kinds 9 and 10 of reliability round 4, at the module that publishes versions (``export.versions``).

Kind 9: under ``umask 077`` a version came out 700/600 beside versions at 755/644, and a TF Serving
running as another user failed on the version it picks next. A version now gets the read (and
search) access for group and others that its model directory grants. Kind 10: an
``export.summary_dir`` inside the model directory made a numbered directory without
``saved_model.pb``, which TF Serving reads as a version: refused before anything is made there.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from sigforge.errors import ExportError
from sigforge.export.versions import no_world_write, prepare_summary_dir, publish


def staged_under_umask(model_dir: Path, umask: int) -> Path:
    """A staging directory as a writer under ``umask`` leaves it: a SavedModel's shape of files."""
    old = os.umask(umask)
    try:
        staged = model_dir / ".sigforge-staging-test"
        (staged / "variables").mkdir(parents=True)
        (staged / "saved_model.pb").write_bytes(b"graph")
        (staged / "variables" / "variables.index").write_bytes(b"index")
        (staged / "assets").mkdir()
        tool = staged / "assets" / "tool.sh"
        tool.write_text("#!/bin/sh\n")
        tool.chmod(0o700 & ~umask)
    finally:
        os.umask(old)
    return staged


def modes(directory: Path) -> dict[str, int]:
    return {p.relative_to(directory).as_posix(): stat.S_IMODE(p.stat().st_mode) for p in directory.rglob("*")}


@pytest.mark.parametrize(
    ("model_dir_mode", "expected"),
    [
        (0o755, {"saved_model.pb": 0o644, "variables": 0o755, "variables/variables.index": 0o644,
                 "assets": 0o755, "assets/tool.sh": 0o755}),
        (0o750, {"saved_model.pb": 0o640, "variables": 0o750, "variables/variables.index": 0o640,
                 "assets": 0o750, "assets/tool.sh": 0o750}),
        (0o711, {"saved_model.pb": 0o600, "variables": 0o711, "variables/variables.index": 0o600,
                 "assets": 0o711, "assets/tool.sh": 0o711}),
        (0o700, {"saved_model.pb": 0o600, "variables": 0o700, "variables/variables.index": 0o600,
                 "assets": 0o700, "assets/tool.sh": 0o700}),
    ],
    ids=["shared", "group", "search-only", "private"],
)  # fmt: skip
def test_a_version_published_under_umask_077_is_readable_like_its_model_dir(
    tmp_path, model_dir_mode, expected
):
    model_dir = tmp_path / "digits"
    model_dir.mkdir()
    model_dir.chmod(model_dir_mode)
    staged = staged_under_umask(model_dir, 0o077)
    number, version = publish(staged, model_dir)
    assert number == 1
    assert stat.S_IMODE(version.stat().st_mode) == model_dir_mode | 0o700
    assert modes(version) == expected


def test_access_is_added_never_removed_and_never_world_writable(tmp_path):
    model_dir = tmp_path / "digits"
    model_dir.mkdir(mode=0o755)
    model_dir.chmod(0o755)
    staged = staged_under_umask(model_dir, 0o000)  # 777/666: the world may write
    no_world_write(staged)
    _, version = publish(staged, model_dir)
    assert all(mode & 0o002 == 0 for mode in modes(version).values())
    assert modes(version)["saved_model.pb"] == 0o664  # group write (the umask's choice) kept


@pytest.mark.parametrize("inside", [".", "7", "7/summary", "summary", "../digits/9"])
def test_a_summary_dir_inside_the_model_directory_is_refused_before_it_is_made(tmp_path, inside):
    model_dir = tmp_path / "exports" / "digits"
    model_dir.mkdir(parents=True)
    target = model_dir / inside
    with pytest.raises(ExportError, match="is inside the model directory") as info:
        prepare_summary_dir(target, "export.summary_dir", model_dir)
    assert "export.summary_dir" in str(info.value)
    assert sorted(p.name for p in model_dir.iterdir()) == []


def test_a_summary_dir_reaching_the_model_directory_through_a_symlink_is_refused(tmp_path):
    model_dir = tmp_path / "exports" / "digits"
    model_dir.mkdir(parents=True)
    (tmp_path / "link").symlink_to(model_dir)
    with pytest.raises(ExportError, match="is inside the model directory"):
        prepare_summary_dir(tmp_path / "link" / "5", "export.summary_dir", model_dir)
    assert not (model_dir / "5").exists()


def test_a_summary_dir_beside_the_model_directory_is_fine(tmp_path):
    model_dir = tmp_path / "exports" / "digits"
    model_dir.mkdir(parents=True)
    for beside in (tmp_path / "exports" / "digits_summary", tmp_path / "exports" / "summary"):
        assert prepare_summary_dir(beside, "export.summary_dir", model_dir).is_dir()
