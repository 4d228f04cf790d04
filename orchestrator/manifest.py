"""``manifest.json``: the one description of a run's output (schema ``snapclip.manifest/v1``).

The dataclasses here are the schema's single definition; ``to_dict`` writes it and
``Manifest.from_dict`` reads it back.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

SCHEMA = "snapclip.manifest/v1"


@dataclass(frozen=True)
class SourceInfo:
    uri: str
    title: str
    duration_s: float


@dataclass(frozen=True)
class ModelRef:
    name: str
    version: str


@dataclass(frozen=True)
class ClipScores:
    text: float
    vision: float


@dataclass(frozen=True)
class Clip:
    rank: int
    start_s: float
    end_s: float
    score: float
    scores: ClipScores
    title: str
    hook: str
    reason: str
    file: str
    captions: str


@dataclass(frozen=True)
class Manifest:
    source: SourceInfo
    models: dict[str, ModelRef]
    clips: tuple[Clip, ...] = ()
    transcript: str = "transcript.json"
    timings_s: dict[str, float] = field(default_factory=dict)
    schema: str = SCHEMA

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["clips"] = list(data["clips"])
        return {"schema": data.pop("schema"), **data}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Manifest:
        if data.get("schema") != SCHEMA:
            raise ValueError(f"not a {SCHEMA} manifest (schema={data.get('schema')!r})")
        clips = tuple(Clip(**{**c, "scores": ClipScores(**c["scores"])}) for c in data["clips"])
        return cls(source=SourceInfo(**data["source"]),
                   models={k: ModelRef(**v) for k, v in data["models"].items()},
                   clips=clips, transcript=data["transcript"],
                   timings_s=dict(data["timings_s"]))
