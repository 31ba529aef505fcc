"""Atomic, TF Serving style versions: write aside, verify, then rename into ``<model_dir>/<version>``.

TF Serving loads any child it reads as a number under a model's base path (``rules.serving_version``), so a version must
appear whole or not at all. sigforge writes into a sibling staging directory whose name is not all
digits (``.sigforge-staging-<host>-<pid>-<random>``), verifies it there, and publishes it with one
``rename``, which is atomic on a POSIX filesystem. Two processes that pick the same number race on
the rename; the loser sees the directory exist and takes the next number. Staging directories of
writers that died (kill -9) are removed by the next export of the same model: a writer holds a lock
on its staging directory for as long as it lives, so "died" is proven, never guessed from a PID.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import shutil
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

from sigforge.errors import ExportError
from sigforge.rules import served_versions, version_name_problem

STAGING_PREFIX = ".sigforge-staging-"
MAX_PUBLISH_ATTEMPTS = 1000


def versions(model_dir: Path) -> list[int]:
    """The versions TF Serving sees in ``model_dir`` (``rules.served_versions``), ascending."""
    return sorted(served_versions(model_dir))


# What differs between two exports of the same model and weights without changing what is served:
# the warmup requests (synthetic inputs) and TensorFlow's fingerprint of the write.
_NOT_SERVED = ("fingerprint.pb", "assets.extra")


def _served_files(directory: Path) -> list[tuple[str, Path]]:
    """(relative path, path) of every file TF Serving would load from a version directory, sorted."""
    files = []
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        relative = path.relative_to(directory)
        if relative.parts[0] not in _NOT_SERVED:
            files.append((relative.as_posix(), path))
    return files


def served_content_digest(directory: Path) -> str:
    """A digest of what TF Serving would load from a version directory: the graph, the variables and
    the assets, byte for byte, by relative path."""
    digest = hashlib.sha256()
    for relative, path in _served_files(directory):
        digest.update(relative.encode() + b"\0")
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        digest.update(b"\0")
    return digest.hexdigest()


def identical_version(model_dir: Path, staged: Path) -> tuple[int, Path] | None:
    """The newest published version, when ``staged`` would serve exactly what it serves."""
    found = served_versions(model_dir)
    if not found:
        return None
    number = max(found)
    newest = found[number]
    if not (newest / "saved_model.pb").is_file():
        return None

    # Names and sizes first: a model's weights are read (twice) only when they may well be the same.
    def shape(directory: Path) -> list[tuple[str, int]]:
        return [(relative, path.stat().st_size) for relative, path in _served_files(directory)]

    if shape(newest) != shape(staged):
        return None
    return (number, newest) if served_content_digest(newest) == served_content_digest(staged) else None


def check_version_names(model_dir: Path) -> None:
    """Refuse a model directory whose children TF Serving and sigforge would number differently
    (``+7``, ``007``, `` 7 ``, ``-7``, ``²``): the version sigforge publishes might never be served."""
    if not model_dir.is_dir():
        return
    for child in sorted(model_dir.iterdir()):
        problem = version_name_problem(child.name)
        if problem:
            raise ExportError(
                f"{child}: {problem}. TF Serving's 'latest' policy serves the highest number it reads, "
                "so the next version is ambiguous; rename or move that entry out of the model directory."
            )


def resolve_export_dir(path: Path) -> Path:
    """A version directory as given, or a model directory's newest version."""
    if (path / "saved_model.pb").is_file():
        return path
    found = served_versions(path)
    if found:
        return found[max(found)]
    raise FileNotFoundError(f"{path} holds no saved_model.pb and no numbered version directory")


STALE_WITHOUT_LOCK_SECONDS = 24 * 3600  # a staging directory without a lock file (sigforge < 0.2)


def _lock_path(staging_dir: Path) -> Path:
    return staging_dir.with_name(staging_dir.name + ".lock")


def _lock_of_dead_writer(lock: Path) -> int | None:
    """An fd holding ``lock`` if nobody else holds it (its writer died), else None.

    ``flock`` is held by the open file, so it is seen from every process on the host whatever its
    PID namespace, and it dies with its holder, kill -9 included; NFS clients map it to a lock the
    server arbitrates. A PID would prove nothing across namespaces or hosts."""
    try:
        fd = os.open(lock, os.O_RDWR)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


