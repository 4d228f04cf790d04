#!/usr/bin/env bash
# The operators' smoke check of an installed snapclip Triton (a cluster or a GPU machine):
#   scripts/gpu_smoke.sh HOST:PORT [--perf-seconds 30] [--clip-weights real|random|auto]
# Every model version ready, one real request per model (speech -> transcript, picture and
# captions -> embeddings, a structured-output llm answer valid against the schema the pipeline uses),
# a perf_analyzer sweep per model (30 s each by default), then a table; exit 1 if any check
# fails. The chart's `helm test` runs the same checks (templates/tests/test-triton-smoke.yaml).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ $# -lt 1 ] || [[ $1 == -* ]]; then
  echo "usage: scripts/gpu_smoke.sh HOST:PORT [snapclip smoke options]" >&2
  exit 2
fi
url=$1; shift
snapclip=$root/.venv/bin/snapclip
[ -x "$snapclip" ] || snapclip=snapclip  # an installed image's command
case " $* " in *" --perf-seconds"*) ;; *) set -- --perf-seconds 30 "$@" ;; esac
exec "$snapclip" smoke --triton "$url" "$@"
