"""URL sources through yt-dlp: a loopback HTTP server, the address policy, clean failures."""

from __future__ import annotations

import functools
import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator.serving.local import free_port
from orchestrator.synth.speech import speak
from orchestrator.synth.video import make_video
from tests.support import SENTENCES, assert_one_line_error, ffprobe, snapclip

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def media_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``http://127.0.0.1:PORT/`` serving a short talk video as ``talk.mp4``."""
    folder = tmp_path_factory.mktemp("served")
    speech = speak(". ".join(SENTENCES[2:6]) + ".", folder / "talk.wav")
    make_video(speech, folder / "talk.mp4", size="320x180", fps=10)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_loopback_url_is_refused_without_the_flag(media_server: str, tmp_path: Path):
    proc = snapclip("run", media_server + "talk.mp4", "--out", str(tmp_path / "o"))
    assert_one_line_error(proc, 2, "private or local address")
    assert list(tmp_path.iterdir()) == []


def test_file_url_is_refused(media_server: str, tmp_path: Path):
    proc = snapclip("run", "file:///etc/hostname", "--out", str(tmp_path / "o"),
                    "--allow-private-urls")
    assert_one_line_error(proc, 2, "only http")


def test_closed_port_is_bad_input(tmp_path: Path):
    url = f"http://127.0.0.1:{free_port()}/talk.mp4"
    proc = snapclip("run", url, "--out", str(tmp_path / "o"), "--allow-private-urls",
                    timeout=120)
    assert_one_line_error(proc, 2, "cannot download")
    assert list(tmp_path.iterdir()) == []


def test_missing_page_is_bad_input(media_server: str, tmp_path: Path):
    proc = snapclip("run", media_server + "nothing.mp4", "--out", str(tmp_path / "o"),
                    "--allow-private-urls")
    assert_one_line_error(proc, 2, "404")


def test_download_over_the_size_limit_is_refused(media_server: str, tmp_path: Path):
    proc = snapclip("run", media_server + "talk.mp4", "--out", str(tmp_path / "o"),
                    "--allow-private-urls", "--max-download-mb", "0.001")
    assert_one_line_error(proc, 2, "limit")


def test_url_run_with_clip_similarity_square_and_no_captions(media_server: str, grpc_url: str,
                                                             tmp_path: Path):
    out = tmp_path / "result"
    url = media_server + "talk.mp4"
    proc = snapclip("run", url, "--out", str(out), "--triton", grpc_url, "--allow-private-urls",
                    "--clips", "1", "--min-len", "5", "--max-len", "12", "--aspect", "1:1",
                    "--no-captions", "--clip-similarity", "on")
    assert proc.returncode == 0, proc.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["source"]["uri"] == url
    assert manifest["models"]["vision"] == {"name": "clip_image", "version": "1"}
    assert manifest["selection"]["vision_similarity"] is True
    assert manifest["selection"]["captions_burned"] is False
    (clip,) = manifest["clips"]
    assert clip["scores"]["similarity"] is not None
    video = next(s for s in ffprobe(out / clip["file"])["streams"] if s["codec_type"] == "video")
    assert (video["width"], video["height"]) == (1080, 1080)
    assert not list(Path("/tmp").glob("snapclip-download-*/source.*"))  # download removed
