"""Ingest stage: get the source onto disk and check it can work before any model time is spent.

A URL is downloaded once through yt-dlp (``download``); a local file is used where it is. The
probe opens the file with PyAV (FFmpeg's demuxers) and refuses, with one clear message, what
cannot yield clips: a missing path, a file FFmpeg cannot read, no audio stream, or a video
shorter than one clip. Audio-only input is accepted: its clips get a still background.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from orchestrator.contracts.limits import MEDIA_OPEN_OPTIONS
from orchestrator.errors import InputError
from orchestrator.pipeline.ingest import download


@dataclass(frozen=True)
class Source:
    uri: str
    path: Path
    title: str
    duration_s: float
    has_video: bool
    fps: float = 0.0  # 0 for audio-only
    width: int = 0
    height: int = 0
    heatmap: tuple[dict[str, float], ...] | None = None


@contextlib.contextmanager
def open_source(source: str, *, min_duration_s: float = 0.0,
                policy: download.UrlPolicy | None = None,
                on_progress: Callable[[int, int | None], None] | None = None,
                ) -> Iterator[Source]:
    """Yield the probed source; a URL is downloaded to a temporary folder removed afterwards."""
    if not download.is_url(source):
        yield probe(source, min_duration_s=min_duration_s)
        return
    policy = policy or download.UrlPolicy()
    folder = Path(tempfile.mkdtemp(prefix="snapclip-download-"))
    try:
        fetched = download.download(source, folder, policy, on_progress=on_progress)
        yield _downloaded(source, fetched, policy, min_duration_s)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.asynccontextmanager
async def open_source_async(source: str, *, min_duration_s: float = 0.0,
                            policy: download.UrlPolicy | None = None,
                            on_progress: Callable[[int, int | None], None] | None = None,
                            ) -> AsyncIterator[Source]:
    """``open_source`` for the service's event loop: cancelling it kills a running download
    (a child process) and removes its folder at once."""
    if not download.is_url(source):
        yield await asyncio.to_thread(probe, source, min_duration_s=min_duration_s)
        return
    policy = policy or download.UrlPolicy()
    folder = Path(tempfile.mkdtemp(prefix="snapclip-download-"))
    try:
        fetched = await download.download_async(source, folder, policy,
                                                on_progress=on_progress)
        yield await asyncio.to_thread(_downloaded, source, fetched, policy, min_duration_s)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _downloaded(source: str, fetched: download.Download, policy: download.UrlPolicy,
                min_duration_s: float) -> Source:
    probed = probe(str(fetched.path), min_duration_s=min_duration_s, label=source)
    if probed.duration_s > policy.max_duration_s:
        raise InputError(f"{source}: the video is {probed.duration_s / 60:.0f} min long; "
                         f"the limit is {policy.max_duration_s / 60:.0f} min")
    return replace(probed, uri=source, title=fetched.title, heatmap=fetched.heatmap)


def _quarter_turned(container: object, stream: object) -> bool:
    """Does the video's display matrix turn it by 90 or 270 degrees (a phone held upright)?
    Read from its first frame, where PyAV exposes it."""
    import av

    try:
        frame = next(container.decode(stream))  # type: ignore[attr-defined]
    except (StopIteration, av.error.FFmpegError):
        return False
    return round(frame.rotation / 90) % 2 == 1


def probe(source: str, *, min_duration_s: float = 0.0, label: str | None = None) -> Source:
    """Open ``source`` (a local media file) and describe it, or raise ``InputError``.

    ``label`` names the source in error messages (the URL a download came from).
    """
    import av

    path = Path(source).expanduser()
    source = label or source
    if not path.exists():
        raise InputError(f"{source}: no such file")
    if not path.is_file():
        raise InputError(f"{source}: not a file")
    try:
        # Files only, known containers only: a playlist or concat list that names URLs or
        # other files is refused before FFmpeg follows it.
        with av.open(str(path), metadata_errors="ignore",
                     options=dict(MEDIA_OPEN_OPTIONS)) as container:
            audio = container.streams.audio
            cover_art = av.stream.Disposition.attached_pic
            video = [s for s in container.streams.video if not s.disposition & cover_art]
            duration = container.duration / 1_000_000 if container.duration else 0.0
            if not duration and audio and audio[0].duration and audio[0].time_base:
                duration = float(audio[0].duration * audio[0].time_base)
            title = str(container.metadata.get("title") or path.stem)
            fps = float(video[0].average_rate or video[0].guessed_rate or 0) if video else 0.0
            width, height = (video[0].codec_context.width, video[0].codec_context.height
                             ) if video else (0, 0)
            if video and _quarter_turned(container, video[0]):
                width, height = height, width  # shown (and rendered) turned: portrait
    except av.error.ArgumentError as exc:
        raise InputError(f"{source}: not a media container snapclip reads (video or audio "
                         "files such as mp4, mov, mkv, webm, mp3, wav; no playlists or lists "
                         "of other files)") from exc
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
                  duration_s=round(duration, 3), has_video=bool(video), fps=round(fps, 3),
                  width=width, height=height)
