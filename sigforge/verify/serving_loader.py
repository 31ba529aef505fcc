"""A SavedModel loaded the way TF Serving loads it: TensorFlow's C++ loader, through the C API.

TF Serving links ``LoadSavedModel`` (``tensorflow/cc/saved_model/loader.cc``): it imports the
MetaGraph into a Session, runs the saver's restore op, feeds the asset paths and runs the init op,
then serves each signature by *tensor name* with ``Session::Run``. ``tf.saved_model.load`` does none
of that (it restores through the object graph and calls concrete functions), so a SavedModel can pass
it and still fail in TF Serving. This module calls the same C++ loader, ``TF_LoadSessionFromSavedModel``
from ``libtensorflow_cc.so.2`` (shipped inside the tensorflow wheel), and ``TF_SessionRun``, with
ctypes; strings travel as ``TF_TString`` like any other dtype (its size measured in the library).

TensorFlow must already be imported: the libraries are the ones the Python package loaded, so no
second copy of TensorFlow is mapped into the process.
"""

from __future__ import annotations

import ctypes
import re
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from sigforge.contract.read import SERVING_TAG

LOADER = "TensorFlow's C++ SavedModel loader (TF_LoadSessionFromSavedModel, as TF Serving loads it)"
_DT_STRING = 7
_NODE = re.compile(r"\{\{node ([^}]+)\}\}")


class ServingLoadError(Exception):
    """The C++ loader refused the SavedModel or a signature failed; ``op`` is the first failing node."""

    def __init__(self, message: str, op: str | None = None) -> None:
        super().__init__(message)
        self.op = op


class _Output(ctypes.Structure):
    _fields_ = [("oper", ctypes.c_void_p), ("index", ctypes.c_int)]


class _Buffer(ctypes.Structure):
    _fields_ = [("data", ctypes.c_void_p), ("length", ctypes.c_size_t), ("dealloc", ctypes.c_void_p)]


_SIGNATURES = {
    # name: (restype, argtypes)
    "TF_NewStatus": (ctypes.c_void_p, []),
    "TF_DeleteStatus": (None, [ctypes.c_void_p]),
    "TF_GetCode": (ctypes.c_int, [ctypes.c_void_p]),
    "TF_Message": (ctypes.c_char_p, [ctypes.c_void_p]),
    "TF_NewGraph": (ctypes.c_void_p, []),
    "TF_DeleteGraph": (None, [ctypes.c_void_p]),
    "TF_GraphOperationByName": (ctypes.c_void_p, [ctypes.c_void_p, ctypes.c_char_p]),
    "TF_NewSessionOptions": (ctypes.c_void_p, []),
    "TF_DeleteSessionOptions": (None, [ctypes.c_void_p]),
    "TF_NewBuffer": (ctypes.POINTER(_Buffer), []),
    "TF_DeleteBuffer": (None, [ctypes.POINTER(_Buffer)]),
    "TF_LoadSessionFromSavedModel": (
        ctypes.c_void_p,
        [
            ctypes.c_void_p,  # session options
            ctypes.c_void_p,  # run options
            ctypes.c_char_p,  # export dir
            ctypes.POINTER(ctypes.c_char_p),  # tags
            ctypes.c_int,
            ctypes.c_void_p,  # graph
            ctypes.POINTER(_Buffer),  # meta graph def (out)
            ctypes.c_void_p,  # status
        ],
    ),
    "TF_SessionRun": (
        None,
        [
            ctypes.c_void_p,
            ctypes.c_void_p,
            ctypes.POINTER(_Output),
            ctypes.POINTER(ctypes.c_void_p),
            ctypes.c_int,
            ctypes.POINTER(_Output),
            ctypes.POINTER(ctypes.c_void_p),
            ctypes.c_int,
            ctypes.c_void_p,
            ctypes.c_int,
            ctypes.c_void_p,
            ctypes.c_void_p,
        ],
    ),
    "TF_CloseSession": (None, [ctypes.c_void_p, ctypes.c_void_p]),
    "TF_DeleteSession": (None, [ctypes.c_void_p, ctypes.c_void_p]),
    "TF_AllocateTensor": (
        ctypes.c_void_p,
        [ctypes.c_int, ctypes.POINTER(ctypes.c_int64), ctypes.c_int, ctypes.c_size_t],
    ),
    "TF_DeleteTensor": (None, [ctypes.c_void_p]),
    "TF_TensorData": (ctypes.c_void_p, [ctypes.c_void_p]),
    "TF_TensorByteSize": (ctypes.c_size_t, [ctypes.c_void_p]),
    "TF_TensorType": (ctypes.c_int, [ctypes.c_void_p]),
    "TF_NumDims": (ctypes.c_int, [ctypes.c_void_p]),
    "TF_Dim": (ctypes.c_int64, [ctypes.c_void_p, ctypes.c_int]),
    "TF_StringInit": (None, [ctypes.c_void_p]),
    "TF_StringCopy": (None, [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t]),
    "TF_StringGetDataPointer": (ctypes.c_void_p, [ctypes.c_void_p]),
    "TF_StringGetSize": (ctypes.c_size_t, [ctypes.c_void_p]),
}


