"""Verification of a written SavedModel, in its staging directory, before it is published.

Three views must agree with the spec: the MetaGraph's ``signature_def`` (what TF Serving and
``saved_model_cli`` read), the signatures ``tf.saved_model.load`` returns, and the numbers: every
signature is called with synthetic inputs (``sigforge.verify.inputs``) of the declared dtypes and shapes (free dimensions 2,
real tf.Examples for classify and regress) and must return a batch of finite values equal to the
in-memory model's, first through ``tf.saved_model.load`` and then through TensorFlow's C++ loader,
the one TF Serving links (``sigforge.verify.serving_loader``): a SavedModel can pass one and fail the other.
The report is plain data for the summary and MLflow stages.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf

from sigforge.contract.read import (
    Contract,
    TensorContract,
    contract_to_dict,
    expected_contract,
    mismatches,
    read_contract,
)
from sigforge.errors import VerificationError
from sigforge.report.requests import is_binary
from sigforge.spec import ExportSpec, SignatureSpec
from sigforge.verify.inputs import SMOKE_BATCH, Reference
from sigforge.verify.portability import onnx_problems, runtime_blockers, tflite_problems

# Up to this much in variables the two loaders run side by side; above it one after the other, so
# that an export's peak memory is one copy of its weights plus this much, whatever the machine has.
LOAD_BESIDE_BYTES = 64 * 2**20
RTOL, ATOL = 1e-4, 1e-5


@dataclass
class SmokeResult:
    signature: str
    batch: int
    outputs: dict[str, dict[str, Any]]  # key -> {"dtype", "shape"} of what the call returned
    finite: bool
    max_abs_diff: float  # reloaded vs in-memory


@dataclass
class VerificationReport:
    """What was checked and what the written SavedModel holds; serializable with ``to_dict``."""

    verified_dir: str  # where the checks ran: the staging directory, before it was published
    contract: dict[str, Any]
    checks: list[str] = field(default_factory=list)
    smoke: dict[str, SmokeResult] = field(default_factory=dict)
    seconds: float = 0.0
    # signature -> key -> the synthetic batch each signature was called with (an MLflow input example)
    inputs: dict[str, dict[str, np.ndarray]] = field(default_factory=dict, repr=False)
    # signature -> the in-graph string ops that stop TFLite, ONNX Runtime and TF.js ([]: none)
    runtime_blockers: dict[str, list[str]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = {k: v for k, v in asdict(self).items() if k != "inputs"}
        return {**data, "smoke": {k: asdict(v) for k, v in self.smoke.items()}}

    def binary_inputs(self) -> dict[str, list[str]]:
        """Per signature, the keys whose verified client data are bytes that are not UTF-8 (encoded
        images, serialized protos): TF Serving's REST API takes those only as ``{"b64": ...}``."""
        found: dict[str, list[str]] = {}
        for signature, args in self.inputs.items():
            keys = [key for key, value in args.items() if is_binary(value)]
            if keys:
                found[signature] = sorted(keys)
        return found


def _other_runtimes(
    path: Path, spec: ExportSpec, report: VerificationReport, references: Mapping[str, Reference]
) -> list[str]:
    """``export.targets``: the runtimes besides TensorFlow that each signature must also answer in."""
    checks = {
        "tflite": (tflite_problems, "TFLite"),
        "onnx": (onnx_problems, "ONNX Runtime (through tf2onnx)"),
    }
    problems = []
    for target in spec.targets:
        check, runtime = checks[target]
        problems += check(path, report.runtime_blockers, references)
        report.checks.append(f"every signature converts to {runtime} and answers there as in TensorFlow")
    return problems


