"""The speed benchmark in CI-sized mode: every part runs and reports; no timing is asserted."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_speed_benchmark_smoke(nsmc_dir, hangul_root):
    out = hangul_root / "벤치마크" / "speed"
    env = {**os.environ, "KSENT_DATA_DIR": str(nsmc_dir)}
    r = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "speed.py"), "--smoke", "--out", str(out)],
        capture_output=True, text=True, env=env, timeout=900,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr[-3000:]
    rows = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))["rows"]
    sections = {x["section"] for x in rows}
    assert sections == {"tokenize", "preprocess", "train", "inference"}
    assert all(x["value"] > 0 for x in rows if x["unit"] in ("reviews/s", "s", "ms"))
    table = out.with_suffix(".md").read_text(encoding="utf-8")
    assert table.count("\n| ") == len(rows) + 1  # header row + one row per measurement