@cache
class CApi:
    """TensorFlow's C functions sigforge calls, each an attribute typed from ``_SIGNATURES``."""

    def __getattr__(self, name: str) -> Any:  # only reached for a function _c_api did not bind
        raise AttributeError(f"{name} is not among the C functions sigforge binds (_SIGNATURES)")


def _c_api() -> CApi:
    """The C API of the TensorFlow the Python package loaded (``libtensorflow_cc`` + ``_framework``)."""
    import tensorflow as tf

    root = Path(tf.__file__).parent
    libraries = []
    for name in ("libtensorflow_framework.so.2", "libtensorflow_cc.so.2"):
        path = root / name
        if path.exists():
            libraries.append(ctypes.CDLL(str(path), mode=ctypes.RTLD_GLOBAL))
    if not libraries:
        raise ServingLoadError(f"libtensorflow_cc.so.2 is not in {root}: this TensorFlow build has no C API")

    api = CApi()
    for name, (restype, argtypes) in _SIGNATURES.items():
        for library in libraries:
            try:
                fn = getattr(library, name)
            except AttributeError:
                continue
            fn.restype, fn.argtypes = restype, argtypes
            setattr(api, name, fn)
            break
        else:
            raise ServingLoadError(f"TensorFlow's C API lacks {name} in {root}")
    return api


def _tensor_name(name: str) -> tuple[str, int]:
    op, _, index = name.partition(":")
    return op, int(index or 0)


