"""The gRPC contract: ``highlights.proto`` and the Python stubs generated from it.

The stubs are build output: ``python -m orchestrator.proto`` (run by scripts/setup.sh) writes
``highlights_pb2.py``, ``highlights_pb2.pyi`` and ``highlights_pb2_grpc.py`` beside the proto;
they are never edited or committed. ``load`` regenerates them when the proto is newer, so an
edited contract cannot run against stale stubs.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType

PROTO = Path(__file__).with_name("highlights.proto")
_OUTPUTS = ("highlights_pb2.py", "highlights_pb2.pyi", "highlights_pb2_grpc.py")


def generate() -> list[Path]:
    """Run protoc (grpcio-tools) on the proto; returns the files written."""
    from grpc_tools import protoc

    root = PROTO.parents[2]  # the folder that holds the orchestrator package
    includes = Path(protoc.__file__).parent / "_proto"  # google/protobuf/*.proto
    relative = PROTO.relative_to(root)
    code = protoc.main(["protoc", f"-I{root}", f"-I{includes}", f"--python_out={root}",
                        f"--pyi_out={root}", f"--grpc_python_out={root}", str(relative)])
    if code != 0:
        raise RuntimeError(f"protoc failed on {relative} (exit {code})")
    return [PROTO.with_name(name) for name in _OUTPUTS]


def _stale() -> bool:
    newest = PROTO.stat().st_mtime
    return any(not (p := PROTO.with_name(n)).exists() or p.stat().st_mtime < newest
               for n in _OUTPUTS)


def load() -> tuple[ModuleType, ModuleType]:
    """The generated ``(highlights_pb2, highlights_pb2_grpc)`` modules, fresh."""
    if _stale():
        generate()
    return (importlib.import_module("orchestrator.proto.highlights_pb2"),
            importlib.import_module("orchestrator.proto.highlights_pb2_grpc"))
