"""scripts/build_dataset.py's logic on yt-dlp-shaped info, and its errors without internet."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from orchestrator.errors import InputError
from orchestrator.evaluation.collect import keep, line_of, listings
from orchestrator.evaluation.dataset import load
from orchestrator.paths import REPO_ROOT

INFO = {"id": "abc123XYZ_-", "webpage_url": "https://www.youtube.com/watch?v=abc123XYZ_-",
        "title": "A talk", "duration": 15 * 60,
        "heatmap": [{"start_time": 0.0, "end_time": 9.0, "value": 0.3},
                    {"start_time": 9.0, "end_time": 18.0, "value": 1.0}]}


def test_candidates_are_10_to_30_minutes_and_not_live():
    assert keep(INFO, 10, 30) is None
    assert keep({**INFO, "duration": 5 * 60}, 10, 30) == "5 min, outside 10-30"
    assert keep({**INFO, "duration": None}, 10, 30) == "no duration"
    assert keep({**INFO, "was_live": True}, 10, 30) == "a live stream"


def test_lines_are_what_the_dataset_loader_reads(tmp_path: Path):
    with_heat = line_of(INFO, "talks")
    without = line_of({**INFO, "id": "zzz", "heatmap": None}, "talks")
    assert with_heat["source"] == INFO["webpage_url"] and without["heatmap"] is None
    path = tmp_path / "d.jsonl"
    path.write_text(json.dumps(with_heat) + "\n" + json.dumps(without) + "\n")
    entries, problems = load(path)
    assert not problems and [e.key for e in entries] == ["abc123XYZ_-", "zzz"]
    assert entries[0].heatmap[1].value == 1.0 and entries[0].category == "talks"


def test_listings():
    found = listings(["cooking"], ["https://www.youtube.com/@Chef"], 5)
    assert [(f.url, f.category) for f in found] == [
        ("ytsearch5:cooking", "cooking"), ("https://www.youtube.com/@Chef/videos", "@Chef")]
    with pytest.raises(InputError):
        listings([], [], 5)


def test_unreachable_listing_is_one_line_and_leaves_nothing(tmp_path: Path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = tmp_path / "d.jsonl"
    proc = subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / "build_dataset.py"), "--channel",
         f"http://127.0.0.1:{port}/c", "--out", str(out)],
        capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 3, proc.stderr
    assert proc.stderr.startswith("build_dataset: error: cannot read http://127.0.0.1:")
    assert "Traceback" not in proc.stderr
    assert not list(tmp_path.iterdir())  # no dataset, no partial file
