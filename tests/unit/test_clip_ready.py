"""A clip's files are served while its job still runs, once a clip_ready event named them -
and only those, only from inside the jobs folder."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from types import SimpleNamespace

from orchestrator.service.jobs_api import CLIP_READY, JobsApi, event_message
from orchestrator.store import JobState, JobStore


def ready_event(folder: Path) -> str:
    return json.dumps({"rank": 1, "file": "clip_01.mp4", "start_s": 3.0, "end_s": 14.5,
                       "title": "A title", "renditions": {"9:16": "clip_01.mp4"},
                       "captions": "clip_01.srt", "folder": str(folder)})


def test_files_of_a_ready_clip_are_served_before_the_job_ends(tmp_path: Path):
    store = JobStore(f"sqlite:///{tmp_path / 'jobs.db'}")
    store.migrate()
    jobs = tmp_path / "jobs"
    staging = jobs / ".abc.partial-x"
    staging.mkdir(parents=True)
    (staging / "clip_01.mp4").write_bytes(b"mp4")
    (staging / "clip_02.mp4").write_bytes(b"half-written")
    job, _ = store.submit("talk.mp4", {})
    api = JobsApi(store, SimpleNamespace(config=SimpleNamespace(concurrency=1)),  # type: ignore[arg-type]
                  jobs_dir=jobs)

    def ready(name: str) -> Path | None:
        return asyncio.run(api.ready_file(store.get(job.id), name))

    store.claim("here")
    assert ready("clip_01.mp4") is None  # nothing announced yet
    event = store.add_event(job.id, CLIP_READY, 0.8, ready_event(staging))
    assert ready("clip_01.mp4") == staging / "clip_01.mp4"
    assert ready("clip_02.mp4") is None  # still rendering: not named by any event
    assert ready("../jobs.db") is None
    message = event_message(event)
    assert message.clip.file == "clip_01.mp4" and message.clip.end_s == 14.5
    assert "partial" not in str(message)  # the staging folder stays inside the service

    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "clip_01.mp4").write_bytes(b"x")
    other, _ = store.submit("talk2.mp4", {})
    store.set_state(other.id, JobState.RUNNING)
    store.add_event(other.id, CLIP_READY, 0.8, ready_event(outside))
    assert asyncio.run(api.ready_file(store.get(other.id), "clip_01.mp4")) is None
    store.set_state(job.id, JobState.SUCCEEDED, out_dir=str(jobs / job.id))
    assert ready("clip_01.mp4") is None  # done: its output folder serves it
    store.close()
