"""Run the real Triton server locally, on CPU, from the ``tritonserver`` inside nvidia-pytriton.

The PyPI wheel ``nvidia-pytriton`` bundles Triton 2.51's server binary, its shared libraries and
python-backend stubs for several Pythons. It runs on a machine without a GPU once (see BRIEF):

- the python backend is given a backend directory holding the stub built for this interpreter;
- ``LD_LIBRARY_PATH`` has the interpreter's LIBDIR first (the stub links the system libpython)
  and the wheel's bundled libraries (the stub needs their libcudart);
- this environment's ``bin`` is first on ``PATH``, so the stub's embedded Python finds this venv;
- every address is loopback and the CUDA memory pools are zero.

``LocalTriton`` starts it on free ports, waits for ``/v2/health/ready``, and stops it by PID,
then deletes the python backend's ``/dev/shm`` regions (they carry a prefix unique to the run)
and the folder of vLLM's IPC sockets (vLLM leaves one socket file per channel in its
``VLLM_RPC_BASE_PATH``, ``/tmp`` by default, however its engine ends; the server is given a
folder of its own).
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import tempfile
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import httpx

from orchestrator.errors import ModelServerError
from orchestrator.paths import model_repository, state_dir

SHM_DIR = Path("/dev/shm")


class TritonStartError(ModelServerError):
    """The local server did not become ready; the message quotes its log."""


@dataclass(frozen=True)
class TritonEndpoints:
    http: str
    grpc: str
    metrics: str

    @property
    def http_url(self) -> str:
        return f"http://{self.http}"

    @property
    def metrics_url(self) -> str:
        return f"http://{self.metrics}/metrics"


@dataclass(frozen=True)
class _Bundle:
    server: Path
    backends: Path
    libs: Path


def _site_path(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelServerError(f"{package} is not installed; run scripts/setup.sh")
    return Path(next(iter(spec.submodule_search_locations)))


def _bundle() -> _Bundle:
    root = _site_path("pytriton") / "tritonserver"
    libs = root.parent.parent / "nvidia_pytriton.libs"
    server = root / "bin" / "tritonserver"
    if not server.is_file():
        raise ModelServerError(f"tritonserver binary not found at {server}")
    return _Bundle(server=server, backends=_backend_dir(root), libs=libs)


def _backend_dir(root: Path) -> Path:
    """A copy of the bundled backends with this Python's stub next to the python backend."""
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    stub = root / "python_backend_stubs" / version / "triton_python_backend_stub"
    if not stub.is_file():
        raise ModelServerError(f"nvidia-pytriton ships no python backend stub for Python {version}")
    target = state_dir() / "triton_backends"
    marker = target / ".source"
    source_id = f"{root}:{stub.stat().st_size}:{stub.stat().st_mtime_ns}"
    if marker.is_file() and marker.read_text() == source_id:
        return target
    staging = Path(tempfile.mkdtemp(prefix="triton_backends.", dir=target.parent))
    shutil.copytree(root / "backends", staging, dirs_exist_ok=True)
    shutil.copy2(stub, staging / "python" / "triton_python_backend_stub")
    (staging / ".source").write_text(source_id)
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    return target


