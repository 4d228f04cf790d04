"""scripts/export_clip_onnx.py: ONNX equals torch within 1e-4, or nothing is written."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from orchestrator.contracts.clip import CLIP_METADATA
from orchestrator.paths import REPO_ROOT, model_repository
from orchestrator.serving.fetch import CLIP_FOLDERS, encoder_config_problems, export_python

pytestmark = pytest.mark.integration
SCRIPT = REPO_ROOT / "scripts" / "export_clip_onnx.py"
# ViT-S-32: the smallest open_clip ViT with the CLIP tokenizer; same code path as ViT-B-32.
MODEL = ["--model", "ViT-S-32", "--pretrained", "none"]


@pytest.fixture
def repository(tmp_path: Path) -> Path:
    for name in CLIP_FOLDERS:
        shutil.copytree(model_repository() / name, tmp_path / name,
                        ignore=lambda folder, names: {n for n in names
                                                      if Path(folder).name.isdigit()
                                                      and n != "model.py"})
    return tmp_path


def export(repository: Path, *args: str) -> tuple[int, dict]:
    proc = subprocess.run([str(export_python()), str(SCRIPT), *MODEL, "--repository",
                           str(repository), *args], capture_output=True, text=True,
                          timeout=600, check=False)
    return proc.returncode, json.loads(proc.stdout.strip().splitlines()[-1])


def test_export_verifies_and_writes_a_version(repository: Path):
    code, report = export(repository, "--version", "7", "--int8")
    assert code == 0 and report["ok"], report
    assert report["image_max_abs_diff"] <= 1e-4
    assert report["text_max_abs_diff"] <= 1e-4
    assert report["preprocess_max_abs_diff"] <= 1e-4
    meta = report["metadata"]
    assert meta["real_weights"] is False and meta["opset"] >= 17
    assert {meta["image_size"], meta["context_length"]} == {224, 77}
    for name in CLIP_FOLDERS:
        folder = repository / name / "7"
        assert json.loads((folder / CLIP_METADATA).read_text())["model"] == "ViT-S-32"
        assert (folder / "model.py").is_file()
    assert (repository / "clip_text" / "7" / "tokenizer.json").is_file()
    for kind in ("image", "text"):
        folder = repository / f"clip_{kind}_encoder" / "7"
        assert (folder / "model.onnx").is_file()
        accepted = report[f"{kind}_int8_min_cosine"] >= 0.99
        assert (folder / "model.int8.onnx").is_file() == accepted
    # ViT-S-32 embeds into 384 dimensions, not the 512 the encoder configs declare: the
    # onnxruntime backend would refuse it, and so does the check `models fetch` runs.
    problems = encoder_config_problems(repository, 7)
    assert len(problems) == 4  # two encoders, two profiles
    assert all("EMBEDDING" in p and "[-1, 384]" in p for p in problems), problems
    # The same version again is refused without --force.
    code, report = export(repository, "--version", "7")
    assert code == 1 and "already exists" in report["error"]


def test_export_that_fails_verification_writes_nothing(repository: Path):
    code, report = export(repository, "--version", "3", "--tolerance", "0")
    assert code == 1 and not report["ok"]
    assert "nothing written" in report["error"]
    for name in CLIP_FOLDERS:
        assert not (repository / name / "3").exists()
    assert sorted(p.name for p in repository.iterdir()) == sorted(CLIP_FOLDERS)


def test_real_weights_without_internet_fail_cleanly(repository: Path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    proc = subprocess.run([str(export_python()), str(SCRIPT), "--model", "ViT-B-32",
                           "--pretrained", "laion2b_s34b_b79k", "--repository", str(repository),
                           "--version", "2"], capture_output=True, text=True, timeout=300,
                          check=False)
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert proc.returncode == 1 and "need internet" in report["error"]
    assert "Traceback" not in proc.stderr
    assert not (repository / "clip_image" / "2" / CLIP_METADATA).exists()
