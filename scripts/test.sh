#!/usr/bin/env bash
# The README's second command: set up, lint, check the layering, and run the whole test suite
# (unit and integration: the integration tests start the real local Triton once for the session).
# Extra arguments go to pytest, e.g. scripts/test.sh -k whisper.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/setup.sh
.venv/bin/ruff check .
# The import-linter contracts in pyproject.toml (layers; backends apart from the client side).
.venv/bin/lint-imports --no-cache
exec .venv/bin/pytest "$@"
