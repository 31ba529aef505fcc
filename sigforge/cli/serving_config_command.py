"""``sigforge serving-config [BASE_DIR]``: TF Serving's model config file, labels from MLflow aliases.

Prints (or writes atomically with ``-o FILE``) a ``ModelServerConfig`` in text format for
``tensorflow_model_server --model_config_file``: one entry per model directory under BASE_DIR that
holds versions. Each alias of a registered model whose versions sigforge registered from that
directory becomes a version label pointing at the aliased version's TF Serving version directory,
and the entry serves exactly the labelled versions; a model without aliases keeps TF Serving's
default policy (the newest version). MLflow is imported only when a tracking store exists.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
from pathlib import Path

from sigforge.errors import SigforgeError, exit_with, tell, without_credentials
from sigforge.report.serving_config import ModelEntry, hold_moves, model_dirs, read_config, render

PROG = "sigforge serving-config"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0])
    parser.add_argument(
        "base_dir", nargs="?", type=Path, default=Path("outputs/exports"),
        help="the export base directory (export.base_dir; default outputs/exports)",
    )  # fmt: skip
    parser.add_argument(
        "--tracking-uri", help="default: MLFLOW_TRACKING_URI, else sqlite:///outputs/mlflow.db here"
    )
    parser.add_argument(
        "-o", "--output", type=Path,
        help="write the config to FILE atomically (TF Serving may poll it) instead of printing it",
    )  # fmt: skip
    parser.add_argument(
        "--model", action="append", default=[], metavar="NAME", help="only this model (repeatable)"
    )
    parser.add_argument(
        "--alias", action="append", default=None, metavar="ALIAS",
        help="only this registry alias becomes a label (repeatable; default: every alias but latest_export)",
    )  # fmt: skip
    parser.add_argument(
        "--previous", type=Path,
        help="the config TF Serving runs now (default: the -o FILE, where it exists): a label moves "
        "only to a version it already serves",
    )  # fmt: skip
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        text, notes = _config(args)
        if args.output is None:
            sys.stdout.write(text)
        else:
            write_atomically(args.output, text)
    except (OSError, ValueError, SigforgeError) as err:
        exit_with(str(err), getattr(err, "exit_code", 2), prefix=PROG)
    for note in notes:
        tell(note, PROG)
    return 0


def _config(args: argparse.Namespace) -> tuple[str, list[str]]:
    """The config's text, and the lines that say what each model serves."""
    from sigforge.tracking.store import resolve_tracking_uri

    entries = model_dirs(args.base_dir, tuple(args.model))
    uri = resolve_tracking_uri(args.tracking_uri, Path.cwd(), create=False)
    labels = _labels(uri, entries, args.alias)
    if args.output is not None and args.output.is_dir():
        raise ValueError(f"-o {args.output} is a directory; give the file TF Serving reads (models.config)")
    previous = _previous(args.previous or (args.output if args.output and args.output.exists() else None))
    chosen, extra, notes = [], {}, []
    for entry in entries:
        found = labels.get(entry.base_path, {})
        old_labels, old_served = previous.get(entry.name, ({}, None))
        kept, held = hold_moves(
            {alias: label.version for alias, label in found.items()},
            old_labels,
            old_served or (),
            entry.versions,
        )
        for alias, (old, new) in held.items():
            extra.setdefault(entry.name, []).append(new)
            notes.append(
                f"{entry.name}: label '{alias}' stays at version {old} and version {new} is served beside it: "
                f"TF Serving refuses to move a label to a version it has not loaded. Run serving-config "
                f"again once version {new} is available, to move '{alias}'."
            )
        chosen.append(ModelEntry(entry.name, entry.base_path, entry.versions, kept))
        notes.append(_served_line(chosen[-1], found, extra.get(entry.name, [])))
    comment = [
        f"Written by sigforge serving-config from {args.base_dir.absolute()}",
        f"labels: the aliases of the MLflow registry at {without_credentials(uri)}",
    ]
    return render(chosen, comment, extra), notes


def _labels(uri: str, entries: list[ModelEntry], aliases: list[str] | None) -> dict:
    """Model directory -> alias -> Label, each checked against the versions on disk."""
    from sigforge.tracking.serving_labels import no_store, registry_labels

    if no_store(uri):
        return {}
    from sigforge.config.schema import MlflowConf
    from sigforge.tracking.store import configure_http

    defaults = MlflowConf()
    configure_http(defaults.http_timeout, defaults.http_retries)
    found = registry_labels(uri, [entry.base_path for entry in entries], aliases)
    for entry in entries:
        for label in found.get(entry.base_path, {}).values():
            on_disk = entry.base_path / str(label.version)
            if label.version not in entry.versions or not on_disk.exists():
                raise ValueError(
                    f"{label.uri} (registry version {label.registry_version}) is TF Serving version "
                    f"{label.version} of {entry.base_path}, which is not on disk: TF Serving could never "
                    f"load it and would refuse the label. Point the alias at a version on disk "
                    f"(MlflowClient().set_registered_model_alias), or restore {label.version_dir}."
                )
    return found


def _previous(path: Path | None) -> dict:
    if path is None:
        return {}
    try:
        return read_config(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise ValueError(f"--previous {path}: {err}; give the model config file TF Serving reads") from err


def _served_line(entry: ModelEntry, found: dict, beside: list[int]) -> str:
    if not entry.labels:
        return f"{entry.name}: no registry alias; TF Serving's default policy serves the newest version ({entry.versions[-1]})"
    named = ", ".join(
        f"{alias} -> {version} ({found[alias].uri})" for alias, version in sorted(entry.labels.items())
    )
    served = sorted({*entry.labels.values(), *beside})
    return f"{entry.name}: labels {named}; serves {', '.join(map(str, served))}"


def write_atomically(path: Path, text: str) -> None:
    """``text`` into ``path`` as one rename: a reader (TF Serving polling the file) sees the old
    file or the new one, never part of it. Nothing is left behind on failure."""
    directory = path.absolute().parent
    if not directory.is_dir():
        raise ValueError(f"-o {path}: directory {directory} does not exist; create it or choose another file")
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o666 & ~_umask()
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fchmod(handle.fileno(), mode)
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as err:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(err, OSError):
            raise ValueError(
                f"-o {path} cannot be replaced ({err.strerror or err}); it is left as it was. "
                "Give a file path in a directory you can write"
            ) from err
        raise
    with contextlib.suppress(OSError):  # the rename itself survives a crash once the directory is synced
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def _umask() -> int:
    current = os.umask(0o022)
    os.umask(current)
    return current


if __name__ == "__main__":
    sys.exit(main())
