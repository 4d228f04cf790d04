"""DATASET.jsonl: one video per line - ``source``, optional ``heatmap`` and ``category``.

``heatmap`` is yt-dlp's format (a list of ``{start_time, end_time, value}``, value in [0, 1];
null when a video has none). A bad line (not JSON, no source, a malformed heatmap) is reported
with its line number and skipped; the rest of the dataset is still evaluated.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from orchestrator.errors import InputError
from orchestrator.evaluation.metrics import HeatBin


@dataclass(frozen=True)
class Entry:
    line: int
    source: str  # a URL, or a path (relative ones are resolved against the dataset's folder)
    heatmap: tuple[HeatBin, ...] | None
    category: str
    key: str  # a stable, file-safe name for this video's run folder


@dataclass(frozen=True)
class Problem:
    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


def load(path: Path) -> tuple[list[Entry], list[Problem]]:
    """The usable entries and the problems of the others."""
    if not path.is_file():
        raise InputError(f"{path}: no such dataset file")
    entries: list[Entry] = []
    problems: list[Problem] = []
    keys: set[str] = set()
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not text.strip() or text.lstrip().startswith("#"):
            continue
        try:
            entry = _entry(number, text, path.parent)
        except ValueError as exc:
            problems.append(Problem(number, str(exc)))
            continue
        if entry.key in keys:  # the same video twice: make the folder name unique
            entry = Entry(entry.line, entry.source, entry.heatmap, entry.category,
                          f"{entry.key}-{number}")
        keys.add(entry.key)
        entries.append(entry)
    return entries, problems


def _entry(number: int, text: str, folder: Path) -> Entry:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON ({exc.msg})") from None
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    source = data.get("source")
    if not isinstance(source, str) or not source.strip():
        raise ValueError("missing source")
    source = source.strip()
    if "://" not in source and not Path(source).is_absolute():
        source = str((folder / source).resolve())
    category = data.get("category") or "uncategorized"
    if not isinstance(category, str):
        raise ValueError("category must be a string")
    heatmap = _heatmap(data.get("heatmap"))
    return Entry(number, source, heatmap, category, data.get("id") or key_of(source))


def _heatmap(raw: object) -> tuple[HeatBin, ...] | None:
    if raw is None:
        return None
    if not isinstance(raw, list):
        raise ValueError("malformed heatmap: not a list")
    bins = []
    for n, item in enumerate(raw):
        try:
            start, end, value = (float(item[k]) for k in ("start_time", "end_time", "value"))
        except (TypeError, KeyError, ValueError):
            raise ValueError(f"malformed heatmap: bin {n} needs numeric start_time, end_time "
                             "and value") from None
        if not (end > start >= 0 and 0 <= value <= 1):
            raise ValueError(f"malformed heatmap: bin {n} needs 0 <= start_time < end_time "
                             "and value in [0, 1]")
        bins.append(HeatBin(start, end, value))
    return tuple(bins) or None


def key_of(source: str) -> str:
    """A file-safe name for a source: YouTube's video id, else the file or page name."""
    parsed = urlparse(source)
    video = parse_qs(parsed.query).get("v", [""])[0]
    stem = video or Path(parsed.path).stem or parsed.netloc
    safe = re.sub(r"[^A-Za-z0-9_-]+", "_", stem).strip("_")[:60]
    return safe or hashlib.sha1(source.encode()).hexdigest()[:12]