def _both_loaders(
    path: Path,
    spec: ExportSpec,
    written: Any,
    requests: Mapping[str, Mapping[str, np.ndarray]],
    references: Mapping[str, Reference],
    report: VerificationReport,
) -> tuple[list[str], list[str]]:
    """The problems ``tf.saved_model.load`` finds, and those TF Serving's C++ loader finds.

    The C++ loader runs in C with the GIL released: for a small model it loads and answers beside
    tf.saved_model.load. A big one waits, so that two copies of its weights never coexist."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        beside = None
        if _side_by_side(_variables_bytes(path)):
            beside = pool.submit(serving_loader_check, path, spec, requests, references)
        load_problems = _tf_saved_model_load_check(path, spec, written, references, report)
        if beside is None:
            gc.collect()  # the restored object graph is cyclic: free its weights before the next load
        serving_problems = (
            beside.result() if beside is not None else serving_loader_check(path, spec, requests, references)
        )
    return load_problems, serving_problems


def verify(
    path: Path, spec: ExportSpec, client_specs: Mapping[str, Any], references: Mapping[str, Reference]
) -> VerificationReport:
    """Check ``path`` against ``spec``, the clients' specs and the in-memory ``references``;
    raise VerificationError on any difference."""
    start = time.perf_counter()
    expected = expected_contract(spec, client_specs)
    written = read_contract(path)
    problems = mismatches(expected, written, "saved_model.pb")
    report = VerificationReport(str(path), contract_to_dict(written))
    report.checks.append("signature_def in saved_model.pb equals the spec")
    report.runtime_blockers = runtime_blockers(path)
    if problems:
        raise VerificationError(problems, report)

    problems += _serving_validity(path, spec)
    report.checks.append("every signature passes TF Serving's signature validity rules (is_valid_signature)")
    if problems:
        raise VerificationError(problems, report)

    report.inputs = {name: {k: v.numpy() for k, v in ref.inputs.items()} for name, ref in references.items()}
    requests: Mapping[str, Mapping[str, np.ndarray]] = report.inputs
    if spec.warmup:
        requests, warmup_problems = _read_back_warmup(path, spec)
        if warmup_problems:
            raise VerificationError(warmup_problems, report)

    load_problems, serving_problems = _both_loaders(path, spec, written, requests, references, report)
    problems += load_problems
    if problems:
        raise VerificationError(problems, report)
    problems += serving_problems
    report.checks.append(
        "every signature answers in TensorFlow's C++ SavedModel loader, the one TF Serving links "
        "(restore op, init op, tensors by name), with outputs equal to the in-memory model's"
        + (", on the requests read back from assets.extra/tf_serving_warmup_requests" if spec.warmup else "")
    )
    if problems:
        raise VerificationError(problems, report)
    problems += _other_runtimes(path, spec, report, references)
    report.seconds = time.perf_counter() - start
    if problems:
        raise VerificationError(problems, report)
    return report


def _variables_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in (path / "variables").glob("*") if p.is_file())


def _side_by_side(variables: int) -> bool:
    """Whether the two loaders may each hold the weights at once (the C API call releases the GIL,
    so side by side is faster); otherwise the second load waits for the first one's weights to be
    freed, and verification never needs more than one copy beside the process."""
    return variables <= LOAD_BESIDE_BYTES


def _tf_saved_model_load_check(
    path: Path,
    spec: ExportSpec,
    written: Contract,
    references: Mapping[str, Reference],
    report: VerificationReport,
) -> list[str]:
    """The signatures ``tf.saved_model.load`` returns, and their answers (what MLflow's pyfunc uses)."""
    loaded = tf.saved_model.load(str(path))
    problems = mismatches(written, _loaded_contract(loaded, written), "tf.saved_model.load")
    report.checks.append("signatures returned by tf.saved_model.load equal saved_model.pb")
    if problems:
        return problems
    for sig in spec.signatures:
        reference = references[sig.name]
        reloaded = loaded.signatures[sig.name](**reference.inputs)
        result, sig_problems = _check_outputs(
            sig, {k: v.numpy() for k, v in reloaded.items()}, reference.outputs, "tf.saved_model.load"
        )
        report.smoke[sig.name] = result
        problems += sig_problems
    report.checks.append(
        f"every signature called through tf.saved_model.load with batch {SMOKE_BATCH}: batch size, "
        "finite values, outputs equal the in-memory model's"
    )
    return problems


def serving_loader_check(
    path: Path,
    spec: ExportSpec,
    inputs: Mapping[str, Mapping[str, np.ndarray]],
    references: Mapping[str, Reference],
) -> list[str]:
    """Load ``path`` as TF Serving does and run every signature on ``inputs``; the problems found."""
    from sigforge.verify.serving_loader import LOADER, ServingLoadError, ServingSession

    def failed(what: str, err: ServingLoadError) -> str:
        where = f" (first failing op: {err.op})" if err.op else ""
        return (
            f"{LOADER}: {what} failed{where}: {str(err).rstrip('.')}. TF Serving would refuse this SavedModel"
        )

    try:
        session = ServingSession(path)
    except ServingLoadError as err:
        return [failed("loading the SavedModel", err)]
    problems: list[str] = []
    with session:
        try:  # every signature in one Session::Run; on failure, one by one to name the signature
            answers = session.run_all({sig.name: inputs[sig.name] for sig in spec.signatures})
        except ServingLoadError:
            answers = {}
            for sig in spec.signatures:
                try:
                    answers[sig.name] = session.run(sig.name, inputs[sig.name])
                except ServingLoadError as err:
                    problems.append(failed(f"signature '{sig.name}'", err))
        for sig in spec.signatures:
            if sig.name in answers:
                problems += _check_outputs(sig, answers[sig.name], references[sig.name].outputs, LOADER)[1]
    return problems


def _read_back_warmup(path: Path, spec: ExportSpec) -> tuple[dict[str, dict[str, np.ndarray]], list[str]]:
    """The warmup file's requests by signature; a problem for a signature without exactly one."""
    from sigforge.export.warmup import WARMUP_FILE, read_warmup

    requests: dict[str, dict[str, np.ndarray]] = {}
    problems = []
    for signature, feeds in read_warmup(path):
        if signature in requests:
            problems.append(f"{WARMUP_FILE} holds two requests for signature '{signature}'")
        requests[signature] = feeds
    missing = sorted({s.name for s in spec.signatures} - set(requests))
    if missing:
        problems.append(f"{WARMUP_FILE} holds no request for signature(s) {', '.join(missing)}")
    return requests, problems


def _serving_validity(path: Path, spec: ExportSpec) -> list[str]:
    """TensorFlow's own check of what TF Serving's Classify/Regress/Predict APIs accept."""
    from tensorflow.core.protobuf import saved_model_pb2

    saved_model = saved_model_pb2.SavedModel()
    saved_model.ParseFromString((path / "saved_model.pb").read_bytes())
    is_valid = tf.compat.v1.saved_model.signature_def_utils.is_valid_signature
    signature_defs = saved_model.meta_graphs[0].signature_def
    return [
        f"saved_model.pb: signature '{sig.name}' ({sig.method_name}) is not one TF Serving accepts"
        for sig in spec.signatures
        if not is_valid(signature_defs[sig.name])
    ]


def _loaded_contract(loaded: Any, written: Contract) -> Contract:
    from sigforge.contract.read import SignatureContract

    contract: Contract = {}
    for name, fn in loaded.signatures.items():
        _, kwargs = fn.structured_input_signature
        outputs = fn.structured_outputs
        contract[name] = SignatureContract(
            name,
            written[name].method_name if name in written else "",  # the loader does not expose methods
            {k: TensorContract(s.dtype.name, tuple(s.shape.as_list())) for k, s in kwargs.items()},
            {k: TensorContract(s.dtype.name, tuple(s.shape.as_list())) for k, s in outputs.items()},
        )
    return contract


def _check_outputs(
    sig: SignatureSpec, reloaded: Mapping[str, np.ndarray], in_memory: Mapping[str, np.ndarray], loader: str
) -> tuple[SmokeResult, list[str]]:
    problems = []
    finite = True
    max_diff = 0.0
    shapes = {}
    for key, value in reloaded.items():
        value = np.asarray(value)
        shapes[key] = {
            "dtype": "string" if value.dtype == object else value.dtype.name,
            "shape": list(value.shape),
        }
        if value.ndim == 0 or value.shape[0] != SMOKE_BATCH:
            problems.append(
                f"signature '{sig.name}' output '{key}' has shape {list(value.shape)} for a batch of "
                f"{SMOKE_BATCH} in {loader}; its first dimension must be the batch"
            )
        expected = in_memory[key]
        if value.dtype.kind in "fc":
            if not np.all(np.isfinite(value)):
                finite = False
                problems.append(f"signature '{sig.name}' output '{key}' holds NaN or infinite values")
            if value.shape == expected.shape and value.size:
                max_diff = max(max_diff, float(np.max(np.abs(value - expected))))
            if value.shape != expected.shape or not np.allclose(value, expected, rtol=RTOL, atol=ATOL):
                problems.append(
                    f"signature '{sig.name}' output '{key}' differs between {loader} and the in-memory model"
                )
        elif value.shape != expected.shape or not np.array_equal(value, expected):
            problems.append(
                f"signature '{sig.name}' output '{key}' differs between {loader} and the in-memory model"
            )
    return SmokeResult(sig.name, SMOKE_BATCH, shapes, finite, max_diff), problems
