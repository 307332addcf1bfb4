"""An ONNX export beside the torch model it came from, on the full NSMC test (issue #25).

    python benchmarks/onnx_export.py                       # the bundled model
    python benchmarks/onnx_export.py runs/best --rounds 3
    python benchmarks/onnx_export.py --smoke               # 2,000 test reviews, one round: that it runs
    python benchmarks/onnx_export.py --kinds seed,default,best,fast --out runs/export-kinds

Exports MODEL (float32 and int8) into --out, then, on all 50,000 test reviews (every review gets an
answer, empty and duplicated ones included):
- equality: the largest |P(positive)| difference between ONNX Runtime float32 and torch, each
  one's test accuracy, and the answers int8 flips;
- end-to-end batch predict (`predict_proba` on the texts: featurizers, ids and the model), in
  alternating rounds so every runtime sees the same machine state: torch, ONNX Runtime float32 and
  int8, and the linear baseline (char TF-IDF + logistic regression, trained here on the train
  file); each rate as a ratio to the baseline's, the median over the rounds;
- cold start: `ksent predict TEXT` from process start to answer, on the model folder (torch) and on
  its export (no torch), alternating, the median of --cold runs each.
Prints a markdown table headed by the machine; the figures also go to OUT.json (beside --out).

With --kinds, instead: equality for every kind of model ksent trains. Each preset named is trained
on the first --kind-rows train reviews for one epoch (the preset's own network: readout, layers,
directions, packing, members; the weights matter only as numbers here), saved, exported, and both
the folder (torch) and the export (ONNX Runtime float32) score all 50,000 test reviews: the largest
|P(positive)| difference, and the answers that differ.
"""

import argparse
import json
import statistics
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from baseline import linear_pipeline  # noqa: E402
from machine import cold_predict, describe, timed  # noqa: E402

import ksent  # noqa: E402
from ksent.classifier import BUNDLED  # noqa: E402
from ksent.data import nsmc_path, read_labelled  # noqa: E402
from ksent.export import export  # noqa: E402
from ksent.exported import ExportedClassifier  # noqa: E402
from ksent.metrics import classification_report  # noqa: E402


