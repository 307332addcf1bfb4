"""The runtime install (`pip install ksent`: ONNX Runtime, no torch) beside the training install,
on this machine, side by side (issue #25).

    python benchmarks/runtime.py --work /tmp/ksent-installs            # builds the venvs it measures
    python benchmarks/runtime.py --work /tmp/ksent-installs --smoke    # 2 s serve phases, 3 cold starts

Builds three fresh venvs in --work from this checkout (PyPI must be reachable; torch 2.13.0 is the
CPU build): `bare` (no packages), `runtime` (`pip install '.[serve]'` for the server; its size is
measured on a fourth, `core`: `pip install .`) and `train` (`pip install torch==2.13.0 '.[train,serve]'`).
Then, with the bundled model on both:
- install size: `du` of each venv, and what ksent added to a bare venv;
- cold start: `python -m ksent predict TEXT` from process start to exit, the runtime (the bundled
  model's export, ONNX Runtime float32) and the training install (the model folder on torch)
  alternating, the median of --cold runs each;
- `ksent serve` under --clients concurrent single-review clients (benchmarks/load.py's phase), one
  server at a time, alternating, --rounds each: requests, errors, p50/p95/p99.
Prints a markdown table headed by the machine, and writes the figures to --work/runtime.json.
"""

import argparse
import json
import random
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from load import free_port, phase, start_server, wait_healthy  # noqa: E402
from machine import cold_predict, describe  # noqa: E402

from ksent.data import nsmc_path, read_labelled  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
INSTALLS = {"core": ["."], "runtime": [".[serve]"], "train": ["torch==2.13.0", ".[train,serve]"]}


def venv(root: Path, name: str, packages: list[str]) -> Path:
    """A fresh venv `root/name` with `packages` installed from this checkout; its python."""
    folder = root / name
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(folder)], check=True)
    python = folder / "bin" / "python"
    pip = [str(python), "-m", "pip", "install", "--quiet"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True, cwd=REPO)
    if packages:
        subprocess.run([*pip, *packages], check=True, cwd=REPO)
    return python


def du_mb(folder: Path) -> float:
    out = subprocess.run(["du", "-skD", str(folder)], capture_output=True, text=True, check=True).stdout
    return int(out.split()[0]) / 1024


def serve_phase(python: Path, singles: list[bytes], clients: int, duration: float) -> dict:
    port = free_port()
    proc = start_server(None, port, str(python))
    try:
        wait_healthy("127.0.0.1", port, proc)
        return phase("127.0.0.1", port, singles, clients, duration, min(2.0, duration / 2))
    finally:
        proc.terminate()
        proc.wait(30)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--work", type=Path, required=True, help="where the venvs are built (several GB with torch)")
    ap.add_argument("--reuse", action="store_true", help="use the venvs already in --work (no install)")
    ap.add_argument("--cold", type=int, default=7, help="cold starts of each install")
    ap.add_argument("--clients", type=int, default=8, help="concurrent single-review clients of each server")
    ap.add_argument("--duration", type=float, default=20.0, help="seconds per serve phase")
    ap.add_argument("--rounds", type=int, default=2, help="alternating serve phases of each install")
    ap.add_argument("--data-dir", type=Path, default=None)
    ap.add_argument("--smoke", action="store_true", help="3 cold starts, one 2 s serve phase each")
    args = ap.parse_args()
    if args.smoke:
        args.cold, args.duration, args.rounds = 3, 2.0, 1
    print(f"machine: {describe()}", flush=True)
    args.work.mkdir(parents=True, exist_ok=True)
    pythons = {}
    for name, packages in {"bare": [], **INSTALLS}.items():
        python = args.work / name / "bin" / "python"
        pythons[name] = python if args.reuse and python.exists() else venv(args.work, name, packages)
    size = {name: du_mb(args.work / name) for name in pythons}

    text = "연기가 정말 좋았어요"
    starts = {"runtime": [], "train": []}
    for name in starts:  # a first run of each, not counted: pip's bytecode is written, the disk cache warm
        cold_predict(text, python=pythons[name])
    for _ in range(args.cold):
        for name in starts:
            starts[name].append(cold_predict(text, python=pythons[name]))
    start = {name: statistics.median(s) for name, s in starts.items()}

    rng = random.Random(0)
    texts = [t for t in read_labelled(nsmc_path("test", args.data_dir)).texts if t.strip()]
    singles = [json.dumps({"texts": [t]}, ensure_ascii=False).encode() for t in rng.sample(texts, 2000)]
    served = {"runtime": [], "train": []}
    for _ in range(args.rounds):
        for name in served:
            served[name].append(serve_phase(pythons[name], singles, args.clients, args.duration))
    p99 = {name: statistics.median(r["p99_ms"] for r in runs) for name, runs in served.items()}
    errors = {name: sum(r["errors"] for r in runs) for name, runs in served.items()}

    print(f"\n| install | venv size | ksent's share (over a bare venv {size['bare']:.0f} MB) | cold `ksent predict` "
          f"| serve p50 / p99, {args.clients} clients | errors |")  # fmt: skip
    print("|---|---|---|---|---|---|")
    for name, label in (("core", "runtime: pip install ksent"), ("train", "training: ksent[train] + torch")):
        run = "runtime" if name == "core" else "train"
        p50 = statistics.median(r["p50_ms"] for r in served[run])
        print(f"| {label} | {size[name]:.0f} MB | {size[name] - size['bare']:.0f} MB | {start[run]:.2f} s "
              f"| {p50:.0f} / {p99[run]:.0f} ms | {errors[run]} |")  # fmt: skip
    print(
        f"\ncold start: training / runtime = {start['train'] / start['runtime']:.1f}×; serve p99: runtime / "
        f"training = {p99['runtime'] / p99['train']:.2f}; the runtime with the serve extra: {size['runtime']:.0f} MB"
    )
    figures = {"machine": describe(), "venv_mb": size, "cold_s": start, "cold_runs": starts, "serve": served,
               "p99_ms": p99}  # fmt: skip
    (args.work / "runtime.json").write_text(json.dumps(figures, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
