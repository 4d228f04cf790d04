"""Render stage: every chosen clip cut, reframed and captioned; the score timeline; the editor
timelines.

Clips are rendered one after another in rank order (each FFmpeg run already uses every core),
each in every aspect asked for (``render_renditions``, which ``snapclip render`` uses too), as
the selection settles them (``RenderInput.choice``: the run settles the first clip alone and
chooses the others once it is rendered). A clip needs only its title (its caption keywords)
to start: with ``RenderInput.naming`` it renders while the llm is still writing the reasons.
Each clip's SRT is written beside it and its ASS captions, when burned in, are removed once
FFmpeg has used them. The crop follows the subject path the vision stage tracked, smoothed
once for the whole video (``reframe.smooth_path``) and cut into keyframes per clip.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

import numpy as np

from orchestrator.contracts.transcript import Transcript
from orchestrator.pipeline.ingest import Source
from orchestrator.pipeline.manifest import Clip
from orchestrator.pipeline.reframe import (
    ASPECTS,
    REFRAME_FILE,
    SplitLayout,
    SubjectPath,
    smooth_path,
    split_layout,
    write_subject_path,
)
from orchestrator.pipeline.render import captions
from orchestrator.pipeline.render.editors import TimelineClip, build_timeline, write_timelines
from orchestrator.pipeline.render.encode import RenderJob, crop_keyframes, render_clip
from orchestrator.pipeline.render.styles import DEFAULT_STYLE, CaptionStyle
from orchestrator.pipeline.render.timeline import draw_timeline
from orchestrator.pipeline.select import Scored, SelectResult
from orchestrator.pipeline.types import Candidate
from orchestrator.pipeline.vision.stage import FrameSignals


class Choice(Protocol):
    """The chosen clips, best first, as the selection settles them."""

    async def clip(self, k: int) -> Scored | None:
        """Clip ``k`` (from 0) once it is settled; None when the choice holds fewer."""
        ...

    def count(self) -> int:
        """How many clips: the choice's, once made; until then the most it can hold."""
        ...

    def rendered(self, k: int) -> None:
        """Every file of clip ``k`` is written (the selection may go on)."""
        ...


@dataclass(frozen=True)
class Chosen:
    """A choice already made (``Choice``)."""

    items: tuple[Scored, ...]

    async def clip(self, k: int) -> Scored | None:
        return self.items[k] if k < len(self.items) else None

    def count(self) -> int:
        return len(self.items)

    def rendered(self, k: int) -> None:
        pass


class Naming(Protocol):
    """The chosen clips' titles and reasons while the llm is still writing them: a clip's
    render needs only its title (``captions.keywords``), its manifest entry the reason too.
    The spans stay the selection's (fitted to sentences), whatever the llm was asked about."""

    async def title(self, k: int) -> str:
        """Clip ``k``'s title (``k`` counts the choice's clips from 0), as soon as it is
        known."""
        ...

    async def reason(self, k: int) -> str:
        """Clip ``k``'s reason, once written."""
        ...


@dataclass(frozen=True)
class RenderInput:
    source: Source
    transcript: Transcript
    choice: Choice
    signals: FrameSignals
    aspects: tuple[str, ...]  # every clip in each; the first is the clip's main file
    captions: bool  # burn them in (the SRT files are written either way)
    style: CaptionStyle = DEFAULT_STYLE  # how burned-in captions look
    split_screen: bool = True  # stack two people held in the picture (9:16); False: one window
    naming: Naming | None = None  # titles still on their way; None: the candidates' own


def rendition_name(stem: str, aspect: str, first: bool) -> str:
    """``clip_01.mp4`` for the first aspect, ``clip_01_1x1.mp4`` and so on for the others."""
    return f"{stem}.mp4" if first else f"{stem}_{aspect.replace(':', 'x')}.mp4"


@dataclass(frozen=True)
class ClipCut:
    """One clip to render: its span, caption lines (clip-relative) and crop keyframes."""

    stem: str  # "clip_01"
    start_s: float
    end_s: float
    lines: list[captions.Caption]
    emphasis: frozenset[str]  # words lit in the captions (captions.keywords)
    keyframes: tuple[tuple[float, float], ...]  # crop_keyframes of the span
    split: SplitLayout | None = None  # where a 9:16 rendition stacks two people


def clip_cut(stem: str, start_s: float, end_s: float, lines: list[captions.Caption],
             title: str, subject: SubjectPath, *, split_screen: bool = True) -> ClipCut:
    """What a clip's renditions need, from its span, captions, title and the subject path;
    with ``split_screen`` False a two-person shot keeps one window on the larger face."""
    return ClipCut(stem, start_s, end_s, lines,
                   captions.keywords(title, [w for line in lines for w in line.words]),
                   crop_keyframes(subject.times_s, subject.centres, start_s, end_s),
                   split_layout(subject, start_s, end_s) if split_screen else None)


