"""Build DATASET.jsonl from YouTube (where there is internet): candidates by search query or
channel, kept when 10-30 minutes long, each with its "Most Replayed" heatmap (yt-dlp's
``heatmap``; null for videos that have none). Metadata only by default: the lines point at the
video URLs, which ``snapclip eval`` downloads when it runs them; ``--download DIR`` fetches the
files now and points the lines at them instead."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrator.errors import InputError, SnapclipError
from orchestrator.pipeline.ingest.download import QuietLogger, error_text, heatmap_of


class CollectError(SnapclipError):
    """YouTube (or the given listing) cannot be read."""

    exit_code = 3


@dataclass(frozen=True)
class Listing:
    url: str  # "ytsearchN:query" or a channel/playlist URL
    category: str


def listings(queries: Iterable[str], channels: Iterable[str], per_listing: int
             ) -> list[Listing]:
    found = [Listing(f"ytsearch{per_listing}:{q}", q) for q in queries]
    found += [Listing(c.rstrip("/") + ("/videos" if "/@" in c and "/videos" not in c else ""),
                      c.rstrip("/").rsplit("/", 1)[-1]) for c in channels]
    if not found:
        raise InputError("give at least one --query or --channel")
    return found


def keep(info: dict[str, Any], min_minutes: float, max_minutes: float) -> str | None:
    """None when ``info`` is a usable candidate, else why not."""
    duration = info.get("duration")
    if not duration:
        return "no duration"
    if not min_minutes * 60 <= float(duration) <= max_minutes * 60:
        return f"{float(duration) / 60:.0f} min, outside {min_minutes:g}-{max_minutes:g}"
    if info.get("is_live") or info.get("was_live"):
        return "a live stream"
    return None


def line_of(info: dict[str, Any], category: str, source: str | None = None) -> dict[str, Any]:
    """A DATASET.jsonl line for a video's yt-dlp info."""
    return {"id": info["id"], "source": source or info.get("webpage_url") or info["url"],
            "category": category, "title": info.get("title", ""),
            "duration_s": float(info["duration"]),
            "heatmap": list(heatmap_of(info) or []) or None}


def collect(chosen: list[Listing], out: Path, *, per_listing: int, min_minutes: float,
            max_minutes: float, require_heatmap: bool = False, download: Path | None = None,
            say: Callable[[str], None] = print) -> int:
    """Write the candidates' lines to ``out`` (JSON lines); returns how many were written."""
    import yt_dlp

    seen: set[str] = set()
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.partial")
    try:
        written = _write(yt_dlp, chosen, partial, seen, per_listing=per_listing,
                         min_minutes=min_minutes, max_minutes=max_minutes,
                         require_heatmap=require_heatmap, download=download, say=say)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(out)  # the dataset appears whole or not at all
    return written


def _write(yt_dlp: Any, chosen: list[Listing], partial: Path, seen: set[str], *,
           per_listing: int, min_minutes: float, max_minutes: float, require_heatmap: bool,
           download: Path | None, say: Callable[[str], None]) -> int:
    written = 0
    with partial.open("w", encoding="utf-8") as lines:
        for listing in chosen:
            for info in _videos(yt_dlp, listing, per_listing):
                if info["id"] in seen:
                    continue
                seen.add(info["id"])
                why = keep(info, min_minutes, max_minutes)
                if why is None and require_heatmap and not heatmap_of(info):
                    why = "no heatmap"
                if why:
                    say(f"skip {info['id']}: {why}")
                    continue
                source = _fetch(yt_dlp, info, download) if download else None
                lines.write(json.dumps(line_of(info, listing.category, source)) + "\n")
                written += 1
                say(f"{info['id']}: {info.get('title', '')[:60]} "
                    f"({'heatmap' if heatmap_of(info) else 'no heatmap'})")
    return written


def _videos(yt_dlp: Any, listing: Listing, per_listing: int) -> Iterator[dict[str, Any]]:
    flat = {"quiet": True, "logger": QuietLogger(), "extract_flat": "in_playlist",
            "playlistend": per_listing}
    full = {"quiet": True, "logger": QuietLogger(), "skip_download": True}
    try:
        with yt_dlp.YoutubeDL(flat) as ydl:
            listed = ydl.extract_info(listing.url, download=False) or {}
        entries = [e for e in listed.get("entries") or [] if e and e.get("id")]
        with yt_dlp.YoutubeDL(full) as ydl:
            for entry in entries[:per_listing]:
                url = entry.get("url") or f"https://www.youtube.com/watch?v={entry['id']}"
                try:
                    yield ydl.extract_info(url, download=False)
                except yt_dlp.utils.YoutubeDLError:
                    continue  # private, removed or region-locked: not a candidate
    except yt_dlp.utils.YoutubeDLError as exc:
        raise CollectError(f"cannot read {listing.url}: {error_text(exc)}") from exc


def _fetch(yt_dlp: Any, info: dict[str, Any], folder: Path) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    options = {"quiet": True, "logger": QuietLogger(), "format": "best[height<=720]/best",
               "outtmpl": str(folder / "%(id)s.%(ext)s")}
    with yt_dlp.YoutubeDL(options) as ydl:
        done = ydl.extract_info(info["webpage_url"], download=True)
        return str(Path(ydl.prepare_filename(done)).resolve())
