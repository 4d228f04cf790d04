"""What Triton's python backend hands every model's ``initialize(args)``, read one way."""

from __future__ import annotations

import json
from pathlib import Path


def parameters(args: dict[str, str]) -> dict[str, str]:
    """The ``parameters`` of the model's config (``config.pbtxt`` or ``configs/<profile>``)."""
    config = json.loads(args["model_config"])
    return {k: v["string_value"] for k, v in config.get("parameters", {}).items()}


def version_dir(args: dict[str, str]) -> Path:
    """The folder of the version being loaded: ``<model folder>/<version>``."""
    return Path(args["model_repository"]) / args["model_version"]