class ServingSession:
    """One SavedModel in one C++ Session, as TF Serving holds it; ``run`` feeds a signature by key."""

    def __init__(self, export_dir: Path | str, tags: tuple[str, ...] = (SERVING_TAG,)) -> None:
        from tensorflow.core.protobuf import meta_graph_pb2

        self._api = api = _c_api()
        self._status = api.TF_NewStatus()
        self._graph = api.TF_NewGraph()
        options = api.TF_NewSessionOptions()
        meta_buffer = api.TF_NewBuffer()
        c_tags = (ctypes.c_char_p * len(tags))(*(t.encode() for t in tags))
        try:
            self._session = api.TF_LoadSessionFromSavedModel(
                options,
                None,
                str(export_dir).encode(),
                c_tags,
                len(tags),
                self._graph,
                meta_buffer,
                self._status,
            )
            self._raise_for_status("loading the SavedModel")
            meta = meta_buffer.contents
            self.meta_graph = meta_graph_pb2.MetaGraphDef.FromString(ctypes.string_at(meta.data, meta.length))
        except BaseException:
            self.close()
            raise
        finally:
            api.TF_DeleteBuffer(meta_buffer)
            api.TF_DeleteSessionOptions(options)

    @property
    def signature_def(self) -> Mapping[str, Any]:
        return self.meta_graph.signature_def

    def run(self, signature: str, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Feed ``feeds`` (client key -> array) to the signature's input tensors, fetch every output."""
        return self.run_all({signature: feeds})[signature]

    def run_all(self, requests: Mapping[str, Mapping[str, np.ndarray]]) -> dict[str, dict[str, np.ndarray]]:
        """Several signatures in one ``Session::Run``: each run of new feeds and fetches prunes and
        compiles the whole graph, so one call keeps verifying 50 signatures linear, not quadratic."""
        import tensorflow as tf

        api = self._api
        feeds: list[tuple[str, str]] = []
        fetches: list[tuple[str, str]] = []
        for signature, given in requests.items():
            sig = self.signature_def[signature]
            missing = sorted(set(sig.inputs) - set(given))
            if missing:
                raise ServingLoadError(f"signature '{signature}' needs inputs {missing}")
            feeds += [(signature, key) for key in sorted(sig.inputs)]
            fetches += [(signature, key) for key in sorted(sig.outputs)]
        defs = self.signature_def
        inputs = (_Output * len(feeds))(*(self._output(defs[s].inputs[k].name) for s, k in feeds))
        outputs = (_Output * len(fetches))(*(self._output(defs[s].outputs[k].name) for s, k in fetches))
        values = [
            _to_tensor(api, np.asarray(requests[s][k]), tf.as_dtype(defs[s].inputs[k].dtype))
            for s, k in feeds
        ]
        c_values = (ctypes.c_void_p * len(values))(*values)
        fetched = (ctypes.c_void_p * len(fetches))()
        try:
            api.TF_SessionRun(
                self._session, None, inputs, c_values, len(values), outputs, fetched, len(fetches),
                None, 0, None, self._status,
            )  # fmt: skip
            self._raise_for_status(f"running signature(s) {', '.join(map(repr, requests))}")
            answers: dict[str, dict[str, np.ndarray]] = {signature: {} for signature in requests}
            for i, (s, k) in enumerate(fetches):
                answers[s][k] = _from_tensor(api, fetched[i], tf.as_dtype(defs[s].outputs[k].dtype))
            return answers
        finally:
            for tensor in (*values, *fetched):
                if tensor:
                    api.TF_DeleteTensor(tensor)

    def _output(self, tensor_name: str) -> _Output:
        op_name, index = _tensor_name(tensor_name)
        op = self._api.TF_GraphOperationByName(self._graph, op_name.encode())
        if not op:
            raise ServingLoadError(
                f"tensor '{tensor_name}' named in signature_def is not in the graph", op_name
            )
        return _Output(op, index)

    def _raise_for_status(self, doing: str) -> None:
        if self._api.TF_GetCode(self._status) != 0:
            message = (self._api.TF_Message(self._status) or b"").decode(errors="replace")
            node = _NODE.search(message)
            first_line = message.strip().splitlines()[0] if message.strip() else "unknown error"
            raise ServingLoadError(f"{doing}: {first_line}", node.group(1) if node else None)

    def close(self) -> None:
        api = self._api
        if getattr(self, "_session", None):
            api.TF_CloseSession(self._session, self._status)
            api.TF_DeleteSession(self._session, self._status)
            self._session = None
        if getattr(self, "_graph", None):
            api.TF_DeleteGraph(self._graph)
            self._graph = None
        if getattr(self, "_status", None):
            api.TF_DeleteStatus(self._status)
            self._status = None

    def __enter__(self) -> ServingSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@cache
def tstring_size() -> int:
    """``sizeof(TF_TString)`` in the loaded library, measured rather than assumed.

    The C API has no sizeof for it, but ``TF_StringInit`` zeroes exactly one ``TF_TString``
    (``memset(str, 0, sizeof(TF_TString))``, tensorflow/core/platform/ctstring_internal.h): its
    zeroed prefix in a buffer of 0xFF bytes is the size. A string tensor's buffer is that many bytes
    per element, so a wrong size would corrupt every string fed to or read from the session.
    """
    probe = (ctypes.c_ubyte * 256)(*([0xFF] * 256))
    _c_api().TF_StringInit(ctypes.addressof(probe))
    size = next((i for i, byte in enumerate(probe) if byte != 0), len(probe))
    if size == 0 or size == len(probe) or size % 8:
        raise ServingLoadError(
            f"TF_StringInit zeroed {size} bytes; cannot tell this TensorFlow's TF_TString size"
        )
    return size


def _to_tensor(api: Any, value: np.ndarray, dtype: Any) -> int:
    dims = (ctypes.c_int64 * value.ndim)(*value.shape)
    if dtype.as_datatype_enum == _DT_STRING:
        flat = [v if isinstance(v, bytes) else str(v).encode() for v in value.reshape(-1)]
        step = tstring_size()
        tensor = api.TF_AllocateTensor(_DT_STRING, dims, value.ndim, step * len(flat))
        base = api.TF_TensorData(tensor)
        for i, item in enumerate(flat):
            api.TF_StringInit(base + i * step)
            api.TF_StringCopy(base + i * step, item, len(item))
        return tensor
    data = np.ascontiguousarray(value, dtype=dtype.as_numpy_dtype)
    tensor = api.TF_AllocateTensor(dtype.as_datatype_enum, dims, value.ndim, data.nbytes)
    ctypes.memmove(api.TF_TensorData(tensor), data.ctypes.data, data.nbytes)
    return tensor


def _from_tensor(api: Any, tensor: int, dtype: Any) -> np.ndarray:
    shape = tuple(api.TF_Dim(tensor, i) for i in range(api.TF_NumDims(tensor)))
    base = api.TF_TensorData(tensor)
    if api.TF_TensorType(tensor) == _DT_STRING:
        count, step = int(np.prod(shape, dtype=np.int64)), tstring_size()
        items = [
            ctypes.string_at(
                api.TF_StringGetDataPointer(base + i * step), api.TF_StringGetSize(base + i * step)
            )
            for i in range(count)
        ]
        return np.array(items, dtype=object).reshape(shape)
    size = api.TF_TensorByteSize(tensor)
    raw = ctypes.string_at(base, size)
    return np.frombuffer(raw, dtype=dtype.as_numpy_dtype).reshape(shape).copy()
