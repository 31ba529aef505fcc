"""Bounded reads of files sigforge does not control (another tool's ``saved_model.pb``, a sparse
file, a FIFO): refused, naming the file, before they are read whole."""

from __future__ import annotations

import os
from pathlib import Path

from sigforge.errors import UnreadableSavedModel

# Protobuf's hard limit on one serialized message: TensorFlow refuses to write a saved_model.pb
# larger than this ("message is too large") and its loader (TF Serving's too) refuses to parse one.
# A larger file is no SavedModel anything can load, so nothing of it is read; up to the limit the
# file is read whole, as TensorFlow reads it (real SavedModels with large constants come near it).
MAX_SAVED_MODEL_BYTES = 2**31 - 1


def bounded_read(path: Path, limit: int, what: str, fix: str) -> bytes:
    """The bytes of ``path``, a file sigforge does not control, refused without reading it when it
    is larger than ``limit`` (a sparse file, another tool's content) or does not fit in this
    process's memory; ``what`` says what the file should be, ``fix`` what to do."""
    with open(path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        if size > limit:
            raise UnreadableSavedModel(
                f"{path} is {size} bytes, more than {what} can be ({limit} bytes); it is not one sigforge "
                f"or TF Serving can read, so sigforge did not read it. {fix}"
            )
        try:
            data = handle.read(size + 1)  # a file still growing is read up to its size at open, plus one
        except MemoryError:
            raise UnreadableSavedModel(
                f"{path} ({size} bytes) does not fit in the memory this process may use; raise the "
                f"memory limit (ulimit -v, the container's limit) to read it. {fix}"
            ) from None
    if len(data) > limit:
        raise UnreadableSavedModel(f"{path} grew past {limit} bytes while it was read. {fix}")
    return data


def read_saved_model_bytes(path: Path) -> bytes:
    """A ``saved_model.pb`` sigforge did not write (the newest version on disk, a registered one,
    ``inspect``'s and ``log``'s argument): read within ``MAX_SAVED_MODEL_BYTES``."""
    return bounded_read(
        path,
        MAX_SAVED_MODEL_BYTES,
        "a SavedModel's saved_model.pb (protobuf's 2 GiB limit)",
        "Re-export it, or remove that version directory.",
    )
