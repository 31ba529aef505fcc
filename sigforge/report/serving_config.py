"""TF Serving's model config file (``--model_config_file``): a ``ModelServerConfig`` in text format.

One entry per model directory that holds versions: its name, absolute base path and platform;
where the model has version labels, a ``specific`` version policy that serves exactly the
labelled versions, else TF Serving's default policy (the newest version). The rules followed are
TF Serving's own (2.21 line, ``tensorflow_serving/model_servers/server_core.cc``,
``UpdateModelVersionLabelMap`` and ``ValidateModelConfigList``;
``tensorflow_serving/config/model_server_config.proto``):

- names unique, base paths absolute (or every path relative to ``--model_config_list_root_dir``);
- ``version_labels`` maps a label to one int64 version, several labels may share a version;
- a label may only name a version that is *available* (loaded) when the config is read, unless
  the server runs with ``--allow_version_labels_for_unavailable_models``, and even then a label
  that already points at another version may not move to a version that is not yet available.
  Labels are checked before the config's versions are loaded, so a move is done in two configs:
  the first serves the new version beside the old and keeps the label where it was
  (``hold_moves``), the next, once that version is loaded, moves it.

The messages are a subset of TF Serving's protos, declared like ``contract.protos`` does (same
package, names and field numbers), so this module needs neither TF Serving nor TensorFlow.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sigforge.contract.protos import message_class
from sigforge.rules import served_versions

PLATFORM = "tensorflow"

_PROTO = """
name: "sigforge/model_server_config_subset.proto"
package: "tensorflow.serving"
syntax: "proto3"
message_type {
  name: "FileSystemStoragePathSourceConfig"
  nested_type {
    name: "ServableVersionPolicy"
    nested_type { name: "Latest" field { name: "num_versions" number: 1 label: LABEL_OPTIONAL type: TYPE_UINT32 } }
    nested_type { name: "All" }
    nested_type { name: "Specific" field { name: "versions" number: 1 label: LABEL_REPEATED type: TYPE_INT64 } }
    field { name: "latest" number: 100 label: LABEL_OPTIONAL type: TYPE_MESSAGE
            type_name: ".tensorflow.serving.FileSystemStoragePathSourceConfig.ServableVersionPolicy.Latest"
            oneof_index: 0 }
    field { name: "all" number: 101 label: LABEL_OPTIONAL type: TYPE_MESSAGE
            type_name: ".tensorflow.serving.FileSystemStoragePathSourceConfig.ServableVersionPolicy.All"
            oneof_index: 0 }
    field { name: "specific" number: 102 label: LABEL_OPTIONAL type: TYPE_MESSAGE
            type_name: ".tensorflow.serving.FileSystemStoragePathSourceConfig.ServableVersionPolicy.Specific"
            oneof_index: 0 }
    oneof_decl { name: "policy_choice" }
  }
}
message_type {
  name: "ModelConfig"
  field { name: "name" number: 1 label: LABEL_OPTIONAL type: TYPE_STRING }
  field { name: "base_path" number: 2 label: LABEL_OPTIONAL type: TYPE_STRING }
  field { name: "model_platform" number: 4 label: LABEL_OPTIONAL type: TYPE_STRING }
  field { name: "model_version_policy" number: 7 label: LABEL_OPTIONAL type: TYPE_MESSAGE
          type_name: ".tensorflow.serving.FileSystemStoragePathSourceConfig.ServableVersionPolicy" }
  field { name: "version_labels" number: 8 label: LABEL_REPEATED type: TYPE_MESSAGE
          type_name: ".tensorflow.serving.ModelConfig.VersionLabelsEntry" }
  nested_type {
    name: "VersionLabelsEntry"
    field { name: "key" number: 1 label: LABEL_OPTIONAL type: TYPE_STRING }
    field { name: "value" number: 2 label: LABEL_OPTIONAL type: TYPE_INT64 }
    options { map_entry: true }
  }
}
message_type {
  name: "ModelConfigList"
  field { name: "config" number: 1 label: LABEL_REPEATED type: TYPE_MESSAGE
          type_name: ".tensorflow.serving.ModelConfig" }
}
message_type {
  name: "ModelServerConfig"
  field { name: "model_config_list" number: 1 label: LABEL_OPTIONAL type: TYPE_MESSAGE
          type_name: ".tensorflow.serving.ModelConfigList" oneof_index: 0 }
  oneof_decl { name: "config" }
}
"""


def _config_class() -> Any:
    return message_class(_PROTO, "tensorflow.serving.ModelServerConfig")


@dataclass(frozen=True)
class ModelEntry:
    """One model directory as TF Serving will see it; ``labels``: label -> TF Serving version."""

    name: str
    base_path: Path
    versions: tuple[int, ...]  # every version on disk, whoever wrote it (rules.served_versions)
    labels: Mapping[str, int] = field(default_factory=dict)

    def served(self) -> tuple[int, ...]:
        """The versions the entry's policy serves: the labelled ones, else the newest (the default)."""
        return tuple(sorted(set(self.labels.values()))) if self.labels else self.versions[-1:]


