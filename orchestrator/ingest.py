"""Ingest stage: check a local source can work before any model time is spent on it.

The probe opens the file with PyAV (FFmpeg's demuxers) and refuses, with one clear message,
what cannot yield clips: a missing path, a file FFmpeg cannot read, no audio stream, or a video
shorter than one clip.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from orchestrator.errors import InputError


@dataclass(frozen=True)
class Source:
    uri: str
    path: Path
    title: str
    duration_s: float
    has_video: bool


def probe(source: str, *, min_duration_s: float = 0.0) -> Source:
    """Open ``source`` (a local media file) and describe it, or raise ``InputError``."""
    import av

    if urlparse(source).scheme in {"http", "https", "file", "ftp"}:
        raise InputError(f"{source}: URL sources are not supported yet; download the video "
                         "and pass the file")
    path = Path(source).expanduser()
    if not path.exists():
        raise InputError(f"{source}: no such file")
    if not path.is_file():
        raise InputError(f"{source}: not a file")
    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            audio = container.streams.audio
            cover_art = av.stream.Disposition.attached_pic
            video = [s for s in container.streams.video if not s.disposition & cover_art]
            duration = container.duration / 1_000_000 if container.duration else 0.0
            if not duration and audio and audio[0].duration and audio[0].time_base:
                duration = float(audio[0].duration * audio[0].time_base)
            title = str(container.metadata.get("title") or path.stem)
    except (av.error.FFmpegError, UnicodeDecodeError) as exc:
        raise InputError(f"{source}: not a media file FFmpeg can read ({exc})") from exc
    if not audio and not video:
        raise InputError(f"{source}: not a media file FFmpeg can read (no audio or video)")
    if not audio:
        raise InputError(f"{source}: has no audio stream; snapclip needs speech to find moments")
    if duration < min_duration_s:
        raise InputError(f"{source}: is {duration:.1f} s long, shorter than one clip "
                         f"({min_duration_s:.0f} s)")
    return Source(uri=str(path.resolve()), path=path.resolve(), title=title,
                  duration_s=round(duration, 3), has_video=bool(video))