def remove_stale_staging(model_dir: Path) -> list[Path]:
    """Delete staging directories whose writer provably died (their lock is free); return them."""
    removed: list[Path] = []
    if not model_dir.is_dir():
        return removed
    for path in model_dir.glob(STAGING_PREFIX + "*"):
        if path.name.endswith(".lock"):
            if not path.with_name(path.name[: -len(".lock")]).exists():  # its writer died after publishing
                fd = _lock_of_dead_writer(path)
                if fd is not None:
                    path.unlink(missing_ok=True)
                    os.close(fd)
            continue
        if not path.is_dir():
            continue
        lock = _lock_path(path)
        if not lock.exists():
            with contextlib.suppress(OSError):
                if time.time() - path.stat().st_mtime > STALE_WITHOUT_LOCK_SECONDS:
                    shutil.rmtree(path, ignore_errors=True)
                    removed.append(path)
            continue
        fd = _lock_of_dead_writer(lock)
        if fd is None:
            continue  # a live writer, on this host or another, in this PID namespace or another
        try:
            shutil.rmtree(path, ignore_errors=True)
            lock.unlink(missing_ok=True)
            removed.append(path)
        finally:
            os.close(fd)
    return removed


def prepare_summary_dir(directory: Path, key: str, model_dir: Path | None = None) -> Path:
    """Create the summary directory before the export, so an unwritable one is found before
    publishing. One inside ``model_dir`` is refused before anything is made there: TF Serving takes
    every numbered directory under a model's base path for a version (``<model>/7/summary`` would
    make a version 7 without ``saved_model.pb``), and a published version must not change."""
    if model_dir is not None:
        inside = Path(os.path.abspath(model_dir)).resolve()
        where = Path(os.path.abspath(directory)).resolve()
        if where == inside or inside in where.parents:
            raise ExportError(
                f"{key}: '{directory}' is inside the model directory {model_dir}, where TF Serving takes "
                "every numbered directory for a version and published versions never change; point "
                f"{key} outside {model_dir}."
            )
    try:
        _make_dirs(directory)
    except OSError as err:
        raise ExportError(
            f"{key}: '{directory}' cannot be created ({err.strerror}); point it at a writable directory."
        ) from err
    if not directory.is_dir() or not os.access(directory, os.W_OK | os.X_OK):
        raise ExportError(f"{key}: '{directory}' is not a writable directory; point it at one.")
    return directory


def prepare_model_dir(base_dir: Path, model_name: str) -> Path:
    """Create ``base_dir/model_name`` (refusing paths that leave base_dir) and check it is writable."""
    model_dir = base_dir / model_name
    if model_dir.exists() and not model_dir.is_dir():
        raise ExportError(
            f"model.name = '{model_name}': {model_dir} is a file, where the model's directory of versions "
            "would go; move the file away or choose another model.name."
        )
    try:
        base_resolved = base_dir.resolve()
        _make_dirs(model_dir)
    except OSError as err:
        raise ExportError(
            f"export.base_dir = '{base_dir}' cannot be created or written ({err.strerror}); "
            "point export.base_dir at a writable directory."
        ) from err
    if model_dir.resolve().parent != base_resolved:
        raise ExportError(
            f"model.name = '{model_name}' resolves to {model_dir.resolve()}, outside export.base_dir "
            f"({base_resolved}), through a symlink; remove the link or choose another model.name."
        )
    if not os.access(model_dir, os.W_OK | os.X_OK):
        raise ExportError(
            f"export.base_dir: '{model_dir}' is not writable by this user; "
            "point export.base_dir at a writable directory or fix its permissions."
        )
    check_version_names(model_dir)
    return model_dir


