#!/usr/bin/env bash
# The README's first command: set up, then run snapclip with the embedded default (a local
# Triton on CPU with the offline models).
#   scripts/demo.sh                      synthesize out/sample.mp4, clips -> out/sample/
#   scripts/demo.sh SOURCE [OPTIONS...]  a video file or URL of yours, any `snapclip run` options
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/setup.sh --demo
if [ $# -eq 0 ] || [[ "$1" == -* ]]; then
  [ -s out/sample.mp4 ] || .venv/bin/snapclip sample out/sample.mp4
  exec .venv/bin/snapclip run out/sample.mp4 --out out/sample "$@"
fi
exec .venv/bin/snapclip run "$@"
