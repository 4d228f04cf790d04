"""loadtest's time to first token, read from perf_analyzer's per-request export."""

from __future__ import annotations

import json
import math

import pytest

from orchestrator.serving.loadtest import _ttft_ms


def test_ttft_percentiles_from_the_export(tmp_path):
    export = tmp_path / "llm.c1.requests.json"
    requests = [{"timestamp": 0, "response_timestamps": [ms * 1_000_000, ms * 2_000_000]}
                for ms in (10, 20, 30)] + [{"timestamp": 5, "response_timestamps": []}]
    export.write_text(json.dumps({"experiments": [{"requests": requests}]}))
    p50, p95 = _ttft_ms(export)
    assert p50 == 20.0 and 20.0 < p95 <= 30.0
    export.write_text(json.dumps({"experiments": [{"requests": []}]}))
    assert all(math.isnan(v) for v in _ttft_ms(export))


@pytest.mark.parametrize("content", [None, "", "{not json"])
def test_a_missing_or_empty_export_is_a_value_error(tmp_path, content):
    export = tmp_path / "e.json"
    if content is not None:
        export.write_text(content)
    with pytest.raises(ValueError):
        _ttft_ms(export)
