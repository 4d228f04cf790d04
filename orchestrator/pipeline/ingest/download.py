"""URL sources: one download through yt-dlp's Python API, behind an address policy.

yt-dlp understands YouTube and a thousand other sites as well as a plain link to a media file,
and it reports what we keep besides the file: the title, the duration and YouTube's "Most
Replayed" ``heatmap``. Its Python API is used, never a shell, so a URL is never parsed by one.

A URL typed into a service can point inside the network that runs it (SSRF). Only http(s) is
accepted, and a host that resolves to a loopback, private, link-local or otherwise reserved
address is refused unless ``allow_private`` is set. Checking the host name once is not enough:
yt-dlp resolves it again (a DNS answer can change in between: rebinding), follows redirects and
fetches manifests and fragments from other hosts. So the policy is enforced where connections
are made: the download runs in a child process whose every socket ``connect`` checks the
address it is about to reach (``guarded_connections``) - redirects, manifests, fragments and a
second DNS answer included - and refuses before any packet is sent. The child process also
makes a download killable: cancelling a job kills it and removes its folder, instead of
leaving a thread that downloads on. Size and duration limits are checked before the download
when the site reports them, and on the file afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import socket
import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from orchestrator.errors import InputError

URL_SCHEMES = ("http", "https")


@dataclass(frozen=True)
class UrlPolicy:
    allow_private: bool = False
    max_filesize_mb: float = 4096.0
    max_duration_s: float = 4 * 3600.0
    # Networks (CIDR) reachable although not public, e.g. a company's media server; tests
    # allow 127.0.0.1/32 and so keep every connection on loopback.
    allowed_networks: tuple[str, ...] = ()

    def permits(self, address: str) -> bool:
        """May a connection go to ``address`` (an IP literal)?"""
        ip = ipaddress.ip_address(address.split("%")[0])
        if self.allow_private or any(ip in ipaddress.ip_network(n, strict=False)
                                     for n in self.allowed_networks):
            return True
        return ip.is_global and not ip.is_multicast


class BlockedAddressError(ConnectionRefusedError):
    """A connection to an address the policy refuses was stopped before it was made."""


@dataclass(frozen=True)
class Download:
    path: Path
    title: str
    duration_s: float | None
    heatmap: tuple[dict[str, float], ...] | None


def is_url(source: str) -> bool:
    """True for anything with a URL scheme (``C:\\x`` style drive letters aside)."""
    scheme = urlparse(source).scheme
    return len(scheme) > 1


def check_url(url: str, *, allow_private: bool = False, policy: UrlPolicy | None = None
              ) -> None:
    """Raise ``InputError`` unless ``url`` is http(s) to a host we may reach (as its name
    resolves now; connections are checked again when they are made)."""
    policy = policy or UrlPolicy(allow_private=allow_private)
    parsed = urlparse(url)
    if parsed.scheme.lower() not in URL_SCHEMES:
        raise InputError(f"{url}: only http:// and https:// URLs are accepted")
    host = parsed.hostname
    if not host:
        raise InputError(f"{url}: the URL has no host")
    try:
        infos = socket.getaddrinfo(host, parsed.port or None, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise InputError(f"{url}: cannot resolve host {host!r} ({exc})") from exc
    except ValueError as exc:  # a port outside 0-65535
        raise InputError(f"{url}: {exc}") from exc
    for info in infos:
        if not policy.permits(info[4][0]):
            raise InputError(f"{url}: {host} resolves to a private or local address "
                             f"({info[4][0]}); pass --allow-private-urls to allow it")


@contextlib.contextmanager
def guarded_connections(policy: UrlPolicy) -> Iterator[None]:
    """Within the block, every Python socket ``connect`` to an address ``policy`` refuses
    raises ``BlockedAddressError`` before anything is sent. Process-wide: only for a process
    (or test) that does nothing else meanwhile - the download child."""
    original, original_ex = socket.socket.connect, socket.socket.connect_ex

    def allowed(address: Any) -> None:
        if isinstance(address, tuple) and address and not policy.permits(str(address[0])):
            raise BlockedAddressError(f"connection to {address[0]} refused by the address "
                                      "policy (private, local or reserved)")

    def connect(self: socket.socket, address: Any) -> None:
        allowed(address)
        original(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        allowed(address)
        return original_ex(self, address)

    socket.socket.connect, socket.socket.connect_ex = connect, connect_ex  # type: ignore
    try:
        yield
    finally:
        socket.socket.connect, socket.socket.connect_ex = original, original_ex  # type: ignore


class QuietLogger:
    """yt-dlp logger that keeps its chatter off the terminal; errors come back as exceptions."""

    def debug(self, msg: str) -> None:
        pass

    def info(self, msg: str) -> None:
        pass

    def warning(self, msg: str) -> None:
        pass

    def error(self, msg: str) -> None:
        pass


def _media_urls(info: dict[str, Any]) -> list[str]:
    formats = info.get("requested_formats") or [info]
    return [f["url"] for f in formats if isinstance(f.get("url"), str)]


def heatmap_of(info: dict[str, Any]) -> tuple[dict[str, float], ...] | None:
    bins = info.get("heatmap")
    if not isinstance(bins, list) or not bins:
        return None
    try:
        return tuple({"start_time": float(b["start_time"]), "end_time": float(b["end_time"]),
                      "value": float(b["value"])} for b in bins)
    except (KeyError, TypeError, ValueError):
        return None


def error_text(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text.removeprefix("ERROR: ").strip()


def download(url: str, folder: Path, policy: UrlPolicy, *,
             on_progress: Callable[[int, int | None], None] | None = None) -> Download:
    """``guarded_download`` in a child process (the process-wide guard stays there); blocks
    until it ends. Raises ``InputError`` as it does."""
    with subprocess.Popen(_child_command(url, folder, policy), stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL, text=True) as child:
        try:
            assert child.stdout is not None
            outcome = _read_child(iter(child.stdout.readline, ""), on_progress)
        finally:
            if child.poll() is None:
                child.kill()
    return outcome


async def download_async(url: str, folder: Path, policy: UrlPolicy, *,
                         on_progress: Callable[[int, int | None], None] | None = None
                         ) -> Download:
    """``download`` for the event loop: cancelling it kills the child at once."""
    child = await asyncio.create_subprocess_exec(
        *_child_command(url, folder, policy), stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL)
    assert child.stdout is not None
    lines: list[str] = []
    try:
        while line := await child.stdout.readline():
            lines.append(line.decode(errors="replace"))
            if on_progress and lines[-1].startswith(_PROGRESS):
                _read_child(lines[-1:], on_progress, final=False)
        await child.wait()
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            child.kill()
        await asyncio.shield(child.wait())
        raise
    return _read_child(lines, None)


_PROGRESS, _RESULT, _ERROR = "snapclip-progress ", "snapclip-result ", "snapclip-error "


def _child_command(url: str, folder: Path, policy: UrlPolicy) -> list[str]:
    job = {"url": url, "folder": str(folder), "policy": asdict(policy)}
    return [sys.executable, "-m", "orchestrator.pipeline.ingest.download", json.dumps(job)]


def _read_child(lines: Iterable[str], on_progress: Callable[[int, int | None], None] | None,
                *, final: bool = True) -> Download:
    """Follow the child's protocol lines: progress, then a result or an error."""
    for line in lines:
        if line.startswith(_PROGRESS):
            done, _, total = line[len(_PROGRESS):].strip().partition(" ")
            if on_progress:
                on_progress(int(done), int(total) if total.isdigit() else None)
        elif line.startswith(_RESULT):
            data = json.loads(line[len(_RESULT):])
            heatmap = tuple(data["heatmap"]) if data["heatmap"] is not None else None
            return Download(Path(data["path"]), data["title"], data["duration_s"], heatmap)
        elif line.startswith(_ERROR):
            raise InputError(line[len(_ERROR):].strip())
    if not final:
        return None  # type: ignore[return-value]
    raise InputError("the download stopped without a result (its process died)")


