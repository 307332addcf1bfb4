"""What the benchmarks share: the machine a benchmark ran on, for the header of its figures
(machines differ from session to session, AMD EPYC, Intel Xeon with AMX, and a figure from one
does not hold on the other), and how a measurement is taken (`timed`, `fresh`)."""

import os
import platform
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path


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


def timed(fn, *args, **kw):
    """`fn(*args, **kw)` and the wall seconds it took."""
    t0 = time.perf_counter()
    out = fn(*args, **kw)
    return out, time.perf_counter() - t0


def fresh(fn, *args):
    """`fn(*args)` in a new spawned process, so that a timing does not depend on what this one has
    loaded or run before it (a JVM, Kiwi, TensorFlow beside PyTorch, millions of token lists, a
    thread's floating-point mode). `fn` must be importable from its module (a script's top level)."""
    with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
        return pool.submit(fn, *args).result()


def nsmc_input(rows: int, fmt: str, data_dir: Path | str | None, out: Path) -> Path:
    """OUT/nsmc-xROWS.FMT: the NSMC reviews (train then test, as `ksent.data.read_labelled` reads
    them) repeated up to `rows` rows, columns id (0 .. rows-1) / document / label, as TSV ("tsv") or
    Parquet ("parquet"); made once, then kept (the big inputs of `scale.py` and `ray_order.py`)."""
    from ksent.data import nsmc_path, read_labelled

    path = Path(out) / f"nsmc-x{rows}.{fmt}"
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    base = [read_labelled(nsmc_path(split, data_dir)) for split in ("train", "test")]
    docs = [t for b in base for t in b.texts]
    labels = [y for b in base for y in b.labels]
    tmp = path.with_suffix(".tmp")
    if fmt == "tsv":
        with open(tmp, "w", encoding="utf-8") as f:
            f.write("id\tdocument\tlabel\n")
            for i in range(rows):
                f.write(f"{i}\t{docs[i % len(docs)]}\t{labels[i % len(docs)]}\n")
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        schema = pa.schema([("id", pa.int64()), ("document", pa.string()), ("label", pa.int8())])
        with pq.ParquetWriter(tmp, schema) as w:
            for start in range(0, rows, 200_000):
                idx = range(start, min(rows, start + 200_000))
                table = {
                    "id": pa.array(list(idx), pa.int64()),
                    "document": [docs[i % len(docs)] for i in idx],
                    "label": pa.array([labels[i % len(docs)] for i in idx], pa.int8()),
                }
                w.write_table(pa.table(table, schema=schema), row_group_size=50_000)
    os.replace(tmp, path)
    return path


def cold_predict(text: str, model: Path | None = None, python: str | Path = sys.executable) -> float:
    """Seconds from starting `python -m ksent predict [--model MODEL] TEXT` to its exit: a cold start."""
    args = ["--model", str(model)] if model is not None else []
    t0 = time.perf_counter()
    subprocess.run([str(python), "-m", "ksent", "predict", *args, text], check=True, capture_output=True)
    return time.perf_counter() - t0
