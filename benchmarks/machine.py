"""The machine a benchmark ran on, for the header of its figures: machines differ from session to
session (AMD EPYC, Intel Xeon with AMX), and a figure from one does not hold on the other."""

import os
import platform


def cpu_name() -> str:
    """The CPU's model name, as `lscpu` prints it."""
    try:
        for line in open("/proc/cpuinfo", encoding="utf-8"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_features() -> list[str]:
    """The CPU flags that change what PyTorch can do here (bf16 instructions, AMX tiles)."""
    try:
        for line in open("/proc/cpuinfo", encoding="utf-8"):
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                return [f for f in ("avx512f", "avx512_bf16", "amx_bf16") if f in flags]
    except OSError:
        pass
    return []


def describe() -> str:
    """'2 cores, Intel(R) Xeon(R) Processor (avx512f, avx512_bf16, amx_bf16), x86_64'."""
    features = ", ".join(cpu_features()) or "no AVX-512"
    return f"{os.cpu_count()} cores, {cpu_name()} ({features}), {platform.machine()}"
