"""URL sources: one download through yt-dlp's Python API, behind an address policy.

yt-dlp understands YouTube and a thousand other sites as well as a plain link to a media file,
and it reports what we keep besides the file: the title, the duration and YouTube's "Most
Replayed" ``heatmap``. Its Python API is used, never a shell, so a URL is never parsed by one.

A URL typed into a service can point inside the network that runs it (SSRF). Only http(s) is
accepted, and a host that resolves to a loopback, private, link-local or otherwise reserved
address is refused unless ``allow_private`` is set; the media URLs yt-dlp resolves the page to
are checked the same way before anything is downloaded. Size and duration limits are checked
before the download when the site reports them, and on the file afterwards.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass
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


def check_url(url: str, *, allow_private: bool) -> None:
    """Raise ``InputError`` unless ``url`` is http(s) to a host we may reach."""
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
    if allow_private:
        return
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%")[0])
        if not address.is_global or address.is_multicast:
            raise InputError(f"{url}: {host} resolves to a private or local address "
                             f"({address}); pass --allow-private-urls to allow it")


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
    """Download ``url``'s media into ``folder`` (one file) and return it with its metadata.

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

    check_url(url, allow_private=policy.allow_private)
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
        with yt_dlp.YoutubeDL(options) as ydl:
            info = ydl.extract_info(url, download=False)
            if info is None or info.get("_type") in {"playlist", "multi_video"}:
                raise InputError(f"{url}: is a playlist or a page without one video; pass the "
                                 "URL of a single video")
            for media in _media_urls(info):
                check_url(media, allow_private=policy.allow_private)
            duration = info.get("duration")
            if duration and float(duration) > policy.max_duration_s:
                raise InputError(f"{url}: the video is {float(duration) / 60:.0f} min long; "
                                 f"the limit is {policy.max_duration_s / 60:.0f} min")
            info = ydl.process_ie_result(info, download=True)
    except yt_dlp.utils.YoutubeDLError as exc:
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
