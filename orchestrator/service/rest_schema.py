"""Pydantic models of the REST API, generated from ``highlights.proto``'s descriptors.

The REST API speaks the proto3 JSON mapping of the gRPC messages (field names as in the proto,
enums by name, timestamps as RFC 3339, 64-bit integers as strings), so the proto stays the one
definition of both APIs; these models only let FastAPI validate requests and describe them
in the OpenAPI document.
"""

from __future__ import annotations

import functools
from typing import Annotated, Any, Literal

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.json_format import MessageToDict
from pydantic import BaseModel, ConfigDict, Field, create_model

from orchestrator.contracts.limits import FIELD_BOUNDS, REQUIRED
from orchestrator.proto import load

pb, _ = load()

_SCALARS: dict[int, Any] = {
    FieldDescriptor.TYPE_STRING: str,
    FieldDescriptor.TYPE_BOOL: bool,
    FieldDescriptor.TYPE_INT32: int,
    FieldDescriptor.TYPE_UINT32: int,
    FieldDescriptor.TYPE_DOUBLE: float,
    FieldDescriptor.TYPE_FLOAT: float,
    FieldDescriptor.TYPE_INT64: str,  # proto3 JSON writes 64-bit integers as strings
    FieldDescriptor.TYPE_UINT64: str,
}
_TIMESTAMP = "google.protobuf.Timestamp"


def _field_type(field: FieldDescriptor) -> Any:
    if field.type == FieldDescriptor.TYPE_ENUM:
        return Literal[tuple(v.name for v in field.enum_type.values)]
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        if field.message_type.full_name == _TIMESTAMP:
            return str
        return model_of(field.message_type)
    return _SCALARS[field.type]


@functools.cache
def model_of(descriptor: Descriptor) -> type[BaseModel]:
    """A pydantic model with the fields of the proto message ``descriptor``.

    Unknown keys are refused (a misspelt option must not be ignored silently); the bounds of
    ``contracts.limits`` become the fields' constraints (and the schema's minimum/maximum).
    """
    fields: dict[str, Any] = {}
    for field in descriptor.fields:
        kind = _field_type(field)
        bounds: dict[str, Any] = dict(FIELD_BOUNDS.get((descriptor.name, field.name), {}))
        if kind is int and field.type == FieldDescriptor.TYPE_INT32:
            bounds.setdefault("ge", -(2**31))
            bounds.setdefault("le", 2**31 - 1)
        if kind in (int, float, str, bool) and bounds:
            kind = Annotated[kind, Field(strict=kind is not float, **bounds)]
        elif kind in (int, bool):
            kind = Annotated[kind, Field(strict=True)]  # no "1" for 1, no 0 for false
        if (descriptor.name, field.name) in REQUIRED:
            fields[field.name] = (kind, ...)
        elif field.is_repeated:
            fields[field.name] = (list[kind], Field(default_factory=list))
        elif field.has_presence:
            timestamp = field.type == FieldDescriptor.TYPE_MESSAGE and kind is str
            extra = {"format": "date-time"} if timestamp else None
            fields[field.name] = (kind | None, Field(default=None, json_schema_extra=extra))
        else:
            fields[field.name] = (kind, Field(default=field.default_value if field.type !=
                                              FieldDescriptor.TYPE_ENUM else
                                              field.enum_type.values[0].name))
    return create_model(descriptor.name, __config__=ConfigDict(extra="forbid"), **fields)


def to_json(message: Any) -> dict[str, Any]:
    """``message`` in the proto3 JSON mapping, every field present."""
    return MessageToDict(message, preserving_proto_field_name=True,
                         always_print_fields_with_no_presence=True)


Job = model_of(pb.Job.DESCRIPTOR)
JobEvent = model_of(pb.JobEvent.DESCRIPTOR)
ListResponse = model_of(pb.ListResponse.DESCRIPTOR)
SubmitRequest = model_of(pb.SubmitRequest.DESCRIPTOR)
RunOptions = model_of(pb.RunOptions.DESCRIPTOR)
ClipEdit = model_of(pb.ClipEdit.DESCRIPTOR)
