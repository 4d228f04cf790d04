"""perf_analyzer, Triton's load generator, run against our models.

The only perf_analyzer binary that runs on this glibc is the one in ``tritonclient==2.51.0``;
scripts/setup.sh installs it alone (``--no-deps``) into ``.venv-perf`` and links the two
libraries it wants (libb64, libcudart) from nvidia-pytriton's bundle into
``.venv-perf/lib/perf_analyzer``. This module finds it, writes input-data files, runs it and
reads its CSV report.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from orchestrator.errors import SnapclipError
from orchestrator.paths import REPO_ROOT


class PerfError(SnapclipError):
    """perf_analyzer is missing or failed."""


def perf_analyzer() -> tuple[Path, dict[str, str]]:
    """The binary and the environment it runs in."""
    binary = Path(os.environ.get("SNAPCLIP_PERF_ANALYZER")
                  or REPO_ROOT / ".venv-perf" / "bin" / "perf_analyzer")
    if not binary.is_file():
        raise PerfError(f"perf_analyzer not found at {binary}; run scripts/setup.sh")
    libs = binary.parent.parent / "lib" / "perf_analyzer"
    env = dict(os.environ)
    env["LD_LIBRARY_PATH"] = os.pathsep.join(
        p for p in (str(libs), env.get("LD_LIBRARY_PATH", "")) if p)
    return binary, env


def write_input_data(path: Path, name: str, arrays: Sequence[np.ndarray]) -> Path:
    """perf_analyzer's JSON input data: one step per array (its shape given explicitly)."""
    return write_steps(path, [{name: a} for a in arrays])


def write_steps(path: Path, steps: Sequence[Mapping[str, np.ndarray]]) -> Path:
    """perf_analyzer's JSON input data, several inputs per step; BYTES arrays become strings."""
    def tensor(array: np.ndarray) -> dict[str, object]:
        flat = array.reshape(-1).tolist()
        if array.dtype == np.object_:
            flat = [v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in flat]
        return {"content": flat, "shape": list(array.shape)}

    path.write_text(json.dumps({"data": [{name: tensor(a) for name, a in step.items()}
                                         for step in steps]}))
    return path


@dataclass(frozen=True)
class PerfRow:
    concurrency: int
    throughput: float  # inferences per second
    p50_us: float
    p95_us: float
    p99_us: float
    queue_us: float  # average time a request waited in Triton's queue
    compute_us: float  # average compute (input + infer + output) per request


def run(model: str, grpc_url: str, *, input_data: Path, concurrency: Sequence[int],
        csv_path: Path, request_count: int = 200, window_ms: int | None = None,
        timeout_s: float = 600, extra: Sequence[str] = ()) -> list[PerfRow]:
    """Measure each concurrency level over gRPC; write one CSV (a row per level) and return it.

    Each measurement window is ``request_count`` requests, or ``window_ms`` milliseconds when
    given (a sweep that must fit a time budget).
    """
    binary, env = perf_analyzer()
    header, rows = "", []
    window = (["--measurement-mode", "time_windows", "--measurement-interval", str(window_ms)]
              if window_ms else ["--measurement-mode", "count_windows",
                                 "--measurement-request-count", str(request_count)])
    for level in concurrency:
        part = csv_path.with_name(f"{csv_path.stem}.c{level}.csv")
        cmd = [str(binary), "-m", model, "-i", "grpc", "-u", grpc_url,
               "--input-data", str(input_data), "--concurrency-range", f"{level}:{level}",
               *window, "--percentile", "95", "-f", str(part), *extra]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, env=env,
                                  timeout=timeout_s, check=False)
        except subprocess.TimeoutExpired as exc:
            raise PerfError(f"perf_analyzer did not finish in {timeout_s:.0f} s") from exc
        if proc.returncode != 0 or not part.is_file():
            raise PerfError(f"perf_analyzer failed ({proc.returncode}): "
                            f"{_failure(proc.stderr or proc.stdout)}")
        header, *body = part.read_text().strip().splitlines()
        rows += body
        part.unlink()
    csv_path.write_text("\n".join([header, *rows]) + "\n")
    return read_csv(csv_path)


def _failure(output: str) -> str:
    """perf_analyzer's own error line(s), or the end of its output: after a bad option it
    prints the error first and its whole usage text after it."""
    lines = output.strip().splitlines()
    errors = [line.strip() for line in lines if line.lower().startswith("error")]
    return " | ".join(errors[:3] or lines[-5:])


def read_csv(path: Path) -> list[PerfRow]:
    with path.open() as f:
        return [PerfRow(concurrency=int(r["Concurrency"]),
                        throughput=float(r["Inferences/Second"]),
                        p50_us=float(r["p50 latency"]), p95_us=float(r["p95 latency"]),
                        p99_us=float(r["p99 latency"]),
                        queue_us=float(r["Server Queue"]),
                        compute_us=sum(float(r[f"Server Compute {k}"])
                                       for k in ("Input", "Infer", "Output")))
                for r in csv.DictReader(f)]
