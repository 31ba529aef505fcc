"""The SavedModel write: ``tf.saved_model.save`` into staging, then the signature method names
TF Serving's Classify and Regress APIs need, which TensorFlow cannot write itself."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sigforge.errors import ExportError, io_reason, one_line
from sigforge.export.versions import no_world_write


def write_saved_model(plan: Any, path: Path, method_names: Mapping[str, str]) -> None:
    """``tf.saved_model.save``, then set classify/regress method names it cannot write itself."""
    import tensorflow as tf

    try:
        tf.saved_model.save(plan.module, str(path), signatures=plan.functions)
    except (OSError, tf.errors.OpError) as err:
        raise ExportError(
            f"writing the SavedModel under export.base_dir failed ({path.parent}): {io_reason(err)[-300:]}; "
            "check free space, file size limits and permissions, or point export.base_dir elsewhere."
        ) from err
    except (ValueError, AssertionError) as err:
        raise ExportError(
            f"TensorFlow refused to save the model: {one_line(err)}. If a plugin model owns TF resources outside "
            "its layers, assign them to a layer attribute."
        ) from err
    no_world_write(path)
    changed = {k: v for k, v in method_names.items() if v != "tensorflow/serving/predict"}
    if changed:
        try:
            set_method_names(path, changed)
        except OSError as err:
            raise ExportError(
                f"setting the classify/regress method names in {path / 'saved_model.pb'} failed "
                f"({err.strerror}); check free space and file size limits under export.base_dir."
            ) from err


def set_method_names(path: Path, method_names: Mapping[str, str]) -> None:
    """Rewrite signature method names in ``saved_model.pb`` and refresh ``fingerprint.pb`` to match.

    ``tf.saved_model.save`` always writes ``tensorflow/serving/predict``; TF Serving's Classify and
    Regress APIs refuse a signature without their own method name. This is what TensorFlow's
    ``MethodNameUpdater`` does, without re-reading the SavedModel through the v1 loader.
    """
    from tensorflow.core.protobuf import saved_model_pb2
    from tensorflow.python.saved_model import fingerprinting_utils

    pb_path = path / "saved_model.pb"
    saved_model = saved_model_pb2.SavedModel()
    saved_model.ParseFromString(pb_path.read_bytes())
    for meta in saved_model.meta_graphs:
        for name, method in method_names.items():
            meta.signature_def[name].method_name = method
    tmp = pb_path.with_suffix(".pb.tmp")
    tmp.write_bytes(saved_model.SerializeToString(deterministic=True))
    os.replace(tmp, pb_path)
    fingerprint = path / "fingerprint.pb"
    if fingerprint.exists():
        fingerprint.unlink()
        fingerprinting_utils.write_fingerprint(str(path))