@contextlib.contextmanager
def staging(model_dir: Path) -> Iterator[Path]:
    """A fresh staging directory, removed on exit unless it was published (renamed away).

    Its writer holds an exclusive ``flock`` on a sibling ``<staging>.lock`` from before the directory
    exists until it is gone, so that no other exporter, in any PID namespace or on any host sharing
    the filesystem, mistakes it for the leftover of a dead process."""
    remove_stale_staging(model_dir)
    path = model_dir / f"{STAGING_PREFIX}{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:12]}"
    lock = _lock_path(path)
    try:
        fd = os.open(lock, os.O_CREAT | os.O_RDWR, 0o644)
    except OSError as err:
        raise ExportError(
            f"export.base_dir: cannot create {lock} ({err.strerror}); check the model directory's permissions."
        ) from err
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield path
    finally:
        if path.exists():
            shutil.rmtree(path, ignore_errors=True)
        lock.unlink(missing_ok=True)
        os.close(fd)


def publish(
    staged: Path, model_dir: Path, version: int | None = None, check: Callable[[], None] | None = None
) -> tuple[int, Path]:
    """Rename the verified staging directory to the next free version (or ``version``).

    ``check`` runs before every rename attempt (the version guard), so a version another process
    published meanwhile is judged too. The version is first made readable by whoever can read the
    model directory (``readable_like``).
    """
    readable_like(staged, model_dir)
    for _ in range(MAX_PUBLISH_ATTEMPTS):
        newest = max(versions(model_dir), default=0)
        number = version if version is not None else newest + 1
        if number < newest:
            raise ExportError(
                f"export.version = {version}: {model_dir / str(newest)} is a higher version, which TF "
                "Serving's 'latest' policy would keep serving instead; set export.version=null for the "
                "next free version."
            )
        target = model_dir / str(number)
        if target.exists() and not target.is_dir():
            raise ExportError(
                f"{target} is a file where version {number} would go (TF Serving reads numeric names as "
                "versions, files included); move it out of the model directory."
            )
        if target.exists():
            if version is not None:
                raise ExportError(
                    f"export.version = {version}: {target} already exists; published versions are never "
                    "overwritten. Set export.version=null for the next free version."
                )
            continue
        if check is not None:
            check()
        try:
            os.rename(staged, target)
        except OSError as err:
            if err.errno in (errno.EEXIST, errno.ENOTEMPTY) and version is None:
                continue  # another process took this number first: take the next one
            raise ExportError(f"could not publish {staged} as {target}: {err.strerror}") from err
        _fsync_dir(model_dir)
        return number, target
    raise ExportError(
        f"could not find a free version number in {model_dir} after {MAX_PUBLISH_ATTEMPTS} tries"
    )


def readable_like(staged: Path, model_dir: Path) -> None:
    """Give a version the read (and, for directories, search) access for group and others that
    the model directory grants them, whatever the umask of the process publishing it.

    TF Serving often runs as another user: under ``umask 077`` a version would come out 700/600
    beside versions at 755/644, and the server would fail on the version it picks next. Whoever
    may list the model directory (its mode, set when it was made, or since by its owner) may read
    its versions; a model directory private to its owner keeps its versions private. Write access
    is never added (``no_world_write``)."""
    shared = model_dir.stat().st_mode & 0o055  # group/other r-x that the model directory grants
    if not shared:
        return
    for item in [staged, *staged.rglob("*")]:
        if item.is_symlink():
            continue
        mode = item.lstat().st_mode & 0o7777
        # directories: read and search; files: read, and execute only where their owner may
        file_bits = (shared & 0o044) | (shared & 0o011 if mode & 0o100 else 0)
        wanted = mode | (shared if item.is_dir() else file_bits)
        if wanted != mode:
            item.chmod(wanted)


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _make_dirs(path: Path) -> None:
    """``mkdir -p`` whose new directories are never world-writable, even under umask 000."""
    missing = []
    while not path.exists():
        missing.append(path)
        path = path.parent
    for directory in reversed(missing):
        directory.mkdir(mode=0o775, exist_ok=True)


def no_world_write(path: Path) -> None:
    """Exported files follow the user's umask but are never world-writable, whatever the umask."""
    for item in [path, *path.rglob("*")]:
        mode = item.lstat().st_mode
        if mode & 0o002 and not item.is_symlink():
            item.chmod(mode & ~0o002 & 0o7777)
