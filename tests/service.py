"""Run ``snapclip serve`` in tests: a real process on loopback ports, stopped by PID."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from orchestrator.synth.speech import speak
from orchestrator.synth.video import make_video
from tests.support import SENTENCES, SNAPCLIP


@dataclass(frozen=True)
class Service:
    grpc: str  # host:port
    http: str  # http://host:port
    metrics: str  # http://host:port/metrics
    proc: subprocess.Popen
    log: Path  # its stderr
    jobs: Path  # its jobs folder


@contextlib.contextmanager
def serving(triton_url: str, folder: Path, *extra: str, env: dict[str, str] | None = None,
            database_url: str | None = None) -> Iterator[Service]:
    """``snapclip serve`` on ``folder``'s jobs and store (a SQLite file there unless
    ``database_url`` names another), every port chosen free."""
    folder.mkdir(parents=True, exist_ok=True)
    errlog = folder / f"stderr-{time.monotonic_ns()}.txt"
    with errlog.open("w") as err:
        proc = subprocess.Popen(
            [SNAPCLIP, "serve", "--grpc-port", "0", "--http-port", "0", "--metrics-port", "0",
             "--triton", triton_url, "--jobs-dir", str(folder / "jobs"),
             "--database-url", database_url or f"sqlite:///{folder / 'jobs.db'}",
             # The tests' media lie in the temporary folder (the jobs folder is never read).
             "--source-root", tempfile.gettempdir(), *extra],
            stdout=subprocess.DEVNULL, stderr=err, env={**os.environ, **(env or {})})
    try:
        pattern = re.compile(r"gRPC (\S+), HTTP (\S+), metrics (\S+) \(pid")
        deadline = time.monotonic() + 60
        while not (found := pattern.search(errlog.read_text())):
            assert proc.poll() is None, errlog.read_text()
            assert time.monotonic() < deadline, errlog.read_text()
            time.sleep(0.2)
        yield Service(found.group(1), found.group(2), found.group(3), proc, errlog,
                      folder / "jobs")
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            assert proc.wait(timeout=60) == 0, errlog.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, what
        time.sleep(0.3)


def short_talk(folder: Path) -> Path:
    """A 19-second synthesized talk (four sentences) as a small video."""
    speech = speak(". ".join(SENTENCES[:4]) + ".", folder / "talk.wav")
    return make_video(speech, folder / "talk.mp4", size="320x180", fps=10)
