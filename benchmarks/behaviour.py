"""The behavioural suite (in the spirit of CheckList, Ribeiro et al. 2020): short reviews written and
labelled by the ksent developers, in categories that test one capability each.

    python benchmarks/behaviour.py --model runs/best [--model runs/default ...] [--out behaviour.json]
    python benchmarks/behaviour.py          # the bundled model

`behaviour.tsv` beside this file: category, label (0 negative, 1 positive), text. Prints one JSON
list, an object per model (the pass rate per category, "overall", and the failures), and writes
it to --out when given; `benchmarks/accuracy.py` runs it for every config it trains and for the
linear baseline, side by side.
"""

import argparse
import csv
import json
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path

SUITE = Path(__file__).with_name("behaviour.tsv")


def load(path: Path = SUITE) -> list[dict]:
    """Rows of the suite: {"category", "label", "text"}; strict, so a broken row names its line."""
    rows = []
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = next(reader)
        if header != ["category", "label", "text"]:
            raise ValueError(f"{path}:1: expected the header category, label, text; got {header}")
        for line, fields in enumerate(reader, 2):
            if len(fields) != 3 or fields[1] not in ("0", "1") or not fields[2]:
                raise ValueError(f"{path}:{line}: expected category<TAB>0|1<TAB>text, got {fields}")
            rows.append({"category": fields[0], "label": int(fields[1]), "text": fields[2]})
    return rows


def pass_rates(p_positive: Callable[[Sequence[str]], Sequence[float]], rows: list[dict] | None = None) -> dict:
    """Share of each category's reviews whose predicted label (P(positive) >= 0.5) is the written one,
    plus "overall" and the failures."""
    rows = rows if rows is not None else load()
    p = p_positive([r["text"] for r in rows])
    hits, totals, failures = defaultdict(int), defaultdict(int), []
    for r, prob in zip(rows, p, strict=True):
        ok = int(prob >= 0.5) == r["label"]
        hits[r["category"]] += ok
        totals[r["category"]] += 1
        if not ok:
            failures.append(
                {"category": r["category"], "label": r["label"], "p_positive": round(float(prob), 4), "text": r["text"]}
            )
    rates = {c: hits[c] / totals[c] for c in totals}
    rates["overall"] = sum(hits.values()) / len(rows)
    return {"pass_rate": rates, "n": len(rows), "failures": failures}


def main() -> None:
    import ksent

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", action="append", type=Path, help="A model folder (repeat for more; none: the bundled).")
    ap.add_argument("--out", type=Path, default=None, help="Also write the results here (JSON).")
    args = ap.parse_args()
    results = []
    for folder in args.model or [None]:
        clf = ksent.load(folder, device="cpu")
        res = pass_rates(lambda texts, clf=clf: clf.predict_proba(texts)[:, 1])
        results.append({"model": str(folder) if folder else "bundled", **res})
    text = json.dumps(results, ensure_ascii=False, indent=1)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n", encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
