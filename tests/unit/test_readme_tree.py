"""The README's tree of the repository names what is there, and everything that is there."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def named_paths() -> set[str]:
    """Every folder (``x/``) and file the tree names, with the folder it is indented under.

    A line is names separated by one space, then two or more spaces and what they are.
    """
    text = (ROOT / "README.md").read_text()
    block = text.split("The repository, one line a folder:", 1)[1].split("```", 2)[1]
    named: set[str] = set()
    folders: dict[int, str] = {}  # indent -> the folder a line at that indent opened
    for line in filter(str.strip, block.splitlines()):
        indent = len(line) - len(line.lstrip())
        folders = {i: f for i, f in folders.items() if i < indent}
        parent = folders[max(folders)] if folders else ""
        names = re.split(r"\s{2,}", line.strip(), maxsplit=1)[0].split()
        named.update(parent + name for name in names)
        if names[0].endswith("/"):
            folders[indent] = parent + names[0]
    return named


def test_every_named_path_exists():
    missing = sorted(p for p in named_paths() if not (ROOT / p).exists())
    assert not missing, f"the README's tree names what is not there: {missing}"


def test_every_top_folder_and_package_is_named():
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout.split()
    top = {f.split("/", 1)[0] + "/" for f in tracked if "/" in f and not f.startswith(".")}
    def level(prefix: str) -> set[str]:
        """The files and folders right inside ``prefix`` (its modules and subpackages)."""
        depth = prefix.count("/")
        return {"/".join(f.split("/")[:depth + 1]) + ("/" if f.count("/") > depth else "")
                for f in tracked if f.startswith(prefix) and not f.endswith("__init__.py")}

    inside = level("orchestrator/") | level("orchestrator/pipeline/")
    named = named_paths()
    # helm/ is named by its one chart
    unnamed = sorted(p for p in top | inside
                     if p not in named and not any(n.startswith(p) for n in named))
    assert not unnamed, f"the README's tree leaves out: {unnamed}"
