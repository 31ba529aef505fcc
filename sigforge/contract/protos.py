"""One way to declare a protobuf subset: a ``FileDescriptorProto`` in text form, in a pool of its own.

sigforge reads ``saved_model.pb`` and serialized tf.Examples, and writes TF Serving's warmup
records, with message classes wire-compatible with the real ``.proto`` files (same package, names
and field numbers; fields it never touches left out). Declaring them as text keeps each subset
readable beside the ``.proto`` it mirrors, and a private pool keeps them from clashing with
TensorFlow's own generated classes when both are loaded.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def message_class(proto_text: str, full_name: str, dependencies: Iterable[Any] = ()) -> Any:
    """The message class ``full_name`` from ``proto_text`` (a ``FileDescriptorProto`` in text form).

    ``dependencies``: file descriptors (e.g. ``tensor_pb2.DESCRIPTOR``) the text's ``dependency``
    lines name, added to the pool first with their own dependencies.
    """
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory, text_format

    pool = descriptor_pool.DescriptorPool()
    added: set[str] = set()

    def add(file_descriptor: Any) -> None:
        if file_descriptor.name in added:
            return
        for dependency in file_descriptor.dependencies:
            add(dependency)
        proto = descriptor_pb2.FileDescriptorProto()
        file_descriptor.CopyToProto(proto)
        pool.AddSerializedFile(proto.SerializeToString())
        added.add(file_descriptor.name)

    for dependency in dependencies:
        add(dependency)
    pool.AddSerializedFile(
        text_format.Parse(proto_text, descriptor_pb2.FileDescriptorProto()).SerializeToString()
    )
    return message_factory.GetMessageClass(pool.FindMessageTypeByName(full_name))
