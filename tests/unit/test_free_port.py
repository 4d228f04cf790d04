"""Ports for the local Triton are chosen below the kernel's ephemeral range: Triton binds them
only after loading its models, and a port from that range could be handed to another socket
meanwhile (vLLM's engine took the gRPC port once)."""

from __future__ import annotations

import socket
from pathlib import Path

from orchestrator.serving.local import _ephemeral_low, free_port


def test_a_port_below_the_ephemeral_range_that_can_be_bound():
    low = _ephemeral_low()
    for _ in range(20):
        port = free_port()
        assert 1024 < port < low if low > 1024 else port > 0
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", port))  # free


def test_a_taken_port_is_never_returned(monkeypatch):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as held:
        held.bind(("127.0.0.1", 0))
        taken = held.getsockname()[1]
        monkeypatch.setattr("random.randrange", lambda a, b: taken)  # every draw collides
        port = free_port(tries=5)
        assert port != taken and port > 0  # the kernel's choice, after the draws failed


def test_the_range_is_read_from_proc_or_unknown(tmp_path: Path):
    (tmp_path / "range").write_text("32768\t60999\n")
    assert _ephemeral_low(tmp_path / "range") == 32768
    assert _ephemeral_low(tmp_path / "missing") == 0
