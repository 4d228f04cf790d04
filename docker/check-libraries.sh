#!/bin/sh
# Fail the image build when a shared library that a model needs cannot be resolved.
#   check-libraries.sh LABEL LD_LIBRARY_PATH FILE_OR_DIR...
# Runs ldd on every shared object (and executable) given - a folder's own files, not its
# subfolders - with LD_LIBRARY_PATH set as the process that loads it will have it, and lists
# every "not found". Give the objects that get loaded first (a Python extension, a backend's
# entry library, a library that is dlopen'ed by name): ldd follows their RPATH to the rest, as
# the loader does, while a wheel's bundled helper libraries on their own would not resolve.
# libcuda.so.1 and libnvidia-ml.so.1 are the driver's: the NVIDIA container toolkit mounts
# them at run time.
set -eu
label=$1; libpath=$2; shift 2
missing=$(
  for target in "$@"; do
    find -L "$target" -maxdepth 1 \( -name '*.so' -o -name '*.so.*' -o -perm -u+x \) -type f 2>/dev/null
  done | while read -r file; do
    [ "$(head -c 4 "$file" | tail -c 3)" = ELF ] || continue
    LD_LIBRARY_PATH="$libpath" ldd "$file" 2>/dev/null | grep 'not found' |
      grep -v -e 'libcuda\.so\.1 ' -e 'libnvidia-ml\.so\.1 ' | sed "s|^|$file: |"
  done | sort -u)
if [ -n "$missing" ]; then
  echo "check-libraries: $label: unresolved shared libraries:" >&2
  echo "$missing" >&2
  exit 1
fi
echo "check-libraries: $label: every shared library resolves"
