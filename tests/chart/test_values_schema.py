"""values.schema.json: every key typed, wrong types and unknown keys refused."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from tests.chart.conftest import CHART, render


def leaves(values: dict[str, Any], prefix: str = "") -> list[str]:
    out = []
    for key, value in values.items():
        path = f"{prefix}.{key}" if prefix else key
        out.extend(leaves(value, path) if isinstance(value, dict) and value else [path])
    return out


def test_schema_covers_every_value():
    schema = json.loads((CHART / "values.schema.json").read_text())
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    for path in leaves(values):
        node = schema
        for part in path.split("."):
            if node.get("properties") is None:  # a free-form map (labels, resources, ...)
                break
            assert part in node["properties"], path
            node = node["properties"][part]


@pytest.mark.parametrize("values", [
    {"triton": {"gpus": "one"}},                      # wrong type
    {"triton": {"gpu": 1}},                           # unknown key (a typo of gpus)
    {"orchestrator": {"logFormat": "xml"}},           # not one of the choices
    {"triton": {"modelRepository": {"source": "ftp"}}},
    {"triton": {"shmSize": "lots"}},                  # not a quantity
])
def test_schema_refuses(values: dict[str, Any]):
    import helm_python as helm

    with pytest.raises(helm.HelmValuesError):
        render(values)


def test_every_value_is_documented():
    """Each key with a value has a comment line right above it (free-form maps aside)."""
    text = (CHART / "values.yaml").read_text().splitlines()
    free_form = {"resources", "labels", "requests", "limits"}
    parents: list[tuple[int, str]] = []  # (indent, key) of the enclosing keys
    for number, line in enumerate(text):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        indent = len(line) - len(line.lstrip())
        parents = [(i, k) for i, k in parents if i < indent]
        if stripped.startswith("-"):  # a list item: its fields belong to the list's key
            parents.append((indent, "-"))
            continue
        key, _, rest = stripped.partition(":")
        if rest.strip() and not (free_form | {"-"}) & {k for _, k in parents}:
            assert text[number - 1].strip().startswith("#"), \
                f"values.yaml line {number + 1}: {key} is not documented"
        parents.append((indent, key))
