"""``snapclip render``: render one clip of a finished run again, as the creator edited it.

No model runs: the span, the captions and the aspects change; everything else comes from what
the run wrote - the transcript (``transcript.json``, for captions of a new span), the subject
path (``reframe.json``, for the crop), the caption style and the renditions (``manifest.json``).
Edited captions come as an SRT file with clip-relative times, burned in as written.

The new files are rendered beside the old ones under hidden names and renamed over them only
when every aspect is done; the manifest (the clip's span, captions and a ``revision`` one
higher) and the editor timelines are then rewritten the same way (written aside, renamed), so a
failed or interrupted re-render leaves the clip as it was. Re-renders of one output folder take
turns (an exclusive lock on it).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from orchestrator.contracts.limits import MAX_CLIP_S, MIN_CLIP_S
from orchestrator.contracts.transcript import Transcript, Word
from orchestrator.errors import InputError
from orchestrator.pipeline.ingest import Source, probe
from orchestrator.pipeline.manifest import Clip, Manifest
from orchestrator.pipeline.reframe import (
    REFRAME_FILE,
    parse_aspects,
    read_subject_path,
)
from orchestrator.pipeline.render import captions
from orchestrator.pipeline.render.editors import (
    TimelineClip,
    build_timeline,
    write_timelines,
)
from orchestrator.pipeline.render.stage import (
    clip_cut,
    render_renditions,
    rendition_name,
    split_spans,
)
from orchestrator.pipeline.render.styles import parse_style

STAGED = ".rerender-"  # the prefix of files rendered aside, renamed into place when all are


@dataclass(frozen=True)
class ClipEdit:
    """What to change in clip ``rank``; None keeps what it has."""

    rank: int
    start_s: float | None = None
    end_s: float | None = None
    captions_srt: str | None = None  # SRT text, times relative to the (new) clip start
    aspect: str | None = None  # "9:16" or "9:16,1:1"; None: the aspects it was rendered in


async def rerender(out: Path, edit: ClipEdit, *, source: Path | None = None) -> Clip:
    """Render clip ``edit.rank`` of the run in ``out`` again; return its new manifest entry.

    Args:
        out: a finished run's output folder.
        edit: the clip and what changes.
        source: the original video, when the manifest's is not a local file any more (a URL
            source's download is deleted after its run).

    Raises:
        InputError: no such run or clip, a span outside the video or the length limits, an
            unreadable SRT, no source file.
    """
    with _locked(out):
        manifest = _manifest(out)
        clip = next((c for c in manifest.clips if c.rank == edit.rank), None)
        if clip is None:
            raise InputError(f"{out}: no clip {edit.rank} (it has "
                             f"{', '.join(str(c.rank) for c in manifest.clips) or 'none'})")
        start = clip.start_s if edit.start_s is None else edit.start_s
        end = clip.end_s if edit.end_s is None else edit.end_s
        _check_span(start, end, manifest.source.duration_s)
        media = _source(manifest, source)
        aspects = _aspects(edit.aspect, clip, manifest)
        lines, edited_words = _captions(out, manifest, clip, edit, start, end)
        stem = f"clip_{clip.rank:02d}"
        cut = clip_cut(stem, start, end, lines, clip.title, read_subject_path(out / REFRAME_FILE),
                       split_screen=manifest.selection.split_screen)
        srt = out / f"{STAGED}{stem}.srt"
        try:
            staged = await render_renditions(
                media, cut, aspects, out, burn=manifest.selection.captions_burned,
                style=parse_style(manifest.selection.caption_style), prefix=STAGED)
            srt.write_text(captions.to_srt(lines), encoding="utf-8")
            for n, aspect in enumerate(aspects):
                staged[aspect].replace(out / rendition_name(stem, aspect, n == 0))
            srt.replace(out / f"{stem}.srt")
        finally:  # whatever was written aside and not renamed (a failed or cancelled render)
            for leftover in out.glob(f"{STAGED}{stem}*"):
                leftover.unlink(missing_ok=True)
        kept = {rendition_name(stem, a, n == 0) for n, a in enumerate(aspects)}
        for name in clip.renditions.values():  # renditions no longer asked for
            if name not in kept:
                (out / name).unlink(missing_ok=True)
        edited = replace(clip, start_s=round(start, 3), end_s=round(end, 3),
                         revision=clip.revision + 1, file=f"{stem}.mp4",
                         captions_edited=edited_words,
                         split_screen=split_spans(cut, aspects),
                         renditions={a: rendition_name(stem, a, n == 0)
                                     for n, a in enumerate(aspects)})
        clips = tuple(edited if c.rank == clip.rank else c for c in manifest.clips)
        updated = replace(manifest, clips=clips)
        timeline = build_timeline(manifest.source.title, media.path, manifest.source.duration_s,
                                  media.fps, [TimelineClip(c.start_s, c.end_s, c.title, c.reason)
                                              for c in clips])
        with tempfile.TemporaryDirectory(dir=out, prefix=".timelines-") as aside:
            write_timelines(timeline, Path(aside))
            _write_json_atomically(out / "manifest.json", updated.to_dict())
            for written in Path(aside).iterdir():
                written.replace(out / written.name)
        return edited


def _captions(out: Path, manifest: Manifest, clip: Clip, edit: ClipEdit, start: float,
              end: float) -> tuple[list[captions.Caption], bool]:
    """The clip's caption lines for ``[start, end]`` and whether they are the creator's words.

    An edited SRT is taken as written. Otherwise captions a creator edited before are kept - a
    re-render must not lose them: they move with the new start, lines now outside the span go,
    and speech the old span did not cover gets the transcript's lines. Captions nobody edited
    come from the transcript.
    """
    duration = end - start
    if edit.captions_srt is not None:
        return parse_srt(edit.captions_srt, duration), True
    words = Transcript.from_dict(json.loads(
        (out / manifest.transcript).read_text(encoding="utf-8"))).words
    if not clip.captions_edited:
        return captions.caption_lines(captions.clip_words(words, start, end), duration), False
    kept = _shifted(parse_srt((out / clip.captions).read_text(encoding="utf-8"),
                              clip.end_s - clip.start_s), clip.start_s - start, duration)
    if start < clip.start_s:  # the clip now starts earlier: the transcript's lines before
        until = min(end, clip.start_s)
        kept += captions.caption_lines(captions.clip_words(words, start, until), until - start)
    if end > clip.end_s:  # ... and after
        since = max(start, clip.end_s)
        kept += _shifted(captions.caption_lines(captions.clip_words(words, since, end),
                                                end - since), since - start, duration)
    return sorted(kept, key=lambda line: line.start_s), True


def _shifted(lines: list[captions.Caption], by: float, duration: float
             ) -> list[captions.Caption]:
    """``lines`` moved by ``by`` seconds; what falls outside ``[0, duration]`` is dropped."""
    moved = []
    for line in lines:
        begin, finish = max(0.0, line.start_s + by), min(duration, line.end_s + by)
        words = tuple(Word(round(max(begin, w.start + by), 3), round(min(finish, w.end + by), 3),
                           w.word, w.probability)
                      for w in line.words if begin <= w.start + by < finish)
        if words and finish > begin:
            moved.append(captions.Caption(round(begin, 3), round(finish, 3), words))
    return moved


def parse_srt(text: str, duration_s: float) -> list[captions.Caption]:
    """An edited SRT -> caption lines (clip-relative), each line's words spread over its time.

    Raises ``InputError`` naming the first block that cannot be read.
    """
    lines = []
    for block in [b for b in text.replace("\r\n", "\n").strip().split("\n\n") if b.strip()]:
        rows = block.strip().split("\n")
        timing = next((n for n, row in enumerate(rows) if "-->" in row), None)
        if timing is None:
            raise InputError(f"captions: no 'start --> end' line in block {rows[0][:40]!r}")
        try:
            begin, _, finish = rows[timing].partition("-->")
            start, end = _srt_seconds(begin), _srt_seconds(finish)
        except ValueError:
            raise InputError(f"captions: cannot read the times {rows[timing][:60]!r}") from None
        words = " ".join(rows[timing + 1:]).split()
        start, end = max(0.0, start), min(end, duration_s)
        if not words or end <= start:
            continue
        step = (end - start) / len(words)
        lines.append(captions.Caption(round(start, 3), round(end, 3), tuple(
            Word(round(start + k * step, 3), round(start + (k + 1) * step, 3), word, 1.0)
            for k, word in enumerate(words))))
    return lines


def _srt_seconds(text: str) -> float:
    hours, minutes, rest = text.strip().split(":")
    seconds, _, millis = rest.replace(".", ",").partition(",")
    return int(hours) * 3600 + int(minutes) * 60 + int(seconds) + int(millis or 0) / 1000


def _manifest(out: Path) -> Manifest:
    path = out / "manifest.json"
    if not path.is_file():
        raise InputError(f"{out}: not a finished run (no manifest.json)")
    try:
        return Manifest.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, KeyError) as exc:
        raise InputError(f"{path}: not a readable manifest ({str(exc)[:100]})") from None


def _check_span(start: float, end: float, duration_s: float) -> None:
    if not 0.0 <= start < end <= duration_s + 1e-6:
        raise InputError(f"the clip must lie inside the video (0-{duration_s:.1f} s) and end "
                         f"after it starts, not {start:.2f}-{end:.2f} s")
    if not MIN_CLIP_S <= end - start <= MAX_CLIP_S:
        raise InputError(f"a clip lasts {MIN_CLIP_S:g}-{MAX_CLIP_S:g} s, not "
                         f"{end - start:.2f} s")


def _source(manifest: Manifest, override: Path | None) -> Source:
    path = override or Path(manifest.source.uri)
    if ("://" in manifest.source.uri and override is None) or not path.is_file():
        raise InputError(f"the original video is not at hand ({manifest.source.uri[:200]}): "
                         "pass it with --source FILE")
    found = probe(str(path))
    if abs(found.duration_s - manifest.source.duration_s) > 1.0:
        raise InputError(f"{path} lasts {found.duration_s:.1f} s, the run's source "
                         f"{manifest.source.duration_s:.1f} s: not the same video")
    return found


def _aspects(asked: str | None, clip: Clip, manifest: Manifest) -> tuple[str, ...]:
    if asked is None:
        return tuple(clip.renditions) or (manifest.selection.aspect,)
    return parse_aspects(asked.replace(" ", ""))


def _write_json_atomically(path: Path, data: object) -> None:
    with tempfile.NamedTemporaryFile("w", dir=path.parent, prefix=f".{path.name}.",
                                     delete=False, encoding="utf-8") as aside:
        aside.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    Path(aside.name).replace(path)


@contextlib.contextmanager
def _locked(out: Path) -> Iterator[None]:
    if not out.is_dir():
        raise InputError(f"{out}: no such output folder")
    folder = os.open(out, os.O_RDONLY | os.O_DIRECTORY)  # the folder itself: no lock file
    try:
        fcntl.flock(folder, fcntl.LOCK_EX)
        yield
    finally:
        os.close(folder)
