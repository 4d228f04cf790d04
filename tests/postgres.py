"""A throwaway PostgreSQL server for tests: initdb in a temporary folder, loopback port.

Debian's ``postgresql`` package provides the binaries (scripts/setup.sh installs it). The
server refuses to run as root, so as root it runs as the ``postgres`` user.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from orchestrator.serving.local import free_port


def _binary(name: str) -> str:
    installed = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True)
    found = shutil.which(name) or (str(installed[0]) if installed else None)
    if not found:
        raise RuntimeError(f"{name} not found: install Debian's postgresql (scripts/setup.sh)")
    return found


def _run(args: list[str]) -> None:
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    proc = subprocess.run([*prefix, *args], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{Path(args[0]).name} failed: {proc.stderr.strip()[-500:]}")


class PostgresServer:
    """A running server of a data folder: ``url``, and ``stop``/``start`` for fault tests."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.data, self.port = folder, folder / "data", free_port()
        self.url = f"postgresql+psycopg://snapclip@127.0.0.1:{self.port}/postgres"
        _run([_binary("initdb"), "-D", str(self.data), "-A", "trust", "-U", "snapclip",
              "-E", "UTF8", "--no-sync"])

    def start(self) -> None:
        _run([_binary("pg_ctl"), "-D", str(self.data), "-l", str(self.folder / "server.log"),
              "-w", "-t", "60", "-o",
              f"-h 127.0.0.1 -p {self.port} -k {self.folder} -c fsync=off", "start"])

    def stop(self) -> None:
        """Stop at once, as a crash or a failover would (open connections are cut)."""
        _run([_binary("pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"])


@contextlib.contextmanager
def postgres_instance() -> Iterator[PostgresServer]:
    """A fresh server on a loopback port, stopped and removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="snapclip-pg-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    server = PostgresServer(folder)
    server.start()
    try:
        yield server
    finally:
        with contextlib.suppress(RuntimeError):
            server.stop()
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def postgres_server() -> Iterator[str]:
    """Yield a SQLAlchemy URL of a fresh, empty database; the server is stopped afterwards."""
    with postgres_instance() as server:
        yield server.url
