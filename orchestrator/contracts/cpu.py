"""Which x86 instructions the CPU llm kernels need to run at speed, read from /proc/cpuinfo.

Two CPU builds of the same model differ only in the instructions their kernels lean on, and
the machines snapclip runs on differ: measured on two of this project's 2-core machines, one
with AVX512-VNNI and -BF16, one an AMD EPYC with AVX2 only. Without int8 dot-product
instructions vLLM's CPU int8 matmul (oneDNN ``gemm:jit`` s8s8) took ~2 s per decoded token
of Qwen2.5-Coder-1.5B on one core, several times float32's; without native bf16, torch
emulates it (~7x slower than float32). The local server picks the build by these flags
(``orchestrator.serving.fetch.LlmBuild.needs``), and the backend the dtype (``native_bf16``).
"""

from __future__ import annotations

from pathlib import Path

# Any one of these gives vLLM's CPU int8 kernels (oneDNN) their dot-product instructions.
INT8_DOT = frozenset({"avx512_vnni", "avx_vnni", "amx_int8"})
# Any one of these lets torch's CPU kernels compute in bfloat16 natively.
NATIVE_BF16 = frozenset({"avx512_bf16", "amx_bf16"})


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> frozenset[str]:
    """The first processor's flags (empty where /proc/cpuinfo cannot be read, or has none:
    then no optional instruction is assumed)."""
    try:
        text = cpuinfo.read_text()
    except OSError:
        return frozenset()
    return frozenset(next((line.split(":", 1)[1].split() for line in text.splitlines()
                           if line.startswith("flags")), []))


def native_bf16(flags: frozenset[str] | None = None) -> bool:
    """Whether the CPU computes bfloat16 natively (x86: AVX512-BF16 or AMX-BF16)."""
    return bool(NATIVE_BF16 & (cpu_flags() if flags is None else flags))
