"""The run's options as the CLI and both APIs hand them to the pipeline."""

from __future__ import annotations

import re

import pytest

from orchestrator.contracts.limits import ASPECTS_PATTERN, FIELD_BOUNDS
from orchestrator.errors import InputError
from orchestrator.pipeline.run import RunOptions


@pytest.mark.parametrize("aspect, aspects", [
    ("9:16", ("9:16",)), ("1:1,9:16", ("1:1", "9:16")), ("9:16,1:1,16:9", ("9:16", "1:1", "16:9"))])
def test_one_aspect_or_several(tmp_path, aspect, aspects):
    assert RunOptions(out=tmp_path, aspect=aspect).aspects == aspects


@pytest.mark.parametrize("aspect", ["4:3", "9:16,9:16", "9:16,", "", "9:16;1:1",
                                    "9:16,1:1,16:9,9:16"])
def test_other_aspects_are_refused_with_the_choices(tmp_path, aspect):
    with pytest.raises(InputError, match="9:16, 1:1, 16:9"):
        RunOptions(out=tmp_path, aspect=aspect)


def test_the_apis_check_aspects_with_the_same_pattern():
    assert FIELD_BOUNDS[("RunOptions", "aspect")] == {"pattern": ASPECTS_PATTERN}
    assert re.fullmatch(ASPECTS_PATTERN, "16:9,9:16") and not re.fullmatch(ASPECTS_PATTERN, "1:2")


def test_every_api_option_reaches_the_pipeline(tmp_path):
    # The proto's RunOptions is the APIs' contract; the service hands each set field on by name.
    from dataclasses import fields

    from orchestrator.service.runner import OPTION_FIELDS, run_options

    assert "split_screen" in OPTION_FIELDS  # read from the proto
    assert set(OPTION_FIELDS) <= {f.name for f in fields(RunOptions)}
    options = run_options({"split_screen": False, "caption_style": "boxed", "clips": 2},
                          tmp_path)
    assert (options.split_screen, options.caption_style, options.clips) == (False, "boxed", 2)
    assert RunOptions(out=tmp_path).split_screen  # unset: stacked, as the CLI's default
