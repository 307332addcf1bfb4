"""Soak test of `ksent serve`: a long run of mixed traffic, then a burst past its queue.

    python benchmarks/soak.py                          # the bundled model: 10 minutes, 8 clients, then the burst
    python benchmarks/soak.py --model runs/default     # any model folder
    python benchmarks/soak.py --smoke --out soak.json  # a quick check that it all runs (seconds)

1. Soak: --clients concurrent clients for --duration seconds, each sending, at random, a single
   review to /v1/predict (60 %), 8 reviews (20 %) or one review to /v1/explain (20 %), with
   keep-alive connections (random NSMC test reviews). Every answer must be 200 (`errors` counts
   the rest, and requests that got no answer at all). The server's resident memory (its
   /proc/PID/status VmRSS) is sampled every few seconds: `growth_pct` is the last sample against
   the first after the warm-up (the first --warmup seconds). Latency percentiles of the first and
   the last --window seconds side by side (after the warm-up): a server that degrades shows it.
2. Burst: --burst-factor x the server's queue (--max-queue) explain requests released at once,
   each on its own connection: every one must be answered, 200 or 503 with Retry-After, none
   lost (no answer) or hung (no answer within --burst-timeout seconds).

The server runs on this machine beside the clients (2 cores here): the figures are for both
together. Prints one JSON object (and writes it to --out).
"""

import argparse
import http.client
import json
import os
import random
import sys
import threading
import time
from pathlib import Path

import numpy as np
from load import free_port, server_log, start_server, wait_healthy
from machine import describe

KINDS = (("predict", 0.6), ("predict8", 0.2), ("explain", 0.2))


