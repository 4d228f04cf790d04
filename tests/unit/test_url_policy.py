"""The URL address policy holds at connection time, for every connection of a download.

Every connection these tests make stays on loopback: the policy allows 127.0.0.1 and refuses
127.0.0.2 (a loopback address too, so even a broken guard reaches nothing beyond this
machine), and a listener on 127.0.0.2 records whether anything got through.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from orchestrator.errors import InputError
from orchestrator.pipeline.ingest import download as dl

POLICY = dl.UrlPolicy(allowed_networks=("127.0.0.1/32",))
WAV = (b"RIFF$\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00\x80>\x00\x00\x00}\x00\x00"
       b"\x02\x00\x10\x00data\x00\x00\x00\x00")


class Forbidden:
    """A listener on 127.0.0.2 that counts the connections it receives."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.2", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
                self.connections += 1
                conn.close()
            except OSError:
                continue

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()


@pytest.fixture
def forbidden() -> Iterator[Forbidden]:
    listener = Forbidden()
    yield listener
    listener.close()


@pytest.fixture
def server(forbidden: Forbidden) -> Iterator[str]:
    """127.0.0.1: ``/talk.wav`` is media; ``/go`` redirects to the forbidden listener."""

    class Handler(BaseHTTPRequestHandler):
        def do_HEAD(self) -> None:
            self.do_GET(body=False)

        def do_GET(self, body: bool = True) -> None:
            if self.path.startswith("/go"):
                self.send_response(302)
                self.send_header("Location", f"http://127.0.0.2:{forbidden.port}/talk.wav")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "audio/wav")
            self.send_header("Content-Length", str(len(WAV)))
            self.end_headers()
            if body:
                self.wfile.write(WAV)

        def log_message(self, *_args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_an_allowed_address_downloads_in_the_child_process(server: str, tmp_path: Path):
    got = dl.download(f"http://{server}/talk.wav", tmp_path, POLICY)
    assert got.path.read_bytes() == WAV


def test_a_redirect_to_a_refused_address_is_stopped_before_it_connects(
        server: str, forbidden: Forbidden, tmp_path: Path):
    with pytest.raises(InputError, match="a redirect, or the name resolved anew"):
        dl.download(f"http://{server}/go/talk.wav", tmp_path, POLICY)
    assert forbidden.connections == 0
    assert not [p for p in tmp_path.iterdir() if p.stat().st_size]


def test_a_name_that_resolves_anew_to_a_refused_address_is_stopped(
        server: str, forbidden: Forbidden, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """DNS rebinding: the first answer passes the check, the second points elsewhere."""
    real = socket.getaddrinfo
    port = int(server.rsplit(":", 1)[1])
    answers: list[str] = []

    def rebinding(host: str, *args: object, **kwargs: object) -> list:
        if host != "media.test":
            return real(host, *args, **kwargs)
        address = "127.0.0.1" if not answers else "127.0.0.2"
        answers.append(address)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    # The first answer passes the name check; the refusal comes from the connection.
    with pytest.raises(InputError, match="the name resolved anew"):
        dl.guarded_download(f"http://media.test:{port}/talk.wav", tmp_path, POLICY)
    assert answers[0] == "127.0.0.1" and "127.0.0.2" in answers
    assert forbidden.connections == 0


def test_the_guard_refuses_any_socket_and_is_removed_afterwards():
    before = socket.socket.connect
    with dl.guarded_connections(POLICY), pytest.raises(dl.BlockedAddressError):
        socket.create_connection(("127.0.0.2", 9), timeout=1)
    assert socket.socket.connect is before
    assert dl.UrlPolicy().permits("8.8.8.8") and not dl.UrlPolicy().permits("169.254.169.254")
    assert not POLICY.permits("10.0.0.1") and POLICY.permits("127.0.0.1")