def free_port(*, tries: int = 100) -> int:
    """A port free on 127.0.0.1 now, below the kernel's ephemeral range when it can be.

    Triton binds its ports only once its models are loaded, a minute or more after we chose
    them; meanwhile vLLM's engine opens sockets on ports the kernel hands out from the
    ephemeral range, and one of them took the port chosen for gRPC once (Triton then exited
    with "Socket '127.0.0.1:41829' already in use", after loading every model). A port below
    that range is never handed out so.
    """
    low = _ephemeral_low()
    for _ in range(tries if low > 1024 else 0):
        port = random.randrange(1024 + (low - 1024) // 2, low)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _ephemeral_low(path: Path = Path("/proc/sys/net/ipv4/ip_local_port_range")) -> int:
    """The lowest port the kernel hands out on its own (Linux; 0 where unknown)."""
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0


# Logged on every start on a machine without a GPU; harmless (see BRIEF).
_HARMLESS = ("CudaDriverHelper has not been initialized",)


def _log_summary(path: Path, tail: int = 8) -> str:
    """The server log's error lines (first line of each message) and its last lines."""
    try:
        lines = path.read_text(errors="replace").rstrip().splitlines()
    except OSError:
        return "(no server log)"
    errors = [line.split("\\n", 1)[0] for line in lines
              if line.startswith("E") and line[1:5].isdigit()
              and not any(h in line for h in _HARMLESS)]
    shown = [*errors[-10:], *(["..."] if errors else []), *lines[-tail:]]
    return "\n".join(shown) or "(server log is empty)"


# Python multiprocessing (vLLM's workers) names its shared memory and semaphores like this; a
# worker killed with its server cannot unlink them.
_MP_SHM = ("psm_", "sem.mp-")


def _shm_in_use() -> set[str]:
    names: set[str] = set()
    for proc in Path("/proc").glob("[0-9]*"):
        with contextlib.suppress(OSError):
            names.update(line.rsplit("/dev/shm/", 1)[1].split()[0]
                          for line in (proc / "maps").read_text().splitlines()
                          if "/dev/shm/" in line)
        with contextlib.suppress(OSError):
            for fd in (proc / "fd").iterdir():
                with contextlib.suppress(OSError):
                    target = str(fd.readlink())
                    if target.startswith("/dev/shm/"):
                        names.add(target[len("/dev/shm/"):])
    return names


def _new_mp_shm(before: set[str]) -> list[Path]:
    """Multiprocessing shm entries that appeared since ``before`` was taken."""
    return [p for p in SHM_DIR.iterdir() if p.name not in before and p.name.startswith(_MP_SHM)]


class LocalTriton:
    """A local Triton server process serving this repository's model repository.

    Use as a context manager (``with LocalTriton() as server: server.endpoints.grpc``) or call
    ``start()``/``stop()``. ``models`` limits the loaded models (explicit model control);
    ``None`` loads every model in the repository. ``versions`` loads those models with only the
    versions given: their config with its version policy replaced, through the repository API
    once the server is up (a run that needs one llm version does not wait for three engines).
    A model not in ``versions`` is loaded without the versions its profile builds for other
    CPUs (``fetch.unsuited_versions``: llm v5's int8 build only where the CPU has VNNI, v4's
    float32 build only where it has not). Ports of 0 are chosen free.
    """

    def __init__(self, repository: Path | str | None = None, *,
                 models: Sequence[str] | None = None,
                 versions: Mapping[str, Sequence[int]] | None = None,
                 model_config_name: str = "cpu",
                 http_port: int = 0, grpc_port: int = 0, metrics_port: int = 0,
                 ready_timeout_s: float = 300.0, log_path: Path | None = None,
                 extra_args: Sequence[str] = ()) -> None:
        self.repository = model_repository(repository)
        self.model_config_name = model_config_name
        self.versions = {name: list(v) for name, v in (versions or {}).items()}
        self.models = list(models) if models is not None else None
        suited = self._suited_versions()
        if suited and self.models is None:  # loaded by name, the others as they are
            self.models = [p.parent.name for p in sorted(self.repository.glob("*/config.pbtxt"))
                           if p.parent.name not in {*self.versions, *suited}]
        self.versions.update(suited)
        if self.versions and self.models is None:
            self.models = []  # explicit model control: only what is named is loaded
        self.ready_timeout_s = ready_timeout_s
        self._ports = (http_port, grpc_port, metrics_port)
        self._extra_args = list(extra_args)
        self._own_log_dir: Path | None = None
        self.log_path = log_path
        self.shm_prefix = f"snapclip_{os.getpid()}_{uuid.uuid4().hex[:8]}_"
        self.endpoints: TritonEndpoints | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._shm_before: set[str] = set()
        self.vllm_rpc_dir: Path | None = None  # vLLM's IPC sockets (VLLM_RPC_BASE_PATH)

    def _suited_versions(self) -> dict[str, list[int]]:
        """The policy's versions that suit this CPU, for each model loaded without
        ``versions`` whose policy names a version built for another CPU."""
        from orchestrator.serving.fetch import policy_versions, unsuited_versions

        suited = {}
        for name, unsuited in unsuited_versions(self.model_config_name).items():
            folder = self.repository / name
            if (name in self.versions or not (folder / "config.pbtxt").is_file()
                    or (self.models is not None and name not in self.models)):
                continue
            policy = policy_versions(folder, self.model_config_name)
            if (keep := [v for v in policy if v not in unsuited]) and keep != policy:
                suited[name] = keep
        return suited

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def command(self, bundle: _Bundle, endpoints: TritonEndpoints) -> list[str]:
        http_port, grpc_port, metrics_port = (e.rsplit(":", 1)[1] for e in
                                              (endpoints.http, endpoints.grpc, endpoints.metrics))
        cmd = [
            str(bundle.server),
            f"--model-repository={self.repository}",
            f"--model-config-name={self.model_config_name}",
            f"--backend-directory={bundle.backends}",
            "--http-address=127.0.0.1", f"--http-port={http_port}",
            "--grpc-address=127.0.0.1", f"--grpc-port={grpc_port}",
            "--metrics-address=127.0.0.1", f"--metrics-port={metrics_port}",
            "--allow-gpu-metrics=false",
            "--pinned-memory-pool-byte-size=0",
            "--cuda-memory-pool-byte-size=0:0",
            f"--backend-config=python,shm-region-prefix-name={self.shm_prefix}",
            "--exit-timeout-secs=15",
        ]
        if self.models is not None:
            cmd.append("--model-control-mode=explicit")
            cmd += [f"--load-model={name}" for name in self.models
                    if name not in self.versions]
        return cmd + self._extra_args

    def environment(self, bundle: _Bundle) -> dict[str, str]:
        env = dict(os.environ)
        libdir = sysconfig.get_config_var("LIBDIR") or ""
        env["LD_LIBRARY_PATH"] = os.pathsep.join(
            p for p in (libdir, str(bundle.libs), env.get("LD_LIBRARY_PATH", "")) if p)
        env["PATH"] = os.pathsep.join((str(Path(sys.executable).parent), env.get("PATH", "")))
        env["PYTHONUNBUFFERED"] = "1"
        if self.vllm_rpc_dir is not None:
            env["VLLM_RPC_BASE_PATH"] = str(self.vllm_rpc_dir)
        return env

    def start(self, progress: Callable[[str], None] | None = None) -> TritonEndpoints:
        """Start the server and wait until it and the models it is to load are ready.

        Args:
            progress: called with a line as the server comes up and as each model named in
                ``versions`` is loaded (the llm takes a minute or more on two cores).

        Returns:
            The server's loopback endpoints.
        """
        if self._proc is not None:
            raise RuntimeError("server already started")
        bundle = _bundle()
        self._shm_before = {p.name for p in SHM_DIR.iterdir()}
        ports = [p or free_port() for p in self._ports]
        endpoints = TritonEndpoints(*(f"127.0.0.1:{p}" for p in ports))
        self.vllm_rpc_dir = Path(tempfile.mkdtemp(prefix="snapclip-vllm-"))
        if self.log_path is None:
            self._own_log_dir = Path(tempfile.mkdtemp(prefix="snapclip-triton-"))
            self.log_path = self._own_log_dir / "tritonserver.log"
        with self.log_path.open("wb") as log:
            self._proc = subprocess.Popen(
                self.command(bundle, endpoints), stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, env=self.environment(bundle), start_new_session=True)
        began = time.monotonic()
        try:
            self._wait_ready(endpoints)
            if self.versions:  # side by side, as the server loads the models it is told of
                named = {name: f"{name} v{'/'.join(map(str, versions))}"
                         for name, versions in self.versions.items()}
                if progress:
                    progress(f"server up after {time.monotonic() - began:.0f} s; "
                             f"loading {', '.join(named.values())}")
                with ThreadPoolExecutor(len(self.versions)) as pool:
                    self._await_loads({pool.submit(self._load, endpoints, name, versions):
                                       named[name] for name, versions in self.versions.items()},
                                      began, progress)
            elif progress:
                progress(f"ready after {time.monotonic() - began:.0f} s")
        except BaseException:
            self.stop()
            raise
        self.endpoints = endpoints
        return endpoints

    def _wait_ready(self, endpoints: TritonEndpoints) -> None:
        assert self._proc is not None and self.log_path is not None
        deadline = time.monotonic() + self.ready_timeout_s
        url = f"{endpoints.http_url}/v2/health/ready"
        with httpx.Client(timeout=2.0) as client:
            while time.monotonic() < deadline:
                code = self._proc.poll()
                if code is not None:
                    raise TritonStartError(
                        f"tritonserver exited with code {code} before it was ready; end of its "
                        f"log ({self.log_path}):\n{_log_summary(self.log_path)}")
                with contextlib.suppress(httpx.HTTPError):
                    if client.get(url).status_code == 200:
                        return
                time.sleep(0.25)
        raise TritonStartError(
            f"tritonserver was not ready after {self.ready_timeout_s:.0f} s; end of its log "
            f"({self.log_path}):\n{_log_summary(self.log_path)}")

    @staticmethod
    def _await_loads(loads: dict[Future[None], str], began: float,
                     progress: Callable[[str], None] | None) -> None:
        """Wait for every load, saying each one that ends; the first failure is raised."""
        pending = set(loads)
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                future.result()
                if progress:
                    progress(f"{loads[future]} ready after {time.monotonic() - began:.0f} s")

    def _load(self, endpoints: TritonEndpoints, name: str, versions: Sequence[int]) -> None:
        """Load ``name`` with only ``versions``: its config for this server, version policy
        replaced (Triton's repository API takes a whole config as JSON)."""
        from google.protobuf import json_format

        from orchestrator.serving.fetch import profile_config

        config = profile_config(self.repository / name, self.model_config_name)
        config.version_policy.specific.versions[:] = versions
        body = {"parameters": {"config": json_format.MessageToJson(
            config, preserving_proto_field_name=True)}}
        url = f"{endpoints.http_url}/v2/repository/models/{name}/load"
        try:
            response = httpx.post(url, json=body, timeout=self.ready_timeout_s)
        except httpx.HTTPError as exc:
            raise TritonStartError(f"loading {name} failed: {exc}") from exc
        if response.status_code != 200:
            try:
                error = response.json().get("error", response.text)
            except ValueError:
                error = response.text
            assert self.log_path is not None
            raise TritonStartError(
                f"loading {name} version {', '.join(map(str, versions))} failed: {error}; end "
                f"of the server's log ({self.log_path}):\n{_log_summary(self.log_path)}")

    def stop(self, timeout_s: float = 30.0) -> None:
        """Stop the server (SIGTERM, then SIGKILL), its stubs, and remove its shm regions."""
        proc, self._proc, self.endpoints = self._proc, None, None
        if proc is not None:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=timeout_s)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            # python-backend stubs run in the server's process group; none may outlive it.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
        for region in SHM_DIR.glob(f"{self.shm_prefix}*"):
            region.unlink(missing_ok=True)
        # vLLM's engine processes may outlive the server by a moment; wait for them to let go.
        deadline = time.monotonic() + 10
        while pending := _new_mp_shm(self._shm_before):
            in_use = _shm_in_use()
            for leftover in pending:
                if leftover.name not in in_use:
                    leftover.unlink(missing_ok=True)
            if time.monotonic() > deadline:
                break
            time.sleep(0.5)
        if self.vllm_rpc_dir is not None:
            shutil.rmtree(self.vllm_rpc_dir, ignore_errors=True)
            self.vllm_rpc_dir = None

    def cleanup_logs(self) -> None:
        if self._own_log_dir is not None:
            shutil.rmtree(self._own_log_dir, ignore_errors=True)
            self._own_log_dir = None

    def __enter__(self) -> LocalTriton:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
        if exc_type is None:
            self.cleanup_logs()
