"""Load test of `ksent serve`, on this machine only: concurrent clients for a bounded time.

    python benchmarks/load.py                           # the bundled model: starts a server, 8 clients, 20 s a phase
    python benchmarks/load.py --model runs/default      # any model folder
    python benchmarks/load.py --model runs/default --url http://127.0.0.1:8000   # a server already running
    python benchmarks/load.py --smoke --out load.json    # a quick check that it all runs (1 s phases, few clients)

Two phases, each for --duration seconds after a short warm-up: single-review requests (random NSMC
test reviews) from --clients concurrent clients, then requests of --batch-size reviews from
--batch-clients clients. Each reports requests, errors, throughput and latency percentiles. Then
the in-process baseline: `predict_proba` on the same reviews in batches of --batch-size, in this
process (from its main thread and from a new thread), after the server has gone quiet;
`batch_vs_in_process` is the server's batch throughput over the faster of the two. `answers`
compares the server's answers to one batch with `predict_proba`'s in this process. Prints one JSON
object (and writes it to --out). Targets only loopback addresses, and stops by itself.

Clients are threads with keep-alive `http.client` connections: no dependency beyond ksent, and a
client costs little CPU beside a server on the same 2 cores (it still costs some: the figures are
for server and clients together on one machine).
"""

import argparse
import http.client
import ipaddress
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

import numpy as np


def loopback(url: str) -> tuple[str, int]:
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    try:
        ok = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        ok = False
    if parts.scheme != "http" or not ok:
        sys.exit(f"error: {url}: only http:// on a loopback address (127.0.0.1, localhost, ::1) may be loaded")
    return host, parts.port or 80


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(
    model: Path | None, port: int, python: str = sys.executable, extra: tuple[str, ...] = ()
) -> subprocess.Popen:
    """`ksent serve` on `port` (with `extra` options), run by `python` (another install's interpreter:
    its own ksent)."""
    cmd = [python, "-m", "ksent", "serve", "--port", str(port), "--device", "cpu", *extra]
    cmd += ["--model", str(model)] if model is not None else []
    # stderr (uvicorn's access log: a line per request) into a file: a pipe nobody reads fills up
    # after some thousand requests and then blocks the server mid-run
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=log)
    proc.log = log
    return proc


def server_log(proc: subprocess.Popen) -> str:
    """The end of what the server wrote to stderr."""
    proc.log.seek(0)
    return proc.log.read()[-3000:].decode(errors="replace")