def model_dirs(base_dir: Path, only: Sequence[str] = ()) -> list[ModelEntry]:
    """Each child of ``base_dir`` that holds versions, by name; ``only``: these names, each required.

    Raises ValueError for a missing base directory, one that is itself a model directory, a name
    in ``only`` that holds no versions, or no model directory at all."""
    base = base_dir.absolute()
    if not base.is_dir():
        raise ValueError(f"{base_dir} is not a directory; give the export base directory (export.base_dir)")
    own = served_versions(base)
    if own:
        raise ValueError(
            f"{base_dir} holds versions itself ({', '.join(map(str, sorted(own)))}): it is a model "
            f"directory; give its parent, the export base directory ({base.parent})"
        )
    entries = []
    for child in sorted(base.iterdir()):
        if child.is_dir() and (only == () or child.name in only):
            versions = served_versions(child)
            if versions:
                entries.append(ModelEntry(child.name, child, tuple(sorted(versions))))
    missing = sorted(set(only) - {entry.name for entry in entries})
    if missing:
        raise ValueError(
            f"--model {', '.join(missing)}: no model directory with versions of that name under {base}"
        )
    if not entries:
        raise ValueError(f"no model directory under {base} holds a version; export a model first")
    return entries


def hold_moves(
    labels: Mapping[str, int],
    previous: Mapping[str, int],
    previously_served: Iterable[int],
    on_disk: Iterable[int],
) -> tuple[dict[str, int], dict[str, tuple[int, int]]]:
    """TF Serving refuses to move a label to a version it has not loaded yet (even with
    ``--allow_version_labels_for_unavailable_models``): a label whose target the previous config
    did not serve stays where it was, while the new target is served beside it.

    Returns the labels to write, and label -> (kept version, wanted version) for those held."""
    served, disk = set(previously_served), set(on_disk)
    kept: dict[str, int] = {}
    held: dict[str, tuple[int, int]] = {}
    for label, version in labels.items():
        old = previous.get(label)
        if old is not None and old != version and version not in served and old in disk:
            kept[label] = old
            held[label] = (old, version)
        else:
            kept[label] = version
    return kept, held


def render(
    entries: Iterable[ModelEntry],
    comment: Sequence[str] = (),
    extra: Mapping[str, Sequence[int]] | None = None,
) -> str:
    """The ``ModelServerConfig`` text TF Serving reads. ``extra``: model name -> versions served
    beside the labelled ones (a label's next target, see ``hold_moves``)."""
    from google.protobuf import text_format

    config = _config_class()()
    configs = config.model_config_list.config
    config.model_config_list.SetInParent()  # an empty list still says model_config_list
    for entry in entries:
        model = configs.add(name=entry.name, base_path=str(entry.base_path), model_platform=PLATFORM)
        if entry.labels:
            versions = sorted({*entry.labels.values(), *(extra or {}).get(entry.name, ())})
            model.model_version_policy.specific.versions.extend(versions)
            for label in sorted(entry.labels):
                model.version_labels[label] = entry.labels[label]
    head = "".join(f"# {line}\n" for line in comment)
    return head + text_format.MessageToString(config, as_utf8=False)


def read_config(text: str) -> dict[str, tuple[dict[str, int], tuple[int, ...] | None]]:
    """A config file's models: name -> (labels, versions its ``specific`` policy serves, None for
    another policy). Raises ValueError where TF Serving's text format cannot be read."""
    from google.protobuf import text_format

    try:
        config = text_format.Parse(text, _config_class()(), allow_unknown_field=True)
    except text_format.ParseError as err:
        raise ValueError(f"not a ModelServerConfig in text format: {err}") from err
    found = {}
    for model in config.model_config_list.config:
        policy = model.model_version_policy
        specific = (
            tuple(policy.specific.versions) if policy.WhichOneof("policy_choice") == "specific" else None
        )
        found[model.name] = (dict(model.version_labels), specific)
    return found
