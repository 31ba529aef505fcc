"""contract/protos: a protobuf subset declared as a ``FileDescriptorProto`` in text form reads the
real message's wire format (same names and field numbers, the fields it leaves out kept unread),
in a pool of its own that clashes with no generated class."""

from __future__ import annotations

from google.protobuf import api_pb2, duration_pb2

from sigforge.contract.protos import message_class

SECONDS_ONLY = """
name: "subset/duration.proto"
package: "google.protobuf"
syntax: "proto3"
message_type { name: "Duration" field { name: "seconds" number: 1 label: LABEL_OPTIONAL type: TYPE_INT64 } }
"""


def test_a_subset_reads_what_the_full_message_wrote_and_keeps_the_rest():
    written = duration_pb2.Duration(seconds=5, nanos=7).SerializeToString()
    subset = message_class(SECONDS_ONLY, "google.protobuf.Duration").FromString(written)
    assert subset.seconds == 5 and not hasattr(subset, "nanos")
    assert subset.SerializeToString() == written  # the field it leaves out goes back as it came


def test_a_subset_of_a_generated_name_does_not_clash_with_the_generated_class():
    message_class(SECONDS_ONLY, "google.protobuf.Duration")
    message_class(SECONDS_ONLY.replace("seconds", "whole_seconds"), "google.protobuf.Duration")
    assert duration_pb2.Duration(seconds=1, nanos=2).nanos == 2  # the default pool is untouched


def test_dependencies_are_added_with_their_own_dependencies():
    """``api.proto`` imports ``source_context.proto`` and ``type.proto``: naming it alone is enough."""
    text = """
    name: "subset/service.proto"
    package: "subset"
    syntax: "proto3"
    dependency: "google/protobuf/api.proto"
    dependency: "google/protobuf/duration.proto"
    message_type {
      name: "Service"
      field { name: "api" number: 1 label: LABEL_OPTIONAL type: TYPE_MESSAGE type_name: ".google.protobuf.Api" }
      field { name: "timeout" number: 2 label: LABEL_OPTIONAL type: TYPE_MESSAGE
              type_name: ".google.protobuf.Duration" }
    }
    """
    service = message_class(text, "subset.Service", [api_pb2.DESCRIPTOR, duration_pb2.DESCRIPTOR])
    api = api_pb2.Api(name="search", version="v2")
    api.source_context.file_name = "search.proto"
    timeout = duration_pb2.Duration(seconds=30)
    wire = b"".join(
        bytes([number << 3 | 2, len(part)]) + part
        for number, part in ((1, api.SerializeToString()), (2, timeout.SerializeToString()))
    )
    read = service.FromString(wire)
    assert (read.api.name, read.api.source_context.file_name, read.timeout.seconds) == (
        "search",
        "search.proto",
        30,
    )