def wait_healthy(host: str, port: int, proc: subprocess.Popen | None, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            sys.exit(f"error: the server exited ({proc.returncode}): {server_log(proc)}")
        try:
            conn = http.client.HTTPConnection(host, port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.25)
    sys.exit(f"error: no answer from http://{host}:{port}/healthz within {timeout:.0f} s")


def client(host: str, port: int, bodies: list[bytes], until: float, out: list, seed: int) -> None:
    """POST /v1/predict until `until`; append (latency_s, ok, n_reviews) per request."""
    rng = random.Random(seed)
    conn = http.client.HTTPConnection(host, port, timeout=120)
    headers = {"Content-Type": "application/json"}
    while time.monotonic() < until:
        body = bodies[rng.randrange(len(bodies))]
        t0 = time.perf_counter()
        try:
            conn.request("POST", "/v1/predict", body, headers)
            r = conn.getresponse()
            data = r.read()
            ok = r.status == 200
            n = len(json.loads(data)["predictions"]) if ok else 0
        except (OSError, http.client.HTTPException, ValueError):
            conn.close()
            conn = http.client.HTTPConnection(host, port, timeout=120)
            ok, n = False, 0
        out.append((time.perf_counter() - t0, ok, n))
    conn.close()


def server_answers(host: str, port: int, texts: list[str]) -> list[dict]:
    """The server's prediction records for `texts`, one request."""
    conn = http.client.HTTPConnection(host, port, timeout=120)
    body = json.dumps({"texts": texts}, ensure_ascii=False).encode()
    conn.request("POST", "/v1/predict", body, {"Content-Type": "application/json"})
    r = conn.getresponse()
    data = r.read()
    conn.close()
    if r.status != 200:
        sys.exit(f"error: POST /v1/predict answered {r.status}: {data[:500]!r}")
    return json.loads(data)["predictions"]


def phase(host: str, port: int, bodies: list[bytes], clients: int, duration: float, warmup: float) -> dict:
    """`clients` threads for `warmup` seconds, then again for `duration` seconds: only these count."""
    for seconds in (warmup, duration):
        results: list[list] = [[] for _ in range(clients)]
        until = time.monotonic() + seconds
        threads = [
            threading.Thread(target=client, args=(host, port, bodies, until, results[i], i)) for i in range(clients)
        ]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - t0
    rows = [r for rs in results for r in rs]
    lat = np.array([r[0] for r in rows if r[1]]) * 1000
    reviews = sum(r[2] for r in rows)
    pct = {f"p{q}_ms": round(float(np.percentile(lat, q)), 2) if len(lat) else None for q in (50, 95, 99)}
    return {
        "clients": clients,
        "seconds": round(elapsed, 2),
        "requests": len(rows),
        "errors": sum(not r[1] for r in rows),
        "reviews": reviews,
        "requests_per_s": round(len(rows) / elapsed, 1),
        "reviews_per_s": round(reviews / elapsed, 1),
        **pct,
        "max_ms": round(float(lat.max()), 2) if len(lat) else None,
    }


def in_process(clf, batches: list[list[str]], duration: float) -> dict:
    """`predict_proba` on batches of the same reviews, in this process, for about `duration` seconds
    each: called from the main thread (as a script would), then from a new thread (as the server's
    model thread does). On a busy machine the two can differ a lot: torch's OpenMP threads stall
    when the CPUs are oversubscribed, and they are set up per calling thread."""
    clf.predict_proba(batches[0])  # warm-up: loads the analyser

    def run(out: dict) -> None:
        n, i, t0 = 0, 0, time.perf_counter()
        while time.perf_counter() - t0 < duration or i == 0:
            n += len(clf.predict_proba(batches[i % len(batches)]))
            i += 1
        elapsed = time.perf_counter() - t0
        out.update(batches=i, seconds=round(elapsed, 2), reviews_per_s=round(n / elapsed, 1))

    main_thread: dict = {}
    run(main_thread)
    other_thread: dict = {}
    t = threading.Thread(target=run, args=(other_thread,))
    t.start()
    t.join()
    return {"main_thread": main_thread, "worker_thread": other_thread}


def same_answers(served: list[dict], p_positive) -> dict:
    """The server's records against P(positive) computed in this process for the same reviews."""
    served_p = np.array([r["p_positive"] for r in served])
    return {
        "reviews": len(served),
        "labels_differ": int(sum(r["label"] != int(p >= 0.5) for r, p in zip(served, p_positive, strict=True))),
        "max_abs_diff_p_positive": float(np.abs(served_p - p_positive).max()),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--model", type=Path, help="Model folder (served, and the in-process baseline); default: the bundled one."
    )
    ap.add_argument("--url", help="A running server on a loopback address (default: start one on a free port).")
    ap.add_argument("--clients", type=int, default=8, help="Concurrent clients of single-review requests.")
    ap.add_argument("--batch-clients", type=int, default=2, help="Concurrent clients of batch requests.")
    ap.add_argument("--batch-size", type=int, default=256, help="Reviews per batch request.")
    ap.add_argument("--duration", type=float, default=20.0, help="Seconds per phase (each also warms up briefly).")
    ap.add_argument("--data-dir", type=Path, help="NSMC folder (default: $KSENT_DATA_DIR, else the ksent cache).")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--smoke", action="store_true", help="1 s phases, 2 and 1 clients, batches of 16: it all runs")
    ap.add_argument("--out", type=Path, help="Also write the JSON result here.")
    args = ap.parse_args()
    if args.smoke:
        args.duration, args.clients, args.batch_clients, args.batch_size = 1.0, 2, 1, 16
    if not 1 <= args.clients <= 64 or not 1 <= args.batch_clients <= 64 or not 0 < args.duration <= 600:
        sys.exit("error: --clients and --batch-clients must be 1..64, --duration 0..600 s")

    from ksent.data import nsmc_path, read_labelled

    rng = random.Random(args.seed)
    texts = [t for t in read_labelled(nsmc_path("test", args.data_dir)).texts if t.strip()]
    singles = [json.dumps({"texts": [t]}, ensure_ascii=False).encode() for t in rng.sample(texts, 2000)]
    batches = [rng.sample(texts, args.batch_size) for _ in range(20)]
    batch_bodies = [json.dumps({"texts": b}, ensure_ascii=False).encode() for b in batches]

    proc = None
    if args.url:
        host, port = loopback(args.url)
    else:
        host, port = "127.0.0.1", free_port()
        proc = start_server(args.model, port)
    try:
        wait_healthy(host, port, proc)
        warmup = min(2.0, args.duration / 2)
        single = phase(host, port, singles, args.clients, args.duration, warmup)
        batch = phase(host, port, batch_bodies, args.batch_clients, args.duration, warmup)
        served = server_answers(host, port, batches[0])
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(30)
    import ksent

    clf = ksent.load(args.model, device="cpu")
    baseline = in_process(clf, batches, min(args.duration, 10.0))
    best = max(b["reviews_per_s"] for b in baseline.values())
    result = {
        "server": f"http://{host}:{port}",
        "model": str(args.model) if args.model else "bundled",
        "cpus": os.cpu_count(),
        "single": single,
        "batch": {"batch_size": args.batch_size, **batch},
        "in_process_predict_proba": {"batch_size": args.batch_size, **baseline},
        # against the faster of the two in-process figures: the conservative ratio
        "batch_vs_in_process": round(batch["reviews_per_s"] / best, 3),
        "answers": same_answers(served, clf.predict_proba(batches[0])[:, 1]),
    }
    text = json.dumps(result, indent=1)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
