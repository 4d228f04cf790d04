"""The layering contracts (pyproject.toml, checked by ``lint-imports`` in scripts/test.sh) hold,
and they really refuse what they forbid: a backend that imports a pipeline module breaks them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    # The copy under test comes first on the path, before the editable install of this tree.
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=root, env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def test_contracts_cover_every_top_level_package():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    named = {module.split(".")[1]
             for contract in config["contracts"]
             for key in ("layers", "source_modules", "forbidden_modules")
             for entry in contract.get(key, [])
             for module in entry.split(" | ")
             if module.startswith("orchestrator.")}
    packages = {p.name for p in (ROOT / "orchestrator").iterdir()
                if (p / "__init__.py").is_file()} - {"proto"}
    assert packages <= named, f"packages outside every contract: {packages - named}"


def test_the_tree_keeps_its_contracts():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(("module", "line", "broken"), [
    ("backends/whisper.py", "from orchestrator.pipeline import select", "orchestrator.pipeline"),
    ("pipeline/select.py", "from orchestrator.service import auth", "orchestrator.service"),
    ("pipeline/asr.py", "from orchestrator.pipeline import run", "orchestrator.pipeline.run"),
    ("contracts/transcript.py", "import numpy", "numpy"),
])
def test_a_forbidden_import_breaks_a_contract(tmp_path, module, line, broken):
    shutil.copytree(ROOT / "orchestrator", tmp_path / "orchestrator",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    with (tmp_path / "orchestrator" / module).open("a") as source:
        source.write(f"\n{line}  # noqa\n")
    result = lint_imports(tmp_path)
    assert result.returncode != 0
    assert "1 broken" in result.stdout and broken in result.stdout, result.stdout
