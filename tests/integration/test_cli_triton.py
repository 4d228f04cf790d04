"""`snapclip triton`: the local server in the foreground, stopped by Ctrl-C."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.support import SNAPCLIP

pytestmark = pytest.mark.integration

def test_foreground_server_serves_until_interrupted(tmp_path: Path):
    errlog = tmp_path / "stderr.txt"
    with errlog.open("w") as err:
        proc = subprocess.Popen([SNAPCLIP, "triton", "--http-port", "0", "--grpc-port", "0",
                                 "--metrics-port", "0", "--model", "whisper"],
                                stdout=subprocess.DEVNULL, stderr=err,
                                # as in CI runners and `cmd &`: SIGINT starts out ignored
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    server_pid = None
    try:
        deadline = time.monotonic() + 120
        while "Triton ready" not in errlog.read_text():
            assert proc.poll() is None, errlog.read_text()
            assert time.monotonic() < deadline, "not ready in 120 s"
            time.sleep(0.2)
        text = errlog.read_text()
        http = re.search(r"HTTP (127\.0\.0\.1:\d+)", text)
        server_pid = int(re.search(r"pid (\d+)", text).group(1))
        assert http, text
        assert httpx.get(f"http://{http.group(1)}/v2/models/whisper/ready").status_code == 200
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0
        assert "Triton stopped" in errlog.read_text()
        assert not Path(f"/proc/{server_pid}").exists()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if server_pid and Path(f"/proc/{server_pid}").exists():  # never leave a server behind
            os.kill(server_pid, signal.SIGKILL)
