"""``python -m orchestrator.proto``: generate the gRPC stubs (the build step)."""

from orchestrator.proto import generate

for path in generate():
    print(path)
