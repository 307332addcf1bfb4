"""Scoring big files: streaming `ksent predict --file` on one machine, and the Ray engine beside it.

    python benchmarks/scale.py stream --rows 5000000          # one process, peak RSS on 5 M rows
    python benchmarks/scale.py ray --rows 1000000              # 1 process vs Ray with 1 and 2 workers
    python benchmarks/scale.py ray --rows 20000 --model runs/default   # a quick check that it all runs
    python benchmarks/scale.py compare --rows 1000000          # re-check Ray's outputs against one process's
    python benchmarks/scale.py stream --rows 2000 --out /tmp/scale   # a check that it all runs

The input is made by repeating the NSMC reviews (train then test, columns id/document/label) up
to --rows rows, as TSV (`stream`) or Parquet (`ray`), in --out (default benchmarks/out/, kept
between runs), where the scores go too, and the JSON printed (`stream.json`, `ray.json`).
Each measured command runs as its own process, exactly as a user types it; the script samples
the resident memory of that process and all its descendants (Ray's raylet, workers and object
store included) every 0.2 s and reports the peak sum, and the wall time from start to exit
(model loading, Ray start-up and writing included). Prints one JSON object.
"""

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from machine import cpu_name, nsmc_input

OUT = Path(__file__).resolve().parent / "out"


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


def compare(local: Path, folder: Path) -> dict:
    """Ray's output against the one process's: same ids, same order?, largest score difference by id."""
    import numpy as np
    import pyarrow.dataset as pads
    import pyarrow.parquet as pq

    a, b = pq.read_table(local), pads.dataset(folder).to_table()  # Ray's files in their written order
    ida, idb = np.asarray(a.column("id")), np.asarray(b.column("id"))
    pa_, pb = np.asarray(a.column("pred_p_positive")), np.asarray(b.column("pred_p_positive"))
    same_ids = len(ida) == len(idb) and bool((np.sort(ida) == np.sort(idb)).all())
    by_id = np.empty_like(pb)
    by_id[idb] = pb  # ids are 0..n-1 (make_input)
    return {
        "same_rows": same_ids,
        "same_order": bool(len(ida) == len(idb) and (ida == idb).all()),
        "rows_out_of_place": int((ida != idb).sum()) if len(ida) == len(idb) else None,
        "max_abs_diff_by_id": float(np.abs(by_id[ida] - pa_).max()),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mode", choices=["stream", "ray", "compare"])
    ap.add_argument("--rows", type=int, default=None, help="rows in the input (stream: 5,000,000; ray: 1,000,000)")
    ap.add_argument("--model", default=None, help="model folder (default: the bundled model)")
    ap.add_argument("--data-dir", default=None, help="NSMC folder (default: $KSENT_DATA_DIR, else the ksent cache)")
    ap.add_argument("--out", type=Path, default=OUT, help="folder for the inputs, the scores and the JSON")
    args = ap.parse_args()
    rows = args.rows or (5_000_000 if args.mode == "stream" else 1_000_000)
    out_dir = args.out
    ksent = [sys.executable, "-m", "ksent", "predict"] + (["--model", args.model] if args.model else [])
    runs = {}
    if args.mode == "compare":  # re-check the outputs a `ray` run left in --out
        for k in (1, 2):
            print(k, compare(out_dir / f"scores-x{rows}-local.parquet", out_dir / f"scores-x{rows}-ray{k}"))
        return
    if args.mode == "stream":
        src = nsmc_input(rows, "tsv", args.data_dir, out_dir)
        out = out_dir / f"scores-x{rows}.parquet"
        runs["one_process"] = measure([*ksent, "--file", str(src), "--prefix", "pred_", "--out", str(out)])
    else:
        src = nsmc_input(rows, "parquet", args.data_dir, out_dir)
        common = ["--file", str(src), "--text-col", "document", "--prefix", "pred_"]
        runs["one_process"] = measure([*ksent, *common, "--out", str(out_dir / f"scores-x{rows}-local.parquet")])
        for k in (1, 2):
            dest = out_dir / f"scores-x{rows}-ray{k}"
            subprocess.run(["rm", "-rf", str(dest)], check=True)
            runs[f"ray_{k}_workers"] = measure(
                [*ksent, *common, "--engine", "ray", "--concurrency", str(k), "--out", str(dest)]
            )
    for r in runs.values():
        r["rows_per_s"] = round(rows / r["seconds"])
    if args.mode == "ray":
        for k in (1, 2):
            runs[f"ray_{k}_workers"].update(
                compare(out_dir / f"scores-x{rows}-local.parquet", out_dir / f"scores-x{rows}-ray{k}")
            )
    result = {
        "mode": args.mode,
        "rows": rows,
        "model": args.model or "bundled",
        "input": str(src),
        "cpu": cpu_name(),
        "cpus": os.cpu_count(),
        "date": time.strftime("%Y-%m-%d"),
        "runs": runs,
    }
    text = json.dumps(result, ensure_ascii=False, indent=1)
    (out_dir / f"{args.mode}.json").write_text(text + "\n", encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
