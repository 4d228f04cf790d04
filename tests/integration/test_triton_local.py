"""The local Triton launcher: readiness, failure reports, clean stop (PID, stubs, /dev/shm,
vLLM's IPC sockets)."""

from __future__ import annotations

import os
import re
import textwrap
from pathlib import Path

import httpx
import pytest

from orchestrator.serving.local import SHM_DIR, LocalTriton, TritonStartError

pytestmark = pytest.mark.integration

ECHO_CONFIG = """
name: "{name}"
backend: "python"
max_batch_size: 0
input [ {{ name: "IN", data_type: TYPE_FP32, dims: [ -1 ] }} ]
output [ {{ name: "OUT", data_type: TYPE_FP32, dims: [ -1 ] }} ]
instance_group [ {{ count: 1, kind: KIND_CPU }} ]
"""

ECHO_MODEL = """
import numpy as np
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def initialize(self, args):
        {init}

    def execute(self, requests):
        return [pb_utils.InferenceResponse(output_tensors=[pb_utils.Tensor(
            "OUT", pb_utils.get_input_tensor_by_name(r, "IN").as_numpy())]) for r in requests]
"""


def make_model(repository: Path, name: str, init: str = "pass") -> None:
    folder = repository / name / "1"
    folder.mkdir(parents=True)
    (repository / name / "config.pbtxt").write_text(ECHO_CONFIG.format(name=name))
    (folder / "model.py").write_text(textwrap.dedent(ECHO_MODEL).format(init=init))


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return not Path(f"/proc/{pid}/stat").read_text().split(") ")[1].startswith("Z")


def group_members(pgid: int) -> list[int]:
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(stat.parent.name))
    return members


def test_starts_ready_on_loopback_and_stops_cleanly(tmp_path: Path):
    # The model leaves a file where vLLM puts its IPC sockets (and never removes them).
    make_model(tmp_path, "echo", init='import os; open(os.path.join('
               'os.environ["VLLM_RPC_BASE_PATH"], "engine-socket"), "w").close()')
    server = LocalTriton(tmp_path)
    with server:
        rpc_dir = server.vllm_rpc_dir
        assert rpc_dir is not None and (rpc_dir / "engine-socket").exists()
        assert server.endpoints is not None
        pid = server.pid
        assert pid is not None and alive(pid)
        url = server.endpoints.http_url
        assert httpx.get(f"{url}/v2/health/ready").status_code == 200
        reply = httpx.post(f"{url}/v2/models/echo/infer", json={"inputs": [
            {"name": "IN", "shape": [3], "datatype": "FP32", "data": [1, 2, 3]}]}).json()
        assert reply["outputs"][0]["data"] == [1, 2, 3]
        assert list(SHM_DIR.glob(f"{server.shm_prefix}*")), "python backend uses shm regions"
        assert len(group_members(pid)) >= 2  # the server and its python stub
    assert not alive(pid)
    assert group_members(pid) == []
    assert list(SHM_DIR.glob(f"{server.shm_prefix}*")) == []
    assert not rpc_dir.exists()


def test_failed_model_raises_with_the_log_tail(tmp_path: Path):
    make_model(tmp_path, "broken", init='raise RuntimeError("weights are missing: marker-7")')
    server = LocalTriton(tmp_path, ready_timeout_s=60)
    with pytest.raises(TritonStartError) as info:
        server.start()
    assert "marker-7" in str(info.value)
    assert server.pid is None
    assert list(SHM_DIR.glob(f"{server.shm_prefix}*")) == []
    server.cleanup_logs()


def test_explicit_model_list_loads_only_those(tmp_path: Path):
    make_model(tmp_path, "echo")
    make_model(tmp_path, "broken", init='raise RuntimeError("must not load")')
    with LocalTriton(tmp_path, models=["echo"]) as server:
        assert server.endpoints is not None
        index = httpx.post(f"{server.endpoints.http_url}/v2/repository/index").json()
        states = {m["name"]: m.get("state") for m in index}
        assert states["echo"] == "READY" and states["broken"] != "READY"


def test_versions_load_only_those_with_the_config_otherwise_unchanged(tmp_path: Path):
    make_model(tmp_path, "echo")
    (tmp_path / "echo" / "2").mkdir()
    (tmp_path / "echo" / "2" / "model.py").write_text(
        textwrap.dedent(ECHO_MODEL).format(init='raise RuntimeError("must not load")'))
    config = tmp_path / "echo" / "config.pbtxt"
    config.write_text(config.read_text() + "version_policy: { all: {} }\n")
    server = LocalTriton(tmp_path, versions={"echo": [1]})
    said: list[str] = []
    try:
        server.start(progress=said.append)
        assert said[0].startswith("server up after ") and said[0].endswith("; loading echo v1")
        assert re.fullmatch(r"echo v1 ready after \d+ s", said[1]) and len(said) == 2
        assert server.endpoints is not None
        index = httpx.post(f"{server.endpoints.http_url}/v2/repository/index").json()
        assert {(m["name"], m.get("version"), m.get("state")) for m in index} == {
            ("echo", "1", "READY")}
        answer = httpx.post(f"{server.endpoints.http_url}/v2/models/echo/infer", json={
            "inputs": [{"name": "IN", "datatype": "FP32", "shape": [2], "data": [1, 2]}]})
        assert answer.json()["outputs"][0]["data"] == [1, 2]
    finally:
        server.stop()
    server.cleanup_logs()
    # A version without its folder: the start fails, saying which load.
    server = LocalTriton(tmp_path, versions={"echo": [3]}, ready_timeout_s=60)
    with pytest.raises(TritonStartError, match="loading echo version 3 failed"):
        server.start()
    assert server.pid is None and list(SHM_DIR.glob(f"{server.shm_prefix}*")) == []
    server.cleanup_logs()
