"""Does Ray Data keep row order from `map_batches` on an actor pool to the Parquet files? (issue #11)

    python benchmarks/ray_order.py --runs 5 --busy 0.05 --sink ray     # Ray's write_parquet
    python benchmarks/ray_order.py --runs 5 --busy 0.05 --sink ksent   # ksent.ray.parquet_sink
    python benchmarks/ray_order.py --rows 20000 --runs 1 --busy 0.01 --batch-size 1024 --sink ksent --out /tmp/ro

`preserve_order` set, one 1-million-row `ksent predict --engine ray` run wrote 68,928 rows out of
place: 4,096-row batches swapped inside output files. The cause is the writer: Ray's Parquet
datasink passes each file's batches to pyarrow's `write_dataset(use_threads=True)` without
`preserve_order=True`. This runs the same shape of job (the Parquet input `scale.py ray` makes,
4 MiB blocks, one actor whose UDF burns 0 to --busy s of CPU per batch) and counts the rows out
of place per run. Seen 2026-11-28 on 2 cores, Ray 2.60: `ray` 2 of 3 runs reordered, `ksent` 0 of 5;
iterating the same dataset on the driver instead of writing it: 0 of 4.

--src defaults to the input `scale.py ray` makes (1,000,000 rows); --rows N makes (or reuses) an
input of N rows in --out instead (a small one: a check that it all runs). The runs share one local
Ray instance started here (never a cluster already running on this machine). Each run's rows out of
place are printed and, with --out, written with the rows it wrote to OUT/ray_order.json.
"""

import argparse
import glob
import json
import random
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import ray
import ray.data
from machine import nsmc_input

from ksent.ray import parquet_sink

SRC = Path(__file__).parent / "out" / "nsmc-x1000000.parquet"  # made by `scale.py ray`


class Busy:
    def __init__(self, busy: float):
        self.busy = busy

    def __call__(self, batch: pa.Table) -> pa.Table:
        end = time.perf_counter() + random.random() * self.busy
        while time.perf_counter() < end:  # CPU, not sleep: the disorder came with busy actors
            pass
        return batch.append_column("p", pa.array(np.zeros(len(batch), np.float32)))


def run(src: Path, busy: float, max_calls: int | None, batch_size: int | None, sink: str) -> dict:
    """One job: the rows it wrote, and how many of them are out of place (not in id order)."""
    ds = ray.data.read_parquet(str(src), num_cpus=0)
    ds = ds.map_batches(
        Busy,
        fn_constructor_kwargs={"busy": busy},
        batch_size=batch_size,
        batch_format="pyarrow",
        compute=ray.data.ActorPoolStrategy(size=1, max_concurrent_calls_per_actor=max_calls),
        num_cpus=1,
    )
    out = tempfile.mkdtemp(prefix="ray-order-")
    try:
        if sink == "ksent":
            ds.write_datasink(parquet_sink(out), ray_remote_args={"num_cpus": 0})
        else:
            ds.write_parquet(out, ray_remote_args={"num_cpus": 0})
        files = sorted(glob.glob(f"{out}/*.parquet"))
        ids = np.concatenate([pq.read_table(f, columns=["id"]).column("id").to_numpy() for f in files])
    finally:
        shutil.rmtree(out)
    return {"rows_written": len(ids), "out_of_place": int((ids != np.sort(ids)).sum())}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--src", type=Path, default=None, help=f"Parquet file with an increasing 'id' column ({SRC})")
    ap.add_argument("--rows", type=int, default=None, help="Make (or reuse) an input of this many rows in --out.")
    ap.add_argument("--out", type=Path, default=None, help="Folder for the --rows input and ray_order.json.")
    ap.add_argument("--data-dir", default=None, help="NSMC folder for --rows (default: $KSENT_DATA_DIR)")
    ap.add_argument("--runs", type=int, default=6)
    ap.add_argument("--busy", type=float, default=0.3, help="most seconds of CPU per batch")
    ap.add_argument("--sink", choices=["ray", "ksent"], default="ray", help="write_parquet or ksent.ray.parquet_sink")
    ap.add_argument("--batch-size", type=int, default=4096, help="0: one batch per block")
    ap.add_argument("--max-calls", type=int, default=None, help="ActorPoolStrategy max_concurrent_calls_per_actor")
    args = ap.parse_args()
    if args.rows and args.src:
        ap.error("give --src or --rows, not both")
    src = nsmc_input(args.rows, "parquet", args.data_dir, args.out or SRC.parent) if args.rows else args.src or SRC
    ray.init(address="local", num_cpus=3, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    ctx = ray.data.DataContext.get_current()
    ctx.execution_options.preserve_order = True
    ctx.target_max_block_size = 4 << 20  # as `ksent predict --engine ray`
    runs = []
    for i in range(args.runs):
        runs.append(run(src, args.busy, args.max_calls, args.batch_size or None, args.sink))
        print(f"run {i + 1}: {runs[-1]['out_of_place']:,} rows out of place", flush=True)
    ray.shutdown()
    if args.out:
        rows = pq.ParquetFile(src).metadata.num_rows
        result = {"src": str(src), "rows": rows, "sink": args.sink, "busy": args.busy, "runs": runs}
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "ray_order.json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
