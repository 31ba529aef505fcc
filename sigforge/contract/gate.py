"""Who decides what is published: the one answer to "may this version be published?".

TF Serving serves the newest numbered version of a model directory, and the model registry's
latest version is what ``models:/<name>@latest_export`` clients load; a version that breaks the
clients of either must not appear. Every place that needs the answer asks here, at a named moment
(``Moment``), and gets a typed ``Verdict``:

- ``EARLY``: before TensorFlow is imported, on what the config alone fixes of the contract
  (``read.known_contract``): against the newest version on disk, whoever wrote it (``on_disk``);
  the registry's latest version (``in_registry``, its version read by tracking and handed in); and,
  for a sweep, between the jobs that share a model directory (``between_jobs``);
- ``FINAL``: on the written contract in full, under the publish lock (``export.versions.publish``
  asks ``on_disk``) and before the version is published and registered (``in_registry``);
- ``DRY_RUN``: reported (``Verdict.as_dict``), never raised.

Which changes break clients is ``compat.compare_contracts``'s alone (signatures, keys, dtypes,
shapes, methods, tf.Example features); this module turns its changes into the decision and the
words that explain it. Tracking records a verdict, the CLI prints it; no other module decides.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from sigforge.contract.compat import Change, compare_contracts, render, render_markdown
from sigforge.errors import BreakingChange, ContractRefused, RegistrationRefused
from sigforge.rules import served_versions

__all__ = [
    "Moment",
    "RegisteredVersion",
    "Verdict",
    "between_jobs",
    "in_registry",
    "newest_on_disk",
    "on_disk",
]


class Moment(enum.Enum):
    """When a verdict is asked (see the module docstring)."""

    EARLY = "early"
    FINAL = "final"
    DRY_RUN = "dry run"


@dataclass(frozen=True)
class RegisteredVersion:
    """The registry's latest version of a name as tracking read it: its contract, or why it has none
    sigforge can read (a version another tool registered)."""

    name: str
    version: str
    contract: Mapping[str, Any] | None
    unreadable: str = ""  # why ``contract`` is None


@dataclass(frozen=True)
class Verdict:
    """The answer for one version: what it was compared with, the changes, and whether it may be
    published. ``refusal`` is the error to raise (``check``) when it may not."""

    where: Literal["disk", "registry", "sweep"]
    moment: Moment
    against: str | None  # the version compared with (a directory, models:/<name>/<v>); None: none yet
    changes: tuple[Change, ...] = ()
    allow_breaking: bool = False
    refusal: ContractRefused | None = field(default=None, compare=False)
    note: str = ""  # how it compares, in words (the registered version's description says it)

    @property
    def breaking(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.breaking)

    @property
    def allowed(self) -> bool:
        return self.refusal is None

    def check(self) -> Verdict:
        """Raise the refusal, if any; else return the verdict."""
        if self.refusal is not None:
            raise self.refusal
        return self

    def as_dict(self) -> dict[str, Any]:
        """The summary's form: ``{"against", "breaking", "changes"}`` (the dry run adds ``allowed``)."""
        changes = [
            {"signature": c.signature, "change": c.what, "old": c.old, "new": c.new, "breaking": c.breaking}
            for c in self.changes
        ]
        breaking = [c for c in changes if c["breaking"]]
        return {"against": self.against, "breaking": breaking, "changes": changes}


def newest_on_disk(model_dir: Path) -> tuple[Path, dict[str, Any]] | None:
    """The newest published version under ``model_dir`` that holds a SavedModel, and its contract."""
    from sigforge.contract.read import contract_to_dict, read_contract

    if not model_dir.is_dir():
        return None
    numbered = [p for _, p in sorted(served_versions(model_dir).items()) if (p / "saved_model.pb").is_file()]
    if not numbered:
        return None
    return numbered[-1], contract_to_dict(read_contract(numbered[-1]))


