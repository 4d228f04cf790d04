"""`snapclip run` end to end on synthesized media; its errors, exit codes, no partial output."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import tritonclient.grpc as grpcclient

from orchestrator.contracts.models import CLIP_IMAGE
from orchestrator.contracts.models import WHISPER_SAMPLE_RATE as SR
from orchestrator.paths import model_repository
from orchestrator.serving.local import free_port
from orchestrator.synth.speech import speak
from orchestrator.synth.video import make_video
from tests.support import SENTENCES, assert_one_line_error, ffprobe, snapclip, word_error_rate

pytestmark = pytest.mark.integration

TALK = ". ".join(SENTENCES[:5]) + "."


@pytest.fixture(scope="module")
def talk_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("media")
    speech = speak(TALK, folder / "talk.wav")
    # 2 s of silence first, so video time differs from chunk time.
    padded = folder / "padded.wav"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-i", str(speech), "-af",
                    "adelay=2000:all=1", str(padded)], check=True)
    return make_video(padded, folder / "talk.mp4", size="320x240", fps=10)


def run_one_clip(source: Path, grpc_url: str, out: Path) -> dict:
    """One short clip of ``source`` into ``out``; the run's manifest."""
    proc = snapclip("run", str(source), "--out", str(out), "--triton", grpc_url,
                    "--clips", "1", "--min-len", "5", "--max-len", "15")
    assert proc.returncode == 0, proc.stderr
    return json.loads((out / "manifest.json").read_text())


def test_run_small_video_end_to_end(talk_video: Path, grpc_url: str, tmp_path: Path):
    out = tmp_path / "result"
    proc = snapclip("run", str(talk_video), "--out", str(out), "--triton", grpc_url, "--json",
                    "--clips", "1", "--min-len", "5", "--max-len", "15",
                    "--aspect", "9:16,16:9", "--caption-style", "one-word, size=0.1",
                    "--no-split-screen")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["out"] == str(out) and summary["manifest"] == str(out / "manifest.json")
    assert len(summary["clips"]) == 1 and Path(summary["clips"][0]["file"]).is_file()
    # The clip was reported as soon as it was rendered, where it lay until the run ended.
    ready = [line for line in proc.stderr.splitlines() if line.strip().startswith("ready")]
    assert len(ready) == 1 and "clip 1" in ready[0] and "clip_01.mp4" in ready[0], proc.stderr
    assert ".result.partial-" in ready[0]
    assert sorted(p.name for p in out.iterdir()) == [
        "clip_01.mp4", "clip_01.srt", "clip_01_16x9.mp4", "clips.edl", "clips.fcpxml",
        "clips.otio", "clips.xml", "manifest.json", "reframe.json", "timeline.png",
        "transcript.json"]
    manifest = json.loads((out / "manifest.json").read_text())
    # One selection, every clip in each aspect asked for: the same span, its own frame size.
    (clip,) = manifest["clips"]
    assert clip["renditions"] == {"9:16": "clip_01.mp4", "16:9": "clip_01_16x9.mp4"}
    assert manifest["selection"]["aspects"] == ["9:16", "16:9"]
    assert manifest["selection"]["caption_style"] == "one-word,size=0.1"
    assert manifest["selection"]["split_screen"] is False
    for file, size in (("clip_01.mp4", (1080, 1920)), ("clip_01_16x9.mp4", (1920, 1080))):
        video = ffprobe(out / file)
        stream = next(s for s in video["streams"] if s["codec_type"] == "video")
        assert (stream["width"], stream["height"]) == size, file
        assert float(video["format"]["duration"]) == pytest.approx(
            clip["end_s"] - clip["start_s"], abs=0.15)
    assert manifest["schema"] == "snapclip.manifest/v1"
    assert manifest["models"]["asr"] == {"name": "whisper", "version": "2"}  # newest served
    assert manifest["source"]["duration_s"] > 15 and manifest["source"]["has_video"]
    assert {"ingest", "asr", "moments", "vision", "select", "render", "total"} <= set(
        manifest["timings_s"])
    transcript = json.loads((out / "transcript.json").read_text())
    text = " ".join(s["text"] for s in transcript["segments"])
    assert word_error_rate(TALK, text) <= 0.25, text
    first_word = transcript["segments"][0]["words"][0]
    assert 1.6 <= first_word["start"] <= 2.6  # video time: the speech starts after 2 s


def test_audio_only_source_gets_a_still_background(talk_video: Path, grpc_url: str,
                                                   tmp_path: Path):
    audio = tmp_path / "talk.m4a"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-i", str(talk_video), "-vn", "-c:a", "aac",
                    str(audio)], check=True)
    out = tmp_path / "result"
    manifest = run_one_clip(audio, grpc_url, out)
    assert manifest["source"]["has_video"] is False
    assert manifest["selection"]["vision_similarity"] is False
    streams = ffprobe(out / "clip_01.mp4")["streams"]
    video = next(s for s in streams if s["codec_type"] == "video")
    assert (video["width"], video["height"]) == (1080, 1920)
    assert any(s["codec_type"] == "audio" for s in streams)


def test_missing_file_is_bad_input(tmp_path: Path):
    proc = snapclip("run", str(tmp_path / "nope.mp4"), "--out", str(tmp_path / "o"))
    assert_one_line_error(proc, 2, "no such file")
    assert not (tmp_path / "o").exists()


def test_non_media_file_is_bad_input(tmp_path: Path):
    fake = tmp_path / "fake.mp4"
    fake.write_text("this is not a video\n" * 100)
    proc = snapclip("run", str(fake), "--out", str(tmp_path / "o"))
    assert_one_line_error(proc, 2, "not a media file")
    assert not (tmp_path / "o").exists()


def test_empty_file_is_bad_input(tmp_path: Path):
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    proc = snapclip("run", str(empty), "--out", str(tmp_path / "o"))
    assert_one_line_error(proc, 2, "not a media file")
    assert not (tmp_path / "o").exists()


def test_two_second_video_is_bad_input(tmp_path: Path):
    short = tmp_path / "short.mp4"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-f", "lavfi", "-i",
                    "testsrc2=size=160x120:rate=10:duration=2", "-f", "lavfi", "-i",
                    "sine=duration=2", "-pix_fmt", "yuv420p", "-shortest", str(short)],
                   check=True)
    proc = snapclip("run", str(short), "--out", str(tmp_path / "o"))
    assert_one_line_error(proc, 2, "shorter than one clip")
    assert not (tmp_path / "o").exists()


def test_bad_options_are_usage_errors(talk_video: Path, tmp_path: Path):
    proc = snapclip("run", str(talk_video), "--out", str(tmp_path / "o"), "--aspect", "4:3")
    assert_one_line_error(proc, 2, "--aspect")
    proc = snapclip("run", str(talk_video), "--out", str(tmp_path / "o"), "--weights", "txt=1")
    assert_one_line_error(proc, 2, "--weights")
    assert not (tmp_path / "o").exists()


def test_video_without_audio_is_bad_input(tmp_path: Path):
    silent = tmp_path / "silent.mp4"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-f", "lavfi", "-i",
                    "testsrc2=size=160x120:rate=5:duration=20", "-pix_fmt", "yuv420p",
                    str(silent)], check=True)
    proc = snapclip("run", str(silent), "--out", str(tmp_path / "o"))
    assert_one_line_error(proc, 2, "no audio stream")


def test_too_short_is_bad_input(tmp_path: Path):
    short = speak("Too short.", tmp_path / "short.wav")
    proc = snapclip("run", str(short), "--out", str(tmp_path / "o"))
    assert_one_line_error(proc, 2, "shorter than one clip")


def test_audio_without_speech_is_bad_input(tmp_path: Path):
    quiet = tmp_path / "quiet.wav"
    import wave

    with wave.open(str(quiet), "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(SR)
        w.writeframes(np.zeros(SR * 20, dtype=np.int16).tobytes())
    proc = snapclip("run", str(quiet), "--out", str(tmp_path / "o"),
                    "--triton", "127.0.0.1:1")
    assert_one_line_error(proc, 2, "no speech")


def test_unreachable_triton_is_exit_3_and_leaves_nothing(talk_video: Path, tmp_path: Path):
    out = tmp_path / "o"
    proc = snapclip("run", str(talk_video), "--out", str(out), "--triton",
                    f"127.0.0.1:{free_port()}", timeout=120)
    assert_one_line_error(proc, 3, "unreachable")
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_unknown_model_version_is_exit_3(talk_video: Path, grpc_url: str, tmp_path: Path):
    proc = snapclip("run", str(talk_video), "--out", str(tmp_path / "o"), "--triton", grpc_url,
                    "--asr-version", "3")
    assert_one_line_error(proc, 3, "not ready")


def test_missing_weights_name_the_set_up_and_start_no_server(talk_video: Path, tmp_path: Path):
    """A model repository without weights: one line that says how to get them."""
    empty = tmp_path / "model_repository"
    shutil.copytree(model_repository(), empty, ignore=lambda folder, names: {
        n for n in names if Path(folder).name.isdigit() and n != "model.py"})
    proc = snapclip("run", str(talk_video), "--out", str(tmp_path / "o"),
                    "--model-repository", str(empty), timeout=120)
    assert_one_line_error(proc, 3, "no weights for whisper, llm")
    assert "scripts/setup.sh" in proc.stderr and "Starting local Triton" not in proc.stderr
    assert not (tmp_path / "o").exists()


@pytest.fixture
def clip_unloaded(grpc_url: str) -> Iterator[None]:
    """The session server without clip_image (as after scripts/demo.sh's set-up, which
    installs no CLIP); loaded again afterwards."""
    client = grpcclient.InferenceServerClient(grpc_url)
    client.unload_model(CLIP_IMAGE.name)
    try:
        yield
    finally:
        client.load_model(CLIP_IMAGE.name)
        client.close()


def test_run_without_clip_skips_similarity(talk_video: Path, grpc_url: str, tmp_path: Path,
                                           clip_unloaded: None):
    out = tmp_path / "result"
    manifest = run_one_clip(talk_video, grpc_url, out)
    assert manifest["selection"]["vision_similarity"] is False
    assert any("clip_image is not served" in note for note in manifest["selection"]["notes"])
    assert (out / "clip_01.mp4").is_file()
    # Asked for explicitly, a missing CLIP is an error, not a silent skip.
    proc = snapclip("run", str(talk_video), "--out", str(tmp_path / "o"), "--triton", grpc_url,
                    "--clip-similarity", "on")
    assert_one_line_error(proc, 3, "not ready")
