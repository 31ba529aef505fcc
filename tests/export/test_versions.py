"""``export.versions``: TF Serving style versions, published whole with one rename, numbered up,
never overwritten, and readable by whoever may read the model directory.

Reliability round 4 at this module: kind 9 (under ``umask 077`` a version came out 700/600 beside
versions at 755/644, and a TF Serving running as another user failed on the version it picks next:
a version now gets the read and search access for group and others that its model directory
grants) and kind 10 (an ``export.summary_dir`` inside the model directory made a numbered
directory without ``saved_model.pb``, which TF Serving reads as a version: refused before anything
is made there). Staging directories and who may remove them: ``test_versions_staging.py``.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from sigforge.errors import ExportError
from sigforge.export.versions import (
    identical_version,
    no_world_write,
    prepare_model_dir,
    prepare_summary_dir,
    publish,
    resolve_export_dir,
    served_content_digest,
)


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


def saved_model_files(directory: Path, variables: bytes = b"weights", warmup: bytes = b"requests") -> Path:
    """A version directory's shape: graph, variables, TensorFlow's fingerprint and a warmup file."""
    (directory / "variables").mkdir(parents=True)
    (directory / "assets.extra").mkdir()
    (directory / "saved_model.pb").write_bytes(b"graph")
    (directory / "variables" / "variables.data-00000-of-00001").write_bytes(variables)
    (directory / "fingerprint.pb").write_bytes(directory.name.encode())  # differs on every write
    (directory / "assets.extra" / "tf_serving_warmup_requests").write_bytes(warmup)
    return directory


def test_a_staged_version_serving_what_the_newest_serves_is_identical_to_it(tmp_path):
    model_dir = tmp_path / "digits"
    saved_model_files(model_dir / "1", variables=b"old weights")
    newest = saved_model_files(model_dir / "2")
    staged = saved_model_files(model_dir / ".sigforge-staging-h-1-x", warmup=b"other synthetic requests")
    assert served_content_digest(staged) == served_content_digest(newest)
    assert identical_version(model_dir, staged) == (2, newest)


@pytest.mark.parametrize(
    "change",
    [
        lambda d: (d / "variables" / "variables.data-00000-of-00001").write_bytes(b"trained"),
        lambda d: (d / "saved_model.pb").write_bytes(b"GRAPH"),
        lambda d: (d / "assets").mkdir() or (d / "assets" / "vocabulary.txt").write_text("the\n"),
    ],
    ids=["weights", "graph", "an-asset"],
)
def test_a_staged_version_that_serves_anything_else_is_not_identical(tmp_path, change):
    model_dir = tmp_path / "digits"
    newest = saved_model_files(model_dir / "1")
    staged = saved_model_files(model_dir / ".sigforge-staging-h-1-x")
    change(staged)
    assert served_content_digest(staged) != served_content_digest(newest)
    assert identical_version(model_dir, staged) is None


def test_nothing_is_identical_in_a_model_directory_without_a_published_saved_model(tmp_path):
    model_dir = tmp_path / "digits"
    staged = saved_model_files(model_dir / ".sigforge-staging-h-1-x")
    assert identical_version(model_dir, staged) is None
    (model_dir / "3").mkdir()  # TF Serving's version 3, but no SavedModel in it
    assert identical_version(model_dir, staged) is None


def test_a_version_directory_resolves_to_itself_and_a_model_directory_to_its_newest(tmp_path):
    model_dir = tmp_path / "digits"
    for number in (2, 10, 9):
        saved_model_files(model_dir / str(number))
    assert resolve_export_dir(model_dir / "9") == model_dir / "9"
    assert resolve_export_dir(model_dir) == model_dir / "10"  # by number, not by name
    with pytest.raises(FileNotFoundError, match="no saved_model.pb and no numbered version"):
        resolve_export_dir(tmp_path)


def test_a_file_where_the_model_directory_would_go_is_refused_naming_model_name(tmp_path):
    (tmp_path / "digits").write_text("not a directory")
    with pytest.raises(ExportError, match=r"model.name = 'digits': .* is a file"):
        prepare_model_dir(tmp_path, "digits")


def test_a_file_where_a_pinned_version_would_go_is_refused(tmp_path):
    model_dir = tmp_path / "digits"
    model_dir.mkdir()
    (model_dir / "4").write_text("TF Serving reads this as version 4")
    staged = saved_model_files(model_dir / ".sigforge-staging-h-1-x")
    with pytest.raises(ExportError, match="is a file where version 4 would go"):
        publish(staged, model_dir, version=4)
    assert staged.is_dir()


def test_the_version_guard_runs_before_the_rename_and_its_refusal_publishes_nothing(tmp_path):
    model_dir = tmp_path / "digits"
    model_dir.mkdir()
    staged = saved_model_files(model_dir / ".sigforge-staging-h-1-x")
    seen = []

    def guard():
        seen.append(sorted(p.name for p in model_dir.iterdir()))
        raise ExportError("the contract changed")

    with pytest.raises(ExportError, match="the contract changed"):
        publish(staged, model_dir, check=guard)
    assert seen == [[staged.name]] and sorted(p.name for p in model_dir.iterdir()) == [staged.name]


def test_versions_count_up_and_are_never_overwritten(compose, plugins, tmp_path):
    from sigforge.config.validate import build_spec
    from sigforge.errors import ExportError
    from sigforge.pipeline import run_export

    cfg = compose(
        "+experiment=image_classifier", f"export.base_dir={tmp_path}", "export.publish_identical=true"
    )
    spec = build_spec(cfg, plugins)
    assert [run_export(spec, plugins).version for _ in range(2)] == [1, 2]
    pinned = build_spec(
        compose("+experiment=image_classifier", f"export.base_dir={tmp_path}", "export.version=2"), plugins
    )
    with pytest.raises(ExportError, match="already exists; published versions are never overwritten"):
        run_export(pinned, plugins)
    assert sorted(os.listdir(tmp_path / "image_classifier")) == ["1", "2"]


def test_publish_takes_the_next_number_when_another_process_won(tmp_path):
    from sigforge.export.versions import publish

    model_dir = tmp_path / "m"
    (model_dir / "1").mkdir(parents=True)
    (model_dir / "1" / "saved_model.pb").write_bytes(b"x")
    staged = model_dir / ".sigforge-staging-1-a"
    staged.mkdir()
    (staged / "saved_model.pb").write_bytes(b"y")
    assert publish(staged, model_dir) == (2, model_dir / "2")
    assert (model_dir / "2" / "saved_model.pb").read_bytes() == b"y"


def test_base_dir_that_cannot_be_created_is_refused(compose, plugins, tmp_path):
    from sigforge.config.validate import build_spec
    from sigforge.errors import ExportError
    from sigforge.pipeline import run_export

    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    cfg = compose("+experiment=image_classifier", f"export.base_dir={blocker / 'exports'}")
    with pytest.raises(ExportError, match="export.base_dir = .* cannot be created or written"):
        run_export(build_spec(cfg, plugins), plugins)


def test_model_dir_symlinked_out_of_base_dir_is_refused(compose, plugins, tmp_path):
    from sigforge.config.validate import build_spec
    from sigforge.errors import ExportError
    from sigforge.pipeline import run_export

    (tmp_path / "base").mkdir()
    (tmp_path / "elsewhere").mkdir()
    Path(tmp_path / "base" / "image_classifier").symlink_to(tmp_path / "elsewhere")
    cfg = compose("+experiment=image_classifier", f"export.base_dir={tmp_path / 'base'}")
    with pytest.raises(ExportError, match="outside export.base_dir"):
        run_export(build_spec(cfg, plugins), plugins)
    assert os.listdir(tmp_path / "elsewhere") == []


@pytest.mark.slow
def test_an_identical_re_export_publishes_nothing_and_says_which_version_it_equals(run_cli, tmp_path):
    """TF Serving would roll a byte-identical copy out as a new model; sigforge keeps the one it has."""
    import json

    first = run_cli("experiment=image_classifier")
    assert first.returncode == 0, first.stderr
    again = run_cli("experiment=image_classifier")
    assert again.returncode == 0, again.stderr
    result = json.loads(again.stdout.splitlines()[-1])
    assert result["version"] == 1 and result["published"] is False
    assert "image_classifier v1" in again.stderr and "nothing published" in again.stderr
    model_dir = tmp_path / "outputs" / "exports" / "image_classifier"
    assert sorted(os.listdir(model_dir)) == ["1"]
    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"sqlite:///{tmp_path / 'outputs' / 'mlflow.db'}")
    runs = client.search_runs([client.get_experiment_by_name("image_classifier").experiment_id])
    assert sorted(r.data.tags["sigforge.published"] for r in runs) == ["false", "true"]
    assert {r.info.status for r in runs} == {"FINISHED"}
    forced = run_cli("experiment=image_classifier", "export.publish_identical=true", "mlflow.enabled=false")
    assert forced.returncode == 0 and sorted(os.listdir(model_dir)) == ["1", "2"]
