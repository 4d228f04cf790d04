"""The job's stage (``Job.stage``, "the last stage that finished") as the service's reporter
records it from a run whose stages overlap: with the llm, clip 1 renders while the choice of
the others goes on, and the llm's descriptions (the moments checkpoint) arrive during the
render. The stage only ever moves forward, and no stage counts as finished while it runs.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from orchestrator.service.runner import _StoreReporter


class Store:
    """The job row's stage and the checkpoints, as ``JobStore`` keeps them."""

    def __init__(self, stage: str = "") -> None:
        self.stage = stage
        self.stages: list[str] = []  # the job's stage after each write that moved it
        self.data: dict[str, dict[str, Any]] = {}

    def add_event(self, job_id: str, stage: str, progress: float, message: str, *,
                  lease: str | None = None) -> None:
        pass

    def checkpoint(self, job_id: str, stage: str, data: dict[str, Any], *,
                   lease: str | None = None, advance: bool = True) -> None:
        self.data[stage] = data
        if advance:
            self.stage = stage
            self.stages.append(stage)


def reporter(store: Store, resumed: frozenset[str] = frozenset()) -> _StoreReporter:
    job = SimpleNamespace(id="j", lease="l", progress=0.0, attempts=1 + bool(resumed))
    return _StoreReporter(store, job, None, resumed)  # type: ignore[arg-type]


def test_a_late_choice_and_late_descriptions_do_not_move_the_stage_back():
    store = Store()
    r = reporter(store)
    r.stage("ingest", "probing")
    r.stage("asr", "transcribing")
    r.checkpoint("asr", {"transcript": {}})
    r.stage("moments", "waiting for the llm's last moments")
    r.stage("render", "clip_01.mp4  3.0-12.0 s  9:16  A title")  # clip 1 settled alone
    assert store.stage == "moments"  # the render has only begun
    r.stage("moments", "could not rate 1 of 9 passages")  # a note of the choice, late
    r.stage("select", "5 clips from 9 candidates")  # the choice ends while clip 1 renders
    assert store.stage == "select"
    r.checkpoint("moments", {"candidates": ["described"]})  # the descriptions, later still
    assert store.stage == "select" and store.data["moments"] == {"candidates": ["described"]}
    r.stage("render", "clip_02.mp4  30.0-41.0 s  9:16  Another")
    r.stage("render", "publishing 5 clips")
    assert store.stage == "select"
    r.finish()
    assert store.stages == ["ingest", "asr", "moments", "select", "render"]


def test_in_order_stages_finish_as_the_next_begins():
    store = Store()
    r = reporter(store)
    for name in ("ingest", "asr", "moments", "select", "render"):
        r.stage(name, name)
    assert store.stage == "select"
    r.finish()
    assert store.stages == ["ingest", "asr", "moments", "select", "render"]


def test_a_resumed_run_keeps_the_stage_it_resumes_after():
    store = Store("moments")
    r = reporter(store, frozenset({"asr", "moments"}))
    r.stage("ingest", "probing")
    r.stage("asr", "kept from the earlier attempt")
    r.stage("moments", "kept from the earlier attempt")
    r.stage("select", "5 clips")
    assert store.stage == "moments" and "ingest" in store.data  # ran again, stage unmoved
    r.stage("render", "clip_01.mp4")
    assert store.stage == "select"