def on_disk(
    model_dir: Path,
    contract: Mapping[str, Any],
    allow_breaking: bool,
    moment: Moment,
    job: Sequence[str] | None = None,
) -> Verdict:
    """``contract`` against the newest version TF Serving serves from ``model_dir`` (whoever wrote
    it). ``job``: a sweep job's overrides, named in the refusal."""
    found = newest_on_disk(model_dir)
    if found is None:
        return Verdict("disk", moment, None, allow_breaking=allow_breaking)
    latest, previous = found
    changes = tuple(compare_contracts(previous, contract))
    refusal = None
    breaking = [c for c in changes if c.breaking]
    if breaking and not allow_breaking:
        message = (
            f"export.allow_breaking = false: this contract breaks the clients of {latest} (the version "
            f"TF Serving serves now), so no version was published:\n{render(breaking)}"
            "Keep the old keys, dtypes and shapes, export under another model.name (a new model directory), "
            "or set export.allow_breaking=true to publish it anyway."
        )
        if job is not None:
            message = f"job [{' '.join(job)}]: {message} No job was run."
        diff = f"Compared with `{latest}`, the version TF Serving serves now:\n\n" + render_markdown(
            list(changes)
        )
        refusal = BreakingChange(message, diff=diff)
    return Verdict("disk", moment, str(latest), changes, allow_breaking, refusal)


def in_registry(
    name: str,
    latest: RegisteredVersion | None,
    contract: Mapping[str, Any],
    allow_breaking: bool,
    moment: Moment,
) -> Verdict:
    """``contract`` against the registry's latest version of ``name`` (None: nothing registered);
    ``allow_breaking`` is ``mlflow.allow_breaking``."""
    if latest is None:
        return Verdict(
            "registry",
            moment,
            None,
            allow_breaking=allow_breaking,
            note=f"the first version of registered model `{name}`",
        )
    uri, version = f"models:/{name}/{latest.version}", latest.version
    if latest.contract is None:
        refusal = None
        if not allow_breaking:
            refusal = RegistrationRefused(
                f"mlflow.registered_model_name = '{name}': its latest version, {version}, holds no "
                f"SavedModel sigforge can read ({latest.unreadable}), so this contract cannot be "
                "checked against its clients'. Register under another name, or set mlflow.allow_breaking=true "
                "to register without the check."
            )
        note = f"not compared with version {version}, which holds no SavedModel sigforge can read"
        return Verdict(
            "registry",
            moment,
            f"{uri} (holds no SavedModel sigforge can read)",
            (),
            allow_breaking,
            refusal,
            note,
        )
    changes = tuple(compare_contracts(latest.contract, contract))
    breaking = [c for c in changes if c.breaking]
    refusal = None
    if breaking and not allow_breaking:
        refusal = RegistrationRefused(
            f"mlflow.registered_model_name = '{name}': this contract breaks version {version}'s "
            f"clients, so it was not registered:\n{render(breaking)}"
            "Keep the old keys, dtypes and shapes, or set mlflow.allow_breaking=true to register anyway.",
            diff=f"Compared with registered model `{name}` version {version}:\n\n"
            + render_markdown(list(changes)),
        )
    if breaking:
        note = f"breaks the clients of version {version} (registered with `mlflow.allow_breaking=true`)"
    elif changes:
        note = f"compatible with version {version} ({len(changes)} compatible changes)"
    else:
        note = f"the same contract as version {version}"
    return Verdict("registry", moment, uri, changes, allow_breaking, refusal, note)


def between_jobs(
    model_name: str,
    model_dir: Path,
    first: tuple[Sequence[str], Mapping[str, Any]],
    job: tuple[Sequence[str], Mapping[str, Any]],
    swept: Sequence[str],
) -> Verdict:
    """Two jobs of one sweep that publish into ``model_dir``, each ``(overrides, contract)``: a
    break either way is refused (with a parallel launcher the order is not even fixed)."""
    (other, previous), (overrides, contract) = first, job
    clash = [c for c in compare_contracts(previous, contract) if c.breaking] or [
        c for c in compare_contracts(contract, previous) if c.breaking
    ]
    refusal = None
    if clash:
        advice = (
            "_".join(["${" + k + "}" for k in swept if not k.startswith("hydra.")]) or "<something per job>"
        )
        refusal = BreakingChange(
            f"this sweep would publish clashing contracts under model.name = '{model_name}' "
            f"({model_dir}); TF Serving serves the newest version, so each job would break the "
            f"clients of the one before. Jobs [{' '.join(other)}] and [{' '.join(overrides)}] "
            f"differ:\n{render(clash)}"
            f"Give each its own model directory, e.g. 'model.name={model_name}_{advice}', or set "
            "export.allow_breaking=true to publish them into one anyway. No job was run."
        )
    return Verdict("sweep", Moment.EARLY, f"job [{' '.join(other)}]", tuple(clash), False, refusal)
