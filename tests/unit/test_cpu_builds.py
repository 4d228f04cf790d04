"""The llm comes in two CPU builds of one model; each machine fetches and serves the one that
suits its CPU (int8 where it has VNNI, float32 elsewhere), wherever a version is chosen."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator import cli
from orchestrator.contracts.cpu import INT8_DOT, cpu_flags
from orchestrator.paths import model_repository
from orchestrator.serving import fetch
from orchestrator.serving.fetch import (
    PROFILES,
    newest_suited,
    policy_versions,
    suited,
    unsuited_versions,
)
from orchestrator.serving.local import LocalTriton

AVX2 = frozenset({"fpu", "sse4_2", "avx", "avx2", "fma"})  # an AMD EPYC of ours
VNNI = AVX2 | {"avx512f", "avx512_vnni", "avx512_bf16"}  # a Xeon of ours


def llm_versions(items) -> set[int]:
    return {item.version for item in items if item.model == "llm"}


def test_each_cpu_gets_one_build_of_the_qwen_model():
    assert llm_versions(suited("cpu", AVX2)) == {2, 3, 4}
    assert llm_versions(suited("cpu", VNNI)) == {2, 3, 5}
    assert llm_versions(suited("cpu", frozenset({"avx_vnni"}))) == {2, 3, 5}  # AVX-VNNI
    assert unsuited_versions("cpu", AVX2) == {"llm": {5}}
    assert unsuited_versions("cpu", VNNI) == {"llm": {4}}
    assert unsuited_versions("gpu", AVX2) == {}  # one build per GPU version
    # Everything else is the same on both.
    assert set(PROFILES["cpu"]) - set(suited("cpu", AVX2)) - set(suited("cpu", VNNI)) == set()
    assert {i for i in suited("cpu", AVX2) if i.model != "llm"} == {
        i for i in suited("cpu", VNNI) if i.model != "llm"}


def test_the_builds_are_the_same_model_and_both_are_served_by_the_profile():
    builds = {item.version: item.source for item in PROFILES["cpu"] if item.model == "llm"}
    assert builds[4].split == builds[5].split  # the same GGUF
    assert builds[5].needs == INT8_DOT and builds[4].instead_of == 5
    assert (builds[4].kind, builds[5].kind) == ("gguf", "gguf-w8a8")
    assert {4, 5} <= set(policy_versions(model_repository() / "llm", "cpu"))
    for version in (4, 5):
        assert (model_repository() / "llm" / str(version) / "model.json").is_file()


def test_cpu_flags_are_read_from_cpuinfo(tmp_path: Path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu avx2 avx512_vnni\n\n"
                       "processor\t: 1\nflags\t\t: fpu avx2 avx512_vnni\n")
    assert cpu_flags(cpuinfo) == {"fpu", "avx2", "avx512_vnni"}
    assert cpu_flags(tmp_path / "missing") == frozenset()


@pytest.fixture(params=[AVX2, VNNI], ids=["avx2", "vnni"])
def flags(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> frozenset[str]:
    """This machine's CPU, as the code reads it, made one of the two."""
    monkeypatch.setattr(fetch, "cpu_flags", lambda: request.param)
    return request.param


def test_the_default_version_and_what_a_fetch_builds_follow_the_cpu(flags):
    want = 5 if flags == VNNI else 4
    assert newest_suited("cpu", "llm") == want
    assert [(i.model, i.version) for i in fetch._selected("cpu", ["llm"], newest=True)] == [
        ("llm", want)]
    assert llm_versions(fetch._selected("cpu", ["llm"])) == {2, 3, want}
    assert llm_versions(fetch._selected("cpu", ["llm"], every_cpu=True)) == {2, 3, 4, 5}


def test_a_local_server_loads_the_llm_versions_that_suit_the_cpu(flags):
    want = [2, 3, 5] if flags == VNNI else [2, 3, 4]
    server = LocalTriton(models=["whisper", "llm"])
    assert server.versions == {"llm": want} and server.models == ["whisper", "llm"]
    everything = LocalTriton()  # every model: by name, the llm with its suited versions
    assert everything.versions == {"llm": want}
    folders = {p.parent.name for p in model_repository().glob("*/config.pbtxt")}
    assert set(everything.models or []) == folders - {"llm"}
    # Versions asked for are loaded as asked; a server without the llm is left alone.
    assert LocalTriton(versions={"llm": [5]}).versions == {"llm": [5]}
    assert LocalTriton(models=["whisper"]).versions == {}
    assert LocalTriton(model_config_name="gpu", models=["llm"]).versions == {}


def test_a_run_loads_the_installed_build_that_suits_the_cpu(flags, monkeypatch, tmp_path):
    present = {"whisper": [2], "llm": [5, 4, 3]}  # as `models fetch --every-cpu` leaves them
    monkeypatch.setattr(fetch, "installed", lambda repository, profile: present)
    assert cli._local_versions(tmp_path, {}) == {
        "whisper": [2], "llm": [5 if flags == VNNI else 4]}
    assert cli._local_versions(tmp_path, {"llm": "5"})["llm"] == [5]  # asked: as asked
    # Only the other CPU's build there: it is served (slowly) rather than the small model.
    present["llm"] = [4 if flags == VNNI else 5, 3]
    assert cli._local_versions(tmp_path, {})["llm"] == present["llm"][:1]
    present["llm"] = [3, 2]
    assert cli._local_versions(tmp_path, {})["llm"] == [3]
