"""Scoring big files: streaming `ksent predict --file` on one machine, and the Ray engine beside it.

    python benchmarks/scale.py stream --rows 5000000          # one process, peak RSS on 5 M rows
    python benchmarks/scale.py ray --rows 1000000              # 1 process vs Ray with 1 and 2 workers
    python benchmarks/scale.py ray --rows 20000 --model runs/default   # a quick check that it all runs

The input is made by repeating the NSMC reviews (train then test, columns id/document/label) up
to --rows rows, as TSV (`stream`) or Parquet (`ray`), in benchmarks/out/ (kept between runs).
Each measured command runs as its own process, exactly as a user types it; the script samples
the resident memory of that process and all its descendants (Ray's raylet, workers and object
store included) every 0.2 s and reports the peak sum, and the wall time from start to exit
(model loading, Ray start-up and writing included). Prints one JSON object.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import threading
import time
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"


def nsmc_rows(data_dir: Path) -> list[tuple[str, str, str]]:
    rows = []
    for name in ("ratings_train.txt", "ratings_test.txt"):
        lines = (data_dir / name).read_text(encoding="utf-8").split("\n")[1:]
        rows += [tuple(line.split("\t")) for line in lines if line]
    return rows


def make_input(rows: int, fmt: str, data_dir: Path) -> Path:
    path = OUT / f"nsmc-x{rows}.{fmt}"
    if path.exists():
        return path
    OUT.mkdir(exist_ok=True)
    base = nsmc_rows(data_dir)
    tmp = path.with_suffix(".tmp")
    if fmt == "tsv":
        with open(tmp, "w", encoding="utf-8") as f:
            f.write("id\tdocument\tlabel\n")
            for i in range(rows):
                _, doc, label = base[i % len(base)]
                f.write(f"{i}\t{doc}\t{label}\n")
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        with pq.ParquetWriter(
            tmp, pa.schema([("id", pa.int64()), ("document", pa.string()), ("label", pa.int8())])
        ) as w:
            for start in range(0, rows, 200_000):
                idx = range(start, min(rows, start + 200_000))
                docs = [base[i % len(base)] for i in idx]
                w.write_table(
                    pa.table(
                        {
                            "id": pa.array(list(idx), pa.int64()),
                            "document": [d[1] for d in docs],
                            "label": pa.array([int(d[2]) for d in docs], pa.int8()),
                        }
                    ),
                    row_group_size=50_000,
                )
    os.replace(tmp, path)
    return path


def tree_rss(pid: int) -> int:
    """Resident bytes of `pid` and every descendant (read from /proc)."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    todo += [int(c) for c in f.read().split()]
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return total


def measure(cmd: list[str]) -> dict:
    """Run `cmd`; wall seconds and the peak summed RSS of its process tree."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, tree_rss(proc.pid))
            time.sleep(0.2)

    t = threading.Thread(target=sample, daemon=True)
    t.start()
    _, err = proc.communicate()
    done.set()
    t.join()
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        sys.exit(f"error: {' '.join(cmd)} failed:\n{err[-3000:]}")
    return {"command": " ".join(cmd), "seconds": round(wall, 1), "peak_rss_mib": round(peak / 2**20)}


def cpu_model() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        return next(line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Model name"))
    except (OSError, StopIteration):
        return platform.processor()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mode", choices=["stream", "ray"])
    ap.add_argument("--rows", type=int, default=None, help="rows in the input (stream: 5,000,000; ray: 1,000,000)")
    ap.add_argument("--model", default=None, help="model folder (default: the bundled model)")
    ap.add_argument("--data-dir", default=os.environ.get("KSENT_DATA_DIR", "../shared/data/nsmc"))
    args = ap.parse_args()
    rows = args.rows or (5_000_000 if args.mode == "stream" else 1_000_000)
    ksent = [sys.executable, "-m", "ksent", "predict"] + (["--model", args.model] if args.model else [])
    runs = {}
    if args.mode == "stream":
        src = make_input(rows, "tsv", Path(args.data_dir))
        out = OUT / f"scores-x{rows}.parquet"
        runs["one_process"] = measure([*ksent, "--file", str(src), "--prefix", "pred_", "--out", str(out)])
    else:
        src = make_input(rows, "parquet", Path(args.data_dir))
        common = ["--file", str(src), "--text-col", "document", "--prefix", "pred_"]
        runs["one_process"] = measure([*ksent, *common, "--out", str(OUT / f"scores-x{rows}-local.parquet")])
        for k in (1, 2):
            dest = OUT / f"scores-x{rows}-ray{k}"
            subprocess.run(["rm", "-rf", str(dest)], check=True)
            runs[f"ray_{k}_workers"] = measure(
                [*ksent, *common, "--engine", "ray", "--concurrency", str(k), "--out", str(dest)]
            )
    for r in runs.values():
        r["rows_per_s"] = round(rows / r["seconds"])
    print(
        json.dumps(
            {
                "mode": args.mode,
                "rows": rows,
                "model": args.model or "bundled",
                "input": str(src.relative_to(OUT.parent.parent)),
                "cpu": cpu_model(),
                "cpus": os.cpu_count(),
                "date": time.strftime("%Y-%m-%d"),
                "runs": runs,
            },
            ensure_ascii=False,
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
