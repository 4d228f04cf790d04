"""What a job's source may reach: server paths only under the configured roots (never the jobs
folder), and FFmpeg limited to local files in known containers."""

from __future__ import annotations

import asyncio
import socket
import threading
from pathlib import Path

import pytest

from orchestrator.errors import InputError
from orchestrator.pipeline.ingest import probe
from orchestrator.pipeline.render.encode import RenderJob, ffmpeg_command
from orchestrator.proto import load
from orchestrator.service.jobs_api import JobsApi
from orchestrator.service.runner import JobRunner, RunnerConfig
from orchestrator.store import JobStore

pb, _ = load()


def submit(tmp_path: Path, source: Path | str, roots: tuple[Path, ...], *,
           uploaded: bool = False) -> None:
    store = JobStore(f"sqlite:///{tmp_path / 'jobs.db'}")
    store.migrate()
    jobs = tmp_path / "media" / "jobs"
    runner = JobRunner(store, RunnerConfig(triton_url="127.0.0.1:9", jobs_dir=jobs))
    api = JobsApi(store, runner, source_roots=roots, jobs_dir=jobs)
    try:
        asyncio.run(api.submit(pb.SubmitRequest(source=str(source)), uploaded=uploaded))
    finally:
        store.close()


def test_server_paths_only_under_the_roots(tmp_path: Path):
    media = tmp_path / "media"
    (media / "jobs" / ".uploads" / "someone").mkdir(parents=True)
    talk = media / "talk.mp4"
    talk.write_bytes(b"")
    other_upload = media / "jobs" / ".uploads" / "someone" / "their.mp4"
    other_upload.write_bytes(b"")
    (media / "link.mp4").symlink_to("/etc/hostname")

    with pytest.raises(InputError, match="no --source-root"):
        submit(tmp_path, talk, ())
    submit(tmp_path, talk, (media,))  # inside a root: queued
    for refused in ("/etc/hostname", media / ".." / ".." / "etc" / "passwd",
                    media / "link.mp4", other_upload):
        with pytest.raises(InputError, match="outside the folders"):
            submit(tmp_path, refused, (media,))
    submit(tmp_path, other_upload, (), uploaded=True)  # the upload route's own file
    submit(tmp_path, "https://example.com/v", ())  # URLs are the URL policy's business


def test_playlists_and_file_lists_are_refused_before_ffmpeg_follows_them(tmp_path: Path):
    # A listener on loopback notices whether FFmpeg tried to fetch the playlist's segment.
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    touched: list[bool] = []

    def accept() -> None:
        listener.settimeout(3)
        try:
            listener.accept()
            touched.append(True)
        except OSError:
            pass

    thread = threading.Thread(target=accept)
    thread.start()
    playlist = tmp_path / "list.m3u8"
    playlist.write_text(f"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\n"
                        f"http://127.0.0.1:{port}/segment.ts\n#EXT-X-ENDLIST\n")
    concat = tmp_path / "list.ffconcat"
    concat.write_text("ffconcat version 1.0\nfile '/etc/hostname'\n")
    try:
        for source in (playlist, concat):
            with pytest.raises(InputError, match="not a media container snapclip reads"):
                probe(str(source))
    finally:
        thread.join()
        listener.close()
    assert not touched


def test_ffmpeg_opens_the_source_with_the_same_limits(tmp_path: Path):
    job = RenderJob(source=tmp_path / "v.mp4", out=tmp_path / "c.mp4", start_s=1.0, end_s=5.0,
                    aspect="9:16", has_video=True, source_size=(1280, 720), fps=30.0,
                    crop_keyframes=((0.0, 640.0),), ass=None)
    cmd = ffmpeg_command(job)
    source = cmd.index(str(job.source))
    assert cmd[source - 5:source] == ["-protocol_whitelist", "file", "-format_whitelist",
                                      cmd[source - 2], "-i"]
    assert "hls" not in cmd[source - 2] and "concat" not in cmd[source - 2]
