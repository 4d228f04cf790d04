"""Helpers shared by the tests: Prometheus text parsing, synthesized speech (WER re-exported)."""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import socket
import subprocess
import sys
import threading
from functools import cache
from pathlib import Path

import numpy as np

from orchestrator.evaluation.wer import normalize_words, word_error_rate
from orchestrator.synth.speech import SpokenText, speak_with_onsets

__all__ = ["SENTENCES", "SNAPCLIP", "assert_one_line_error", "ffprobe", "metric_value",
           "normalize_words", "silence", "snapclip", "spoken", "word_error_rate"]

SNAPCLIP = str(Path(sys.executable).parent / "snapclip")

SENTENCES = (
    "The quick brown fox jumps over the lazy dog near the river bank",
    "Please remember to water the garden every morning before work",
    "Our new camera records sharp video even in very low light",
    "She bought seven apples and three oranges at the market today",
    "The meeting starts at nine and should finish before lunch",
    "Good microphones matter less than speaking close to them",
    "This bridge was built more than one hundred years ago",
    "We will travel north by train and return home on Sunday",
)


def metric_value(metrics_text: str, name: str, **labels: str) -> float:
    """Sum of the samples of ``name`` whose labels include ``labels``."""
    total = 0.0
    for line in metrics_text.splitlines():
        if not line.startswith(name + "{"):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}", 1)[0]))
        if all(found.get(k) == v for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


@cache
def spoken(text: str) -> SpokenText:
    """espeak-ng speech of ``text`` with a pause between words and measured word onsets."""
    return speak_with_onsets(text)


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(16_000 * seconds), dtype=np.float32)


def snapclip(*args: str, timeout: float = 300, env: dict[str, str] | None = None
             ) -> subprocess.CompletedProcess[str]:
    """Run the installed ``snapclip`` command (in ``env``, else this environment)."""
    return subprocess.run([SNAPCLIP, *args], capture_output=True, text=True, timeout=timeout,
                          check=False, env=env)


def assert_one_line_error(proc: subprocess.CompletedProcess[str], code: int, text: str) -> None:
    """The CLI contract: exit ``code``, one error line naming ``text``, no traceback."""
    assert proc.returncode == code, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if "error:" in ln]
    assert len(lines) == 1 and text in lines[0], proc.stderr


def ffprobe(path: Path) -> dict:
    """Duration and streams (type, width, height) of a media file."""
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries",
                          "format=duration:stream=codec_type,width,height", "-of", "json",
                          str(path)], capture_output=True, text=True, check=True).stdout
    return json.loads(out)


class TcpProxy:
    """A loopback TCP forwarder to ``target`` (host:port) that a test can kill: every open
    connection is cut and new ones are refused, as when the server behind it dies."""

    def __init__(self, target: str) -> None:
        host, port = target.rsplit(":", 1)
        self._target = (host, int(port))
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self._listener.getsockname()[1]}"
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._alive = True

    def __enter__(self) -> TcpProxy:
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.kill()

    def kill(self) -> None:
        self._alive = False
        with self._lock:
            for sock in [self._listener, *self._sockets]:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()

    def _accept(self) -> None:
        while self._alive:
            try:
                client, _ = self._listener.accept()
                upstream = socket.create_connection(self._target)
            except OSError:
                return
            with self._lock:
                self._sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)


def output_folder(name: str) -> Path:
    """``test-output/<name>`` in the checkout (git ignores it): what a test leaves for people
    to look at after the run, such as screenshots. Replaced at each run of the test."""
    folder = Path(__file__).resolve().parents[1] / "test-output" / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder
