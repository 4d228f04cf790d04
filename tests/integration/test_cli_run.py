"""`snapclip run` end to end on synthesized media; its errors, exit codes, no partial output."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from orchestrator.contracts import WHISPER_SAMPLE_RATE as SR
from orchestrator.synth import make_video, speak
from orchestrator.triton_local import free_port
from tests.support import SENTENCES, word_error_rate

pytestmark = pytest.mark.integration

SNAPCLIP = str(Path(sys.executable).parent / "snapclip")
TALK = ". ".join(SENTENCES[:5]) + "."


def snapclip(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SNAPCLIP, *args], capture_output=True, text=True, timeout=timeout,
                          check=False)


def assert_one_line_error(proc: subprocess.CompletedProcess[str], code: int, text: str) -> None:
    assert proc.returncode == code, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if "error:" in ln]
    assert len(lines) == 1 and text in lines[0], proc.stderr


@pytest.fixture(scope="module")
def talk_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("media")
    speech = speak(TALK, folder / "talk.wav")
    # 2 s of silence first, so video time differs from chunk time.
    padded = folder / "padded.wav"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-i", str(speech), "-af",
                    "adelay=2000:all=1", str(padded)], check=True)
    return make_video(padded, folder / "talk.mp4", size="320x240", fps=10)


def test_run_writes_transcript_and_manifest(talk_video: Path, grpc_url: str, tmp_path: Path):
    out = tmp_path / "result"
    proc = snapclip("run", str(talk_video), "--out", str(out), "--triton", grpc_url, "--json",
                    "--asr-version", "1")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["out"] == str(out)
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json", "transcript.json"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["schema"] == "snapclip.manifest/v1"
    assert manifest["models"]["asr"] == {"name": "whisper", "version": "1"}
    assert manifest["source"]["duration_s"] > 15
    assert {"ingest", "asr", "total"} <= set(manifest["timings_s"])
    transcript = json.loads((out / "transcript.json").read_text())
    text = " ".join(s["text"] for s in transcript["segments"])
    assert word_error_rate(TALK, text) <= 0.25, text
    first_word = transcript["segments"][0]["words"][0]
    assert 1.6 <= first_word["start"] <= 2.6  # video time: the speech starts after 2 s


def test_run_resolves_newest_version_by_default(talk_video: Path, grpc_url: str, tmp_path: Path):
    out = tmp_path / "result"
    proc = snapclip("run", str(talk_video), "--out", str(out), "--triton", grpc_url)
    assert proc.returncode == 0, proc.stderr
    assert json.loads((out / "manifest.json").read_text())["models"]["asr"]["version"] == "2"


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
