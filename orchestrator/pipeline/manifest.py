"""``manifest.json``: the one description of a run's output (schema ``snapclip.manifest/v1``).

The JSON Schema in ``orchestrator/schemas/manifest.schema.json`` is the contract. The
dataclasses here build and read it; ``to_dict`` validates what it writes and ``from_dict`` what
it reads, and a unit test checks that the dataclass fields and the schema's properties are the
same, so the two cannot drift apart.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from functools import cache
from importlib import resources
from typing import Any

SCHEMA = "snapclip.manifest/v1"
TRANSCRIPT_FILE = "transcript.json"
TIMELINE_FILE = "timeline.png"
EDL_FILE = "clips.edl"
# The editor timelines (written by render/editors.py through OpenTimelineIO), by kind.
EDITOR_TIMELINES = {"otio": "clips.otio", "edl": EDL_FILE, "fcpxml": "clips.fcpxml",
                    "xml": "clips.xml"}


@cache
def json_schema() -> dict[str, Any]:
    """The manifest's JSON Schema (draft 2020-12)."""
    text = resources.files("orchestrator").joinpath("schemas/manifest.schema.json").read_text()
    return json.loads(text)


def validate(data: dict[str, Any]) -> None:
    """Raise ``jsonschema.ValidationError`` unless ``data`` is a valid manifest."""
    import jsonschema

    jsonschema.Draft202012Validator(json_schema()).validate(data)


@dataclass(frozen=True)
class SourceInfo:
    uri: str
    title: str
    duration_s: float
    has_video: bool = True
    heatmap: tuple[dict[str, float], ...] | None = None


@dataclass(frozen=True)
class ModelRef:
    name: str
    version: str


@dataclass(frozen=True)
class Weights:
    """Fusion weights: score = text * T + vision * V, V = similarity * S + visual_change * C."""

    text: float = 0.8
    vision: float = 0.2
    similarity: float = 0.5
    visual_change: float = 0.5


@dataclass(frozen=True)
class Selection:
    text_signal: str  # "llm" or "transcript"
    vision_similarity: bool
    weights: Weights
    min_len_s: float
    max_len_s: float
    aspect: str  # the clips' main files (``Clip.file``)
    captions_burned: bool
    notes: tuple[str, ...] = ()
    aspects: tuple[str, ...] = ()  # every aspect rendered, ``aspect`` first
    prompt: str | None = None  # the creator's topic (--prompt), None when none was given
    caption_style: str = "highlight"  # the burned-in captions' style (--caption-style)
    split_screen: bool = True  # two people held in the picture are stacked in 9:16

    def __post_init__(self) -> None:
        if not self.aspects:  # one aspect (and manifests from before several could be asked)
            object.__setattr__(self, "aspects", (self.aspect,))


@dataclass(frozen=True)
class ClipScores:
    text: float
    vision: float
    similarity: float | None
    visual_change: float


@dataclass(frozen=True)
class Clip:
    rank: int
    start_s: float
    end_s: float
    score: float
    scores: ClipScores
    origin: str  # "llm" or "transcript"
    title: str
    hook: str
    reason: str
    file: str
    captions: str
    renditions: dict[str, str] = field(default_factory=dict)  # aspect -> file, ``file`` first
    prompt_match: float | None = None  # 0..1 against Selection.prompt; None without one
    revision: int = 1  # one higher at each re-render (snapclip render)
    captions_edited: bool = False  # the captions are the creator's (an edited SRT), kept
    split_screen: tuple[tuple[float, float], ...] = ()  # 9:16 stacks two people (clip time)

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


@dataclass(frozen=True)
class ScoreCurve:
    times_s: tuple[float, ...]
    scores: tuple[float, ...]


@dataclass(frozen=True)
class Manifest:
    source: SourceInfo
    models: dict[str, ModelRef]
    selection: Selection
    clips: tuple[Clip, ...] = ()
    score_curve: ScoreCurve | None = None
    transcript: str = TRANSCRIPT_FILE
    timeline: str = TIMELINE_FILE
    edl: str = EDL_FILE
    editor_timelines: dict[str, str] = field(default_factory=lambda: dict(EDITOR_TIMELINES))
    timings_s: dict[str, float] = field(default_factory=dict)
    schema: str = SCHEMA

    def to_dict(self) -> dict[str, Any]:
        """The manifest as JSON data, validated against the schema."""
        data = json.loads(json.dumps(asdict(self)))  # tuples -> lists
        data = {"schema": data.pop("schema"), **data}
        validate(data)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Manifest:
        validate(data)
        source = data["source"]
        heatmap = source["heatmap"]
        selection = data["selection"]
        return cls(
            source=SourceInfo(**{**source, "heatmap": tuple(heatmap) if heatmap else None}),
            models={k: ModelRef(**v) for k, v in data["models"].items()},
            selection=Selection(**{**selection, "weights": Weights(**selection["weights"]),
                                   "notes": tuple(selection["notes"]),
                                   "aspects": tuple(selection.get("aspects", ()))}),
            clips=tuple(Clip(**{**c, "scores": ClipScores(**c["scores"]),
                                "split_screen": tuple(tuple(s) for s in c.get("split_screen", ()))})
                        for c in data["clips"]),
            score_curve=ScoreCurve(tuple(curve["times_s"]), tuple(curve["scores"]))
            if (curve := data.get("score_curve")) else None,
            transcript=data["transcript"], timeline=data["timeline"], edl=data["edl"],
            editor_timelines=dict(data.get("editor_timelines", {"edl": data["edl"]})),
            timings_s=dict(data["timings_s"]))