def _child_main(argument: str) -> int:
    job = json.loads(argument)
    policy = UrlPolicy(**{**job["policy"],
                          "allowed_networks": tuple(job["policy"]["allowed_networks"])})

    def progress(done: int, total: int | None) -> None:
        print(f"{_PROGRESS}{done} {total if total is not None else '-'}", flush=True)

    try:
        got = guarded_download(job["url"], Path(job["folder"]), policy, on_progress=progress)
    except InputError as exc:
        print(f"{_ERROR}{str(exc).splitlines()[0]}", flush=True)
        return 2
    print(_RESULT + json.dumps({"path": str(got.path), "title": got.title,
                                "duration_s": got.duration_s,
                                "heatmap": list(got.heatmap) if got.heatmap else None}),
          flush=True)
    return 0


def guarded_download(url: str, folder: Path, policy: UrlPolicy, *,
                     on_progress: Callable[[int, int | None], None] | None = None
                     ) -> Download:
    """Download ``url``'s media into ``folder`` (one file) and return it with its metadata;
    every connection on the way is checked against ``policy`` when it is made.

    Args:
        url: an http(s) URL yt-dlp understands (a video page or a direct media link).
        folder: an empty folder that receives the file; the caller removes it.
        policy: the address policy and the size and duration limits.
        on_progress: called with (bytes done, bytes expected or None) while downloading.

    Returns:
        The downloaded file, its title, duration (None when unknown) and heatmap.

    Raises:
        InputError: the URL is refused, unreachable, not media, or over a limit.
    """
    import yt_dlp

    check_url(url, policy=policy)
    max_bytes = int(policy.max_filesize_mb * 1024 * 1024)

    def hook(status: dict[str, Any]) -> None:
        if on_progress and status.get("status") == "downloading":
            total = status.get("total_bytes") or status.get("total_bytes_estimate")
            on_progress(int(status.get("downloaded_bytes") or 0), int(total) if total else None)

    options = {
        "outtmpl": {"default": str(folder / "source.%(ext)s")},
        "format": "bv*[height<=1080]+ba/b[height<=1080]/b",
        "noplaylist": True,
        "max_filesize": max_bytes,
        "socket_timeout": 20,
        "retries": 2,
        "quiet": True,
        "no_warnings": True,
        "noprogress": True,
        "logger": QuietLogger(),
        "progress_hooks": [hook],
        "overwrites": True,
    }
    try:
        with guarded_connections(policy), yt_dlp.YoutubeDL(options) as ydl:
            info = ydl.extract_info(url, download=False)
            if info is None or info.get("_type") in {"playlist", "multi_video"}:
                raise InputError(f"{url}: is a playlist or a page without one video; pass the "
                                 "URL of a single video")
            for media in _media_urls(info):
                check_url(media, policy=policy)
            duration = info.get("duration")
            if duration and float(duration) > policy.max_duration_s:
                raise InputError(f"{url}: the video is {float(duration) / 60:.0f} min long; "
                                 f"the limit is {policy.max_duration_s / 60:.0f} min")
            info = ydl.process_ie_result(info, download=True)
    except yt_dlp.utils.YoutubeDLError as exc:
        if _blocked(exc):
            raise InputError(f"{url}: refused - the download would connect to a private or "
                             "local address (a redirect, or the name resolved anew); pass "
                             "--allow-private-urls to allow it") from exc
        raise InputError(f"{url}: cannot download ({error_text(exc)})") from exc
    files = [p for p in folder.iterdir() if p.is_file() and not p.name.endswith(".part")]
    if not files:
        raise InputError(f"{url}: nothing was downloaded (larger than the "
                         f"{policy.max_filesize_mb:.0f} MB limit?)")
    path = max(files, key=lambda p: p.stat().st_size)
    if path.stat().st_size > max_bytes:
        raise InputError(f"{url}: the download is larger than the "
                         f"{policy.max_filesize_mb:.0f} MB limit")
    return Download(path=path, title=str(info.get("title") or path.stem),
                    duration_s=float(duration) if duration else None, heatmap=heatmap_of(info))


def _blocked(exc: BaseException) -> bool:
    """Did the address policy stop a connection somewhere under ``exc``?"""
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, BlockedAddressError) or "refused by the address policy" in str(
                current):
            return True
        pending += [current.__cause__, current.__context__,
                    *(a for a in getattr(current, "args", ()) if isinstance(a, BaseException))]
    return False


if __name__ == "__main__":
    sys.exit(_child_main(sys.argv[1]))
