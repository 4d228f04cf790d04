"""``snapclip eval`` end to end on the mini dataset (synthesized talks, planted peaks)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from orchestrator.evaluation.minidata import make_minidata
from orchestrator.paths import REPO_ROOT
from tests.support import snapclip

pytestmark = pytest.mark.integration
CHECKED_IN = REPO_ROOT / "eval" / "mini" / "dataset.jsonl"


@pytest.fixture(scope="module")
def mini(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_minidata(tmp_path_factory.mktemp("mini"))


def test_the_checked_in_dataset_is_what_the_generator_makes(mini: Path):
    made = [json.loads(line) for line in mini.read_text().splitlines()]
    kept = [json.loads(line) for line in CHECKED_IN.read_text().splitlines()]
    assert [d["id"] for d in made] == [d["id"] for d in kept]
    for new, old in zip(made, kept, strict=True):
        assert new["source"] == old["source"] and new["category"] == old["category"]
        for edge in ("start_s", "end_s"):  # espeak-ng versions may differ by a few ms
            assert new["planted"][edge] == pytest.approx(old["planted"][edge], abs=0.5)


def test_eval_on_the_mini_dataset(mini: Path, grpc_url: str, tmp_path: Path):
    dataset = tmp_path / "dataset.jsonl"
    for video in mini.parent.glob("*.mp4"):
        shutil.copy(video, tmp_path / video.name)
    lines = mini.read_text().splitlines()
    dataset.write_text("\n".join([*lines, '{"heatmap": []}', "{broken"]) + "\n")
    out = tmp_path / "report"
    result = snapclip("eval", str(dataset), "--triton", grpc_url, "--out", str(out),
                      "--k", "1,3", "--min-len", "8", "--max-len", "20", timeout=900)
    assert result.returncode == 0, result.stderr
    assert "line 4: missing source" in result.stderr and "line 5: not JSON" in result.stderr
    report = (out / "report.md").read_text()
    for group in ("tutorial", "review", "overall"):
        for method in ("snapclip", "random", "even"):
            assert f"| {group} | {method} |" in report, (group, method)
    assert "Hit@1 | Hit@3 | mAP@15 | mAP@50 | precision | recall" in report
    assert "dataset line 4: missing source" in report
    results = json.loads((out / "results.json").read_text())
    assert [r["id"] for r in results] == ["mini-middle", "mini-start", "mini-end"]
    for r in results:
        for method in ("snapclip", "random", "even"):
            assert 0 <= r[method]["ap15"] <= 1 and 0 <= r[method]["recall"] <= 1
    assert (out / "metrics.png").read_bytes()[:4] == b"\x89PNG"
    for r in results:
        assert (out / "videos" / f"{r['id']}.png").read_bytes()[:4] == b"\x89PNG"
        assert (out / "runs" / r["id"] / "manifest.json").is_file()
    assert "overall" in result.stdout and "snapclip" in result.stdout  # the terminal table

    # A second evaluation reads the manifests it finds: no run, no model server needed.
    again = snapclip("eval", str(dataset), "--manifests", str(out / "runs"), "--out",
                     str(tmp_path / "again"), "--triton", "127.0.0.1:9", "--k", "1,3",
                     timeout=120)
    assert again.returncode == 0, again.stderr
    assert json.loads((tmp_path / "again" / "results.json").read_text()) == results


def test_eval_errors_are_one_line(tmp_path: Path):
    missing = snapclip("eval", str(tmp_path / "none.jsonl"))
    assert missing.returncode == 2 and "no such dataset file" in missing.stderr
    empty = tmp_path / "empty.jsonl"
    empty.write_text("{broken\n")
    nothing = snapclip("eval", str(empty), "--out", str(tmp_path / "o"))
    assert nothing.returncode == 2 and "no usable line" in nothing.stderr
    assert "Traceback" not in nothing.stderr
    bad_k = snapclip("eval", str(empty), "--k", "0")
    assert bad_k.returncode == 2 and "--k" in bad_k.stderr
