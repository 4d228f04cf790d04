"""The render starts a clip as soon as it is settled and its title is written, while the llm is
still writing the reasons and the other clips are still being chosen (issue 18): the manifest
entry of each clip gets the final title and reason."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import numpy as np
import pytest

from orchestrator.contracts.transcript import Segment, Transcript, Word
from orchestrator.pipeline.ingest import probe
from orchestrator.pipeline.manifest import ClipScores
from orchestrator.pipeline.render import RenderInput, render_clips
from orchestrator.pipeline.select import Scored
from orchestrator.pipeline.types import Candidate
from orchestrator.pipeline.vision.stage import FrameSignals

pytestmark = pytest.mark.integration

SAID = ["the", "microphone", "placement", "beats", "the", "price", "of", "the", "microphone",
        "every", "time"]


class LateReasons:
    """Titles at once; the reasons only once the first clip's render has begun."""

    def __init__(self, chosen: tuple[Scored, ...]) -> None:
        self.chosen = chosen
        self.reasons = asyncio.Event()
        self.asked: list[str] = []

    async def title(self, k: int) -> str:
        self.asked.append(f"title {k}")
        return f"Microphone placement {k + 1}"

    async def reason(self, k: int) -> str:
        self.asked.append(f"reason {k}")
        await self.reasons.wait()
        return f"Reason {k + 1}, written late."


class InTurn:
    """The first clip at once; the others settled only once the first one's files are written
    (as the run chooses them)."""

    def __init__(self, chosen: tuple[Scored, ...], folder: Path) -> None:
        self.chosen, self.folder = chosen, folder
        self.first_out = asyncio.Event()
        self.events: list[str] = []

    async def clip(self, k: int) -> Scored | None:
        if k > 0:
            await self.first_out.wait()
        self.events.append(f"clip {k}")
        return self.chosen[k] if k < len(self.chosen) else None

    def count(self) -> int:
        return len(self.chosen)

    def rendered(self, k: int) -> None:
        assert (self.folder / f"clip_{k + 1:02d}.mp4").stat().st_size > 0
        self.events.append(f"rendered {k}")
        if k == 0:
            self.first_out.set()


def test_a_clip_renders_with_its_title_before_the_reasons_are_written(tmp_path: Path):
    video = tmp_path / "talk.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
                    "testsrc2=size=320x180:rate=10:duration=8", "-f", "lavfi", "-i",
                    "sine=frequency=220:sample_rate=16000:duration=8", "-c:v", "libx264",
                    "-preset", "ultrafast", "-c:a", "aac", "-shortest", str(video)], check=True)
    source = probe(str(video))
    words = tuple(Word(round(0.5 * i, 3), round(0.5 * i + 0.4, 3), w, 0.9)
                  for i, w in enumerate(SAID * 2))
    transcript = Transcript("en", source.duration_s,
                            (Segment(0.0, words[-1].end, " ".join(SAID * 2), words),))
    chosen = tuple(Scored(Candidate(a, b, "first words", "hook", "undescribed", 50.0, "llm",
                                    "highlight"), ClipScores(50.0, 0.0, None, 0.0), 0.5)
                   for a, b in ((0.0, 4.0), (4.0, 8.0)))
    times = np.arange(0.0, 8.0, 0.5)
    signals = FrameSignals(times, np.zeros(len(times)), (0.5,) * len(times), None,
                           (source.width, source.height))
    naming = LateReasons(chosen)
    started: list[str] = []

    def on_clip(line: str) -> None:
        started.append(line)
        naming.reasons.set()  # written only once a render is under way

    choice = InTurn(chosen, tmp_path)
    request = RenderInput(source, transcript, choice, signals, ("9:16",), captions=True,
                          naming=naming)
    clips = asyncio.run(asyncio.wait_for(render_clips(request, tmp_path, on_clip=on_clip), 60))
    assert naming.asked == ["title 0", "reason 0", "title 1", "reason 1"]
    # The second clip is asked for only once the first one's files are written.
    assert choice.events == ["clip 0", "rendered 0", "clip 1", "rendered 1", "clip 2"]
    assert "Microphone placement 1" in started[0]  # rendered under the title written
    assert [(c.title, c.reason) for c in clips] == [
        ("Microphone placement 1", "Reason 1, written late."),
        ("Microphone placement 2", "Reason 2, written late.")]
    assert [(c.start_s, c.end_s) for c in clips] == [(0.0, 4.0), (4.0, 8.0)]  # the selection's
    assert (tmp_path / "clip_01.mp4").stat().st_size > 0
