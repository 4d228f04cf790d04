"""scripts/loadtest: a short perf_analyzer sweep of every model against the local Triton."""

from __future__ import annotations

import csv
import socket
import subprocess
from pathlib import Path

import pytest

from orchestrator.paths import REPO_ROOT

pytestmark = pytest.mark.integration
LOADTEST = str(REPO_ROOT / "scripts" / "loadtest")


def test_short_sweep_writes_report_csvs_and_plots(grpc_url: str, tmp_path: Path):
    out = tmp_path / "report"
    proc = subprocess.run(
        [LOADTEST, "--url", grpc_url, "--out", str(out), "--concurrency", "1,2",
         "--llm-concurrency", "1", "--requests", "3", "--stability", "999",
         "--max-trials", "3", "--llm-max-tokens", "8", "--version", "whisper=1"],
        capture_output=True, text=True, timeout=900, check=False)
    assert proc.returncode == 0, proc.stderr
    report = (out / "report.md").read_text()
    assert proc.stdout.strip() == str(out / "report.md")
    assert "| CPU |" in report and "Triton 2.51.0" in report
    for model, levels in (("whisper", 2), ("clip_image", 2), ("clip_text", 2), ("llm", 1)):
        assert f"## {model} v" in report, model
        with (out / f"{model}.csv").open() as f:
            rows = list(csv.DictReader(f))
        assert [int(r["concurrency"]) for r in rows] == [1, 2][:levels]
        assert all(float(r["throughput_per_s"]) > 0 and float(r["p95_us"]) > 0 for r in rows)
        assert (out / f"{model}.png").read_bytes()[:4] == b"\x89PNG"
    assert "## whisper v1" in report  # the pinned version
    llm = next(csv.DictReader((out / "llm.csv").open()))
    assert 0 < float(llm["ttft_p50_ms"]) <= float(llm["p50_us"]) / 1000  # first token first
    assert (out / "loadtest.png").read_bytes()[:4] == b"\x89PNG"


def test_unreachable_server_is_one_line_and_exit_3(tmp_path: Path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.run([LOADTEST, "--url", f"127.0.0.1:{port}", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 3, proc.stderr
    assert proc.stderr.startswith("loadtest: error: Triton at") and "Traceback" not in proc.stderr
    bad = subprocess.run([LOADTEST, "--models", "bert", "--out", str(tmp_path)],
                         capture_output=True, text=True, timeout=60, check=False)
    assert bad.returncode == 2 and "unknown bert" in bad.stderr
