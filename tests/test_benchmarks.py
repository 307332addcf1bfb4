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
    raw = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))
    rows, targets = raw["rows"], raw["targets"]
    sections = {x["section"] for x in rows}
    assert sections == {"tokenize", "preprocess", "train", "inference"}
    assert all(x["value"] > 0 for x in rows if x["unit"] in ("reviews/s", "s", "samples/s", "ms"))
    # issue #12's targets, each with its measured ratio and a verdict (met / not met / only reported)
    assert len(targets) == 6 and all(t["met"] in (True, False, None) and t["measured"] for t in targets)
    assert any("linear baseline" in t["target"] for t in targets)
    table = out.with_suffix(".md").read_text(encoding="utf-8")
    # two tables: header + one row per measurement, header + one row per target
    assert table.count("\n| ") == len(rows) + 1 + len(targets) + 1
