#!/usr/bin/env bash
# The README's first command: set up, make the sample talk video, and run snapclip on it with
# the embedded default (a local Triton on CPU with the offline models). Output: out/sample/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/setup.sh
[ -s out/sample.mp4 ] || .venv/bin/snapclip sample out/sample.mp4
.venv/bin/snapclip run out/sample.mp4 --out out/sample "$@"