def kinds_equality(kinds: list[str], rows: int, out: Path, data_dir: Path | None, limit: int | None) -> None:
    from ksent.config import resolve

    train = read_labelled(nsmc_path("train", data_dir)).head(rows)
    texts = read_labelled(nsmc_path("test", data_dir)).texts[:limit]
    print(f"| kind | members | max abs P(positive) difference, {len(texts):,} test reviews | answers that differ |")
    print("|---|---|---|---|")
    figures = {}
    for kind in kinds:
        over = ["epochs=1", "syllable_epochs=1"] if kind == "best" else ["epochs=1"]
        clf = ksent.SentimentClassifier(resolve(kind, over), device="cpu").fit_labelled(train)
        folder = export(clf.save(out / f"{kind} model"), out / f"{kind} export")
        torch_p = clf.predict_proba(texts)[:, 1]
        onnx_p = ExportedClassifier(folder).predict_proba(texts)[:, 1]
        diff, flips = float(np.abs(onnx_p - torch_p).max()), int(((onnx_p >= 0.5) != (torch_p >= 0.5)).sum())
        figures[kind] = {"max_abs_diff": diff, "flips": flips, "members": len(clf.model_.members())}
        print(f"| {kind} | {figures[kind]['members']} | {diff:.1e} | {flips} |", flush=True)
    (out / "kinds.json").write_text(json.dumps({"machine": describe(), **figures}, indent=1), encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model", nargs="?", type=Path, help="model folder (default: the bundled model)")
    ap.add_argument("--out", type=Path, default=Path("runs/export"), help="where the export is written")
    ap.add_argument("--rounds", type=int, default=3, help="alternating rounds of batch predict")
    ap.add_argument("--cold", type=int, default=5, help="cold-start runs of each path")
    ap.add_argument("--data-dir", type=Path, default=None)
    ap.add_argument("--smoke", action="store_true", help="2,000 test reviews, one round, one cold start each")
    ap.add_argument("--kinds", help="comma-separated presets: equality of each kind of model, trained small")
    ap.add_argument("--kind-rows", type=int, default=10_000, help="train reviews for each kind (--kinds)")
    args = ap.parse_args()
    if args.kinds:
        print(f"machine: {describe()}", flush=True)
        kinds_equality(args.kinds.split(","), args.kind_rows, args.out, args.data_dir, 2000 if args.smoke else None)
        return
    if args.smoke:
        args.rounds, args.cold = 1, 1
    model = args.model or BUNDLED
    print(f"machine: {describe()}", flush=True)
    folder, seconds = timed(export, args.model, args.out, int8=True)
    print(f"exported {model} to {folder} in {seconds:.1f} s", flush=True)

    test = read_labelled(nsmc_path("test", args.data_dir))
    train = read_labelled(nsmc_path("train", args.data_dir))
    texts, y = test.texts, np.asarray(test.labels)
    if args.smoke:
        texts, y = texts[:2000], y[:2000]
        train = train.head(5000)
    linear, fit_s = timed(linear_pipeline().fit, train.texts, train.labels)
    print(f"linear baseline trained in {fit_s:.0f} s", flush=True)
    runtimes = {
        "torch": ksent.load(args.model, device="cpu"),
        "onnx float32": ExportedClassifier(folder),
        "onnx int8": ExportedClassifier(folder, int8=True),
        "linear baseline": linear,
    }
    for clf in runtimes.values():
        clf.predict_proba(texts[:200])  # warm: the analyser and the sessions started, as a server's are
    answers, rates = {}, {name: [] for name in runtimes}
    for _ in range(args.rounds):
        for name, clf in runtimes.items():
            proba, seconds = timed(clf.predict_proba, texts)
            answers[name] = np.asarray(proba)[:, 1]
            rates[name].append(len(texts) / seconds)
    rate = {name: statistics.median(r) for name, r in rates.items()}
    acc = {name: classification_report(y, p)["accuracy"] for name, p in answers.items()}
    diff = float(np.abs(answers["onnx float32"] - answers["torch"]).max())
    flips = int(((answers["onnx int8"] >= 0.5) != (answers["torch"] >= 0.5)).sum())
    size = {name: (folder / f).stat().st_size / 1e6 for name, f in (("onnx float32", "model.onnx"),
                                                                      ("onnx int8", "model.int8.onnx"))}  # fmt: skip
    starts = {"torch": [], "onnx float32": []}
    for _ in range(args.cold):
        starts["torch"].append(cold_predict("연기가 정말 좋았어요", model))
        starts["onnx float32"].append(cold_predict("연기가 정말 좋았어요", folder))
    start = {name: statistics.median(s) for name, s in starts.items()}

    print(f"\n{len(texts):,} test reviews, {args.rounds} alternating rounds; max |P(positive) onnx float32 - torch| "
          f"= {diff:.2e}; int8 flips {flips} answers of {len(texts):,}\n")  # fmt: skip
    print("| runtime | test accuracy | reviews/s | × linear baseline | model file | cold `ksent predict` |")
    print("|---|---|---|---|---|---|")
    for name in runtimes:
        file = f"{size[name]:.1f} MB" if name in size else ""
        first = f"{start[name]:.2f} s" if name in start else ""
        print(f"| {name} | {acc[name] * 100:.2f} % | {rate[name]:,.0f} | {rate[name] / rate['linear baseline']:.2f}× "
              f"| {file} | {first} |")  # fmt: skip
    print(f"\ncold start: torch / onnx = {start['torch'] / start['onnx float32']:.1f}× (median of {args.cold} each)")
    figures = {"machine": describe(), "model": str(model), "n": len(texts), "rounds": args.rounds,
               "max_abs_diff_float32": diff, "int8_flips": flips, "accuracy": acc, "reviews_per_s": rate,
               "model_mb": size, "cold_s": start}  # fmt: skip
    report = folder.with_name(f"{folder.name}.json")
    report.write_text(json.dumps(figures, ensure_ascii=False, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
