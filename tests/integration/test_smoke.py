"""``snapclip smoke`` (scripts/gpu_smoke.sh, the chart's helm test) against the real local
Triton: every check passes on a complete server, and one that lacks models fails, by row."""

from __future__ import annotations

import json

import pytest

from orchestrator.serving.local import LocalTriton
from tests.support import assert_one_line_error, snapclip

pytestmark = pytest.mark.integration


def test_every_model_answers_a_real_request(grpc_url: str, tmp_path):
    proc = snapclip("smoke", "--triton", grpc_url, "--perf-seconds", "6", "--out",
                    str(tmp_path), "--json", timeout=600)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    checks = {c["name"]: c for c in json.loads(proc.stdout)}
    assert all(c["ok"] for c in checks.values()), checks
    assert "whisper v" in checks["models ready"]["detail"]
    assert "of the words" in checks["whisper: speech to text"]["detail"]
    # The CPU profile's CLIP has random weights (its clip.json says so): sizes and norms only.
    assert "ranking not checked" in checks["clip_image + clip_text: embeddings"]["detail"]
    assert "schema-valid JSON" in checks["llm: structured output"]["detail"]
    for model in ("whisper", "clip_image", "clip_text", "llm"):
        assert "/s p95" in checks[f"{model}: perf_analyzer"]["detail"]
    assert (tmp_path / "whisper.csv").is_file()


def test_a_server_without_its_models_fails_by_row():
    with LocalTriton(models=["whisper"]) as server:
        assert server.endpoints is not None
        proc = snapclip("smoke", "--triton", server.endpoints.grpc, timeout=300)
    assert_one_line_error(proc, 1, "smoke check failed")
    rows = {line.split("  ")[0].strip(): line for line in proc.stdout.splitlines()[1:]}
    assert "FAILED" in rows["models ready"] and "not ready" in rows["models ready"]
    assert " ok " in rows["whisper: speech to text"]
    assert "FAILED" in rows["llm: structured output"]