def rss_mb(pid: int) -> float:
    """Resident memory of a process, from /proc (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def request(kind: str, texts: list[str], rng: random.Random) -> tuple[str, bytes]:
    if kind == "explain":
        return "/v1/explain", json.dumps({"text": rng.choice(texts)}, ensure_ascii=False).encode()
    n = 8 if kind == "predict8" else 1
    return "/v1/predict", json.dumps({"texts": rng.sample(texts, n)}, ensure_ascii=False).encode()


def client(port: int, texts: list[str], t0: float, until: float, out: list, seed: int) -> None:
    """Mixed requests until `until`; append (seconds since t0 at the start, latency s, kind, status)."""
    rng = random.Random(seed)
    kinds, weights = zip(*KINDS, strict=True)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    while time.monotonic() < until:
        kind = rng.choices(kinds, weights)[0]
        path, body = request(kind, texts, rng)
        start = time.monotonic()
        try:
            conn.request("POST", path, body, {"Content-Type": "application/json"})
            r = conn.getresponse()
            r.read()
            status = r.status
        except (OSError, http.client.HTTPException):
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            status = 0  # no answer
        out.append((start - t0, time.monotonic() - start, kind, status))
    conn.close()


def percentiles(rows: list[tuple]) -> dict:
    lat = np.array([r[1] for r in rows if r[3] == 200]) * 1000
    if not len(lat):
        return {"requests": len(rows)}
    return {
        "requests": len(rows),
        **{f"p{q}_ms": round(float(np.percentile(lat, q)), 1) for q in (50, 99)},
        "max_ms": round(float(lat.max()), 1),
    }


def soak(port: int, pid: int, texts: list[str], clients: int, duration: float, warmup: float, window: float) -> dict:
    rows: list[tuple] = []
    results: list[list] = [[] for _ in range(clients)]
    t0 = time.monotonic()
    until = t0 + duration
    threads = [
        threading.Thread(target=client, args=(port, texts, t0, until, results[i], i), daemon=True)
        for i in range(clients)
    ]
    for t in threads:
        t.start()
    memory: list[tuple[float, float]] = []
    while any(t.is_alive() for t in threads):
        memory.append((time.monotonic() - t0, rss_mb(pid)))
        time.sleep(min(5.0, duration / 20))
    for t in threads:
        t.join()
    rows = sorted(r for rs in results for r in rs)
    after = [m for s, m in memory if s >= warmup] or [memory[-1][1]]
    measured = [r for r in rows if r[0] >= warmup]
    first = [r for r in measured if r[0] < warmup + window]
    last = [r for r in measured if r[0] >= duration - window]
    return {
        "clients": clients,
        "seconds": round(duration, 1),
        "warmup_s": warmup,
        "requests": len(rows),
        "by_kind": {k: sum(r[2] == k for r in rows) for k, _ in KINDS},
        "errors": sum(r[3] != 200 for r in rows),
        "statuses": {str(s): sum(r[3] == s for r in rows) for s in sorted({r[3] for r in rows})},
        "all": percentiles(measured),
        f"first_{window:g}s": {k: percentiles([r for r in first if r[2] == k]) for k, _ in KINDS},
        f"last_{window:g}s": {k: percentiles([r for r in last if r[2] == k]) for k, _ in KINDS},
        "rss_mb": {
            "after_warmup": round(after[0], 1),
            "last": round(after[-1], 1),
            "max": round(max(after), 1),
            "growth_pct": round(100 * (after[-1] - after[0]) / after[0], 2),
            # (seconds, MB) every tenth of the run: where the growth happens, and whether it levels off
            "series": [(round(t), round(m, 1)) for t, m in memory[:: max(1, len(memory) // 10)]],
        },
    }


def burst(port: int, texts: list[str], n: int, timeout: float) -> dict:
    """`n` explain requests released at once, each on its own connection."""
    gate = threading.Barrier(n)
    answers: list = [None] * n

    def one(i: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        body = json.dumps({"text": texts[i % len(texts)]}, ensure_ascii=False).encode()
        try:
            conn.connect()
            gate.wait()
            start = time.monotonic()
            conn.request("POST", "/v1/explain", body, {"Content-Type": "application/json"})
            r = conn.getresponse()
            data = json.loads(r.read())
            retry = r.getheader("Retry-After")
            answers[i] = (r.status, time.monotonic() - start, retry, data.get("error"))
        except TimeoutError:
            answers[i] = ("hung", timeout, None, None)
        except (OSError, http.client.HTTPException, ValueError) as e:
            answers[i] = ("lost", 0.0, None, type(e).__name__)
        finally:
            conn.close()

    threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout + 30)
    statuses = [a[0] if a is not None else "hung" for a in answers]
    refused = [a for a in answers if a is not None and a[0] == 503]
    return {
        "requests": n,
        "statuses": {str(s): statuses.count(s) for s in sorted(set(statuses), key=str)},
        "answered": sum(s in (200, 503) for s in statuses),
        "lost": statuses.count("lost"),
        "hung": statuses.count("hung"),
        "refused_with_retry_after": sum(a[2] is not None and a[2].isdigit() for a in refused),
        "refused_overloaded": sum(a[3] == "overloaded" for a in refused),
        "slowest_answer_s": round(max((a[1] for a in answers if a is not None and a[0] == 200), default=0.0), 2),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", type=Path, help="Model folder to serve; default: the bundled one.")
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--duration", type=float, default=600.0, help="Seconds of soak, warm-up included.")
    ap.add_argument("--warmup", type=float, default=60.0, help="Seconds not counted (memory, latency).")
    ap.add_argument("--window", type=float, default=60.0, help="Seconds of the first and last latency windows.")
    ap.add_argument("--max-queue", type=int, default=64, help="The server's --max-queue.")
    ap.add_argument("--burst-factor", type=int, default=4, help="Burst requests per queue place.")
    ap.add_argument("--burst-timeout", type=float, default=120.0, help="Seconds after which a burst request hung.")
    ap.add_argument("--data-dir", type=Path, help="NSMC folder (default: $KSENT_DATA_DIR, else the ksent cache).")
    ap.add_argument("--smoke", action="store_true", help="8 s of soak, 2 clients, a queue of 4: it all runs")
    ap.add_argument("--out", type=Path, help="Also write the JSON result here.")
    args = ap.parse_args()
    if args.smoke:
        args.duration, args.warmup, args.window, args.clients, args.max_queue = 8.0, 2.0, 3.0, 2, 4
    if args.warmup + 2 * args.window > args.duration:
        sys.exit("error: --duration must hold the warm-up and two windows")

    from ksent.data import nsmc_path, read_labelled

    texts = [t for t in read_labelled(nsmc_path("test", args.data_dir)).texts if len(t.strip()) > 5][:5000]
    port = free_port()
    proc = start_server(args.model, port, extra=("--max-queue", str(args.max_queue)))
    try:
        wait_healthy("127.0.0.1", port, proc)
        long = soak(port, proc.pid, texts, args.clients, args.duration, args.warmup, args.window)
        short = burst(port, texts, args.burst_factor * args.max_queue, args.burst_timeout)
        alive = proc.poll() is None
    finally:
        proc.terminate()
        proc.wait(30)
    if not alive:
        sys.exit(f"error: the server exited during the run: {server_log(proc)}")
    result = {
        "model": str(args.model) if args.model else "bundled",
        "cpus": os.cpu_count(),
        "machine": describe(),  # the CPU model: a figure from one machine type does not hold on another
        "max_queue": args.max_queue,
        "soak": long,
        "burst": short,
    }
    text = json.dumps(result, indent=1)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