async def render_renditions(source: Source, cut: ClipCut, aspects: tuple[str, ...],
                            folder: Path, *, burn: bool, style: CaptionStyle,
                            prefix: str = "",
                            before: Callable[[str, Path], None] = lambda a, p: None,
                            after: Callable[[str, Path], None] = lambda a, p: None,
                            ) -> dict[str, Path]:
    """Render ``cut`` once per aspect into ``folder``; returns each aspect's file.

    The first aspect's file is ``<stem>.mp4``, the others ``<stem>_1x1.mp4`` and so on, each
    name preceded by ``prefix`` (a re-render writes ``.rerender-`` files aside and renames them
    into place itself). Burned-in captions are drawn from an ASS file written for the aspect's
    frame size and removed once FFmpeg has read it. ``before`` and ``after`` are called
    with the aspect and its file around each encode.
    """
    written: dict[str, Path] = {}
    for n, aspect in enumerate(aspects):
        out = folder / f"{prefix}{rendition_name(cut.stem, aspect, n == 0)}"
        before(aspect, out)
        ass = None
        if burn:
            width, height = ASPECTS[aspect]
            ass = folder / f".{out.stem.lstrip('.')}.ass"
            ass.write_text(captions.to_ass(cut.lines, width, height, style, cut.emphasis),
                           encoding="utf-8")
        try:
            await render_clip(RenderJob(
                source=source.path, out=out, start_s=cut.start_s, end_s=cut.end_s,
                aspect=aspect, has_video=source.has_video,
                source_size=(source.width, source.height), fps=source.fps,
                crop_keyframes=cut.keyframes, ass=ass,
                split=cut.split if aspect == "9:16" else None))
        finally:
            if ass:
                ass.unlink(missing_ok=True)
        written[aspect] = out
        after(aspect, out)
    return written


async def render_clips(request: RenderInput, folder: Path, *,
                       on_clip: Callable[[str], None] = lambda line: None,
                       on_progress: Callable[[int, int], None] = lambda done, total: None,
                       on_ready: Callable[[Clip, Path], None] = lambda clip, folder: None,
                       ) -> list[Clip]:
    """Render every chosen clip in every aspect with its captions into ``folder``; return
    manifest entries.

    The subject path is smoothed once for the whole video and cut into keyframes once per
    clip; each aspect only places its own window on it (``crop_geometry``), so a further aspect
    costs one more FFmpeg encode and nothing else. ``on_ready`` hears of each clip as soon as
    all its files are written and its reason is known.
    """
    source, signals = request.source, request.signals
    centres = smooth_path(signals.subject_x) if len(signals.subject_x) else np.zeros(0)
    subject = SubjectPath(tuple(signals.times_s.tolist()), tuple(centres.tolist()),
                          signals.face_pairs)
    write_subject_path(folder / REFRAME_FILE, subject)
    words = request.transcript.words
    clips: list[Clip] = []
    done = 0
    while (item := await request.choice.clip(len(clips))) is not None:
        rank = len(clips) + 1
        c = item.candidate
        if request.naming is not None:  # the render starts as soon as the title is written
            c = replace(c, title=await request.naming.title(rank - 1))
        stem = f"clip_{rank:02d}"
        lines = captions.caption_lines(captions.clip_words(words, c.start_s, c.end_s),
                                       c.end_s - c.start_s)
        (folder / f"{stem}.srt").write_text(captions.to_srt(lines), encoding="utf-8")
        cut = clip_cut(stem, c.start_s, c.end_s, lines, c.title, subject,
                       split_screen=request.split_screen)

        def starting(aspect: str, out: Path, c: Candidate = c) -> None:
            on_clip(f"{out.name}  {c.start_s:.1f}-{c.end_s:.1f} s  {aspect}  {c.title}")

        def rendered(aspect: str, out: Path) -> None:
            nonlocal done
            done += 1
            on_progress(done, request.choice.count() * len(request.aspects))

        files = await render_renditions(source, cut, request.aspects, folder,
                                        burn=request.captions, style=request.style,
                                        before=starting, after=rendered)
        request.choice.rendered(rank - 1)
        if request.naming is not None:
            c = replace(c, reason=await request.naming.reason(rank - 1))
        clips.append(Clip(rank=rank, start_s=c.start_s, end_s=c.end_s, score=item.score,
                          scores=item.scores, origin=c.origin, title=c.title, hook=c.hook,
                          reason=c.reason, file=f"{stem}.mp4", captions=f"{stem}.srt",
                          renditions={a: p.name for a, p in files.items()},
                          prompt_match=c.prompt_match, split_screen=split_spans(cut, tuple(files))))
        on_ready(clips[-1], folder)
    return clips


def split_spans(cut: ClipCut, aspects: tuple[str, ...]) -> tuple[tuple[float, float], ...]:
    """The manifest's ``split_screen``: the spells stacked, when a 9:16 rendition is made."""
    return cut.split.spans if cut.split is not None and "9:16" in aspects else ()


def write_extras(request: RenderInput, result: SelectResult, folder: Path, clips: list[Clip]
                 ) -> dict[str, str]:
    """``timeline.png`` (the fused score of the choice ``result``, the clips shaded) and the
    editor timelines (``editors``) into ``folder``; returns the timelines' files by kind."""
    source, signals = request.source, request.signals
    draw_timeline(folder / "timeline.png", times_s=result.curve_times_s, fused=result.curve,
                  change_times_s=signals.times_s, change=signals.change,
                  clips=[(c.start_s, c.end_s, c.title) for c in clips],
                  duration_s=source.duration_s, title=source.title)
    media = source.path if source.uri == str(source.path) else source.uri
    timeline = build_timeline(source.title, media, source.duration_s, source.fps,
                              [TimelineClip(c.start_s, c.end_s, c.title, c.reason)
                               for c in clips])
    return write_timelines(timeline, folder)
