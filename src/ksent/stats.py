"""Corpus statistics: what to look at in labelled reviews before (and after) training.

Pure functions over texts, labels and token lists, and `corpus_stats`, which runs them over one or
more splits. The first split is the *reference*, as the training file is for a model: its
vocabulary is the one that OOV rates and max_len truncation are measured against.

Counting conventions (each split, every row of the file):

- rows are filtered exactly as `ksent train` filters its training file, and each row is counted
  under the first reason that applies, so the reasons plus `kept` add up to `rows`:
  empty document (what pandas reads as NaN) -> duplicate document (same text as an earlier row)
  -> empty after Hangul-only cleaning -> no tokens left after stopword/rare-word removal
  (vocabulary fitted on that split, as if it were the training file). Evaluation keeps every row;
  these counts say what training would drop;
- character lengths are those of the text as published; token lengths count the tokens the model
  is given (cleaned, analysed, stopwords removed), 0 for a document that has none;
- "truncated" counts rows whose id sequence (reference vocabulary) is longer than `max_len`;
- vocabulary sizes count distinct lower-cased tokens (as `Vocab` does) of the reference split's
  kept rows seen at least `min_count` times; the OOV rate is the share of another split's token
  occurrences outside that vocabulary.

Tokens most characteristic of a label: the weighted log-odds ratio with an informative Dirichlet
prior (Monroe, Colaresi & Quinn 2008, "Fightin' Words"), the prior being each token's pooled count
over both labels (the default of tidylo's `bind_log_odds`). For token w with counts y0, y1
(n0, n1 tokens per label, y = y0 + y1, n = n0 + n1):

    delta = log((y1 + y) / (n1 + n - y1 - y)) - log((y0 + y) / (n0 + n - y0 - y))
    z     = delta / sqrt(1 / (y1 + y) + 1 / (y0 + y))

z > 0 leans positive, z < 0 negative; z grows with the evidence, so a token seen twice never
outranks one seen a thousand times unless it is far more one-sided. Only tokens seen at least
`top_min_count` times take part; ranking uses the reference split's kept rows (no duplicates).
"""

import math
from collections import Counter
from collections.abc import Callable, Iterable, Sequence

import numpy as np

from ksent.config import Config
from ksent.data import DROP_REASONS, DUPLICATE, NO_TOKENS, Labelled, clean_training
from ksent.features.tokens import cleaned as cleaned_texts
from ksent.text.clean import clean_hangul
from ksent.text.vocab import Vocab

MIN_COUNTS = (1, 2, 3, 5, 10)
LABEL_NAMES = {0: "negative", 1: "positive"}
METHOD = "weighted log-odds ratio, informative Dirichlet prior = pooled counts (Monroe et al. 2008)"

Tokenizer = Callable[[Sequence[str]], list[list[str]]]


# --- pure statistics ----------------------------------------------------------------------------


def describe(values: Iterable[float]) -> dict:
    """Mean, median, 95th and 99th percentile (linear interpolation) and max.

    >>> describe([1, 2, 3, 4, 10])
    {'mean': 4.0, 'median': 3.0, 'p95': 8.8, 'p99': 9.76, 'max': 10}
    """
    a = np.asarray(list(values), dtype=np.float64)
    p50, p95, p99 = np.percentile(a, [50, 95, 99])

    def r(x) -> float:
        return round(float(x), 6)  # short, readable JSON

    return {"mean": r(a.mean()), "median": r(p50), "p95": r(p95), "p99": r(p99), "max": int(a.max())}


def label_counts(labels: Iterable[int]) -> dict[int, int]:
    """Rows per label value, keyed (and ordered) by the label, never by the count."""
    c = Counter(labels)
    return {label: c.get(label, 0) for label in sorted(set(c) | {0, 1})}


def conflicting_duplicates(texts: Sequence[str], labels: Sequence[int]) -> int:
    """Duplicate rows (non-empty text seen on an earlier row) whose label differs from the first one's.

    >>> conflicting_duplicates(["좋다", "좋다", "좋다", "", ""], [1, 1, 0, 0, 1])
    1
    """
    first: dict[str, int] = {}
    n = 0
    for text, label in zip(texts, labels, strict=True):
        if text:
            n += first.setdefault(text, label) != label
    return n


def token_counts(docs: Iterable[Sequence[str]]) -> Counter:
    """Occurrences of each lower-cased token, as `Vocab.fit` counts them."""
    counts: Counter = Counter()
    for doc in docs:
        counts.update(t.lower() for t in doc)
    return counts


def vocab_sizes(counts: Counter, min_counts: Iterable[int] = MIN_COUNTS) -> dict[int, int]:
    """Distinct tokens seen at least m times, for each m.

    >>> vocab_sizes(Counter({"a": 3, "b": 1, "c": 2}), (1, 2, 3, 4))
    {1: 3, 2: 2, 3: 1, 4: 0}
    """
    return {m: sum(1 for c in counts.values() if c >= m) for m in min_counts}


def oov_rate(reference: Counter, docs: Iterable[Sequence[str]], min_count: int) -> float:
    """Share of the token occurrences in `docs` not in the reference vocabulary at `min_count`.

    >>> oov_rate(Counter({"a": 3, "b": 1}), [["a", "B"], ["c", "a"]], 2)
    0.5
    """
    total = oov = 0
    for doc in docs:
        for t in doc:
            total += 1
            oov += reference.get(t.lower(), 0) < min_count
    return oov / total if total else 0.0


def log_odds_z(counts0: Counter, counts1: Counter, min_count: int = 1) -> dict[str, float]:
    """z-score of each token's log-odds ratio, label 1 vs label 0 (see the module docstring).

    >>> z = log_odds_z(Counter({"별로": 9, "영화": 5}), Counter({"최고": 9, "영화": 5}))
    >>> sorted(z, key=z.get), round(z["영화"], 12)
    (['별로', '영화', '최고'], 0.0)
    """
    n0, n1 = sum(counts0.values()), sum(counts1.values())
    n = n0 + n1
    z = {}
    for w in counts0.keys() | counts1.keys():
        y0, y1 = counts0.get(w, 0), counts1.get(w, 0)
        y = y0 + y1
        if y < min_count:
            continue
        delta = math.log((y1 + y) / (n1 + n - y1 - y)) - math.log((y0 + y) / (n0 + n - y0 - y))
        z[w] = delta / math.sqrt(1 / (y1 + y) + 1 / (y0 + y))
    return z


def characteristic_tokens(
    docs: Sequence[Sequence[str]], labels: Sequence[int], k: int = 15, min_count: int = 10
) -> dict[int, list[dict]]:
    """The `k` tokens leaning most to each label (z of the log-odds ratio), strongest first."""
    by_label = {0: Counter(), 1: Counter()}
    for doc, label in zip(docs, labels, strict=True):
        by_label[label].update(t.lower() for t in doc)
    z = log_odds_z(by_label[0], by_label[1], min_count)

    def row(w: str) -> dict:
        return {"token": w, "z": round(z[w], 4), "count_0": by_label[0][w], "count_1": by_label[1][w]}

    # ties in z (rare) are broken by the token, so the output never depends on set order
    pos = sorted((w for w in z if z[w] > 0), key=lambda w: (-z[w], w))[:k]
    neg = sorted((w for w in z if z[w] < 0), key=lambda w: (z[w], w))[:k]
    return {0: [row(w) for w in neg], 1: [row(w) for w in pos]}


# --- one corpus, all of it ----------------------------------------------------------------------


def _split_rows(data: Labelled, tokenize: Tokenizer, cfg: Config) -> tuple[dict, list[list[str]], list, list]:
    """Filter funnel, and tokens for every row. Returns (stats so far, row tokens, kept tokens, kept labels)."""
    kept, report = clean_training(data, clean=cfg.clean)
    # Tokenize exactly what training would (same texts, same order, cleaned): the token cache is shared.
    kept_cleaned = cleaned_texts(kept.texts, cfg.clean)
    kept_docs = tokenize(kept_cleaned) if kept_cleaned else []
    own = Vocab.fit(kept_docs, min_count=cfg.min_count, oov=cfg.oov)
    for doc, line in zip(kept_docs, kept.lines, strict=True):
        if not own.encode(doc):
            report.drop(NO_TOKENS, line)
    report.kept = len(kept_docs) - report.dropped[NO_TOKENS]
    # Every other row's cleaned text is blank or the cleaned text of a kept row (duplicates).
    cleaned = [clean_hangul(t) for t in data.texts] if cfg.clean else list(data.texts)
    by_text = dict(zip(kept_cleaned, kept_docs, strict=True))
    missing = list(dict.fromkeys(c for c in cleaned if c.strip() and c not in by_text))
    if missing:
        by_text.update(zip(missing, tokenize(missing), strict=True))
    row_docs = [by_text[c] if c.strip() else [] for c in cleaned]
    dropped = report.to_dict()["dropped"]
    assert sum(dropped.values()) + report.kept == len(data), "every row is kept or dropped for one reason"
    lengths = [len(d) for d in row_docs]
    stats = {
        "file": str(data.path),
        "rows": len(data),
        "labels": {str(k): n for k, n in label_counts(data.labels).items()},  # str keys: the JSON's
        "dropped": dropped,
        "kept": report.kept,
        "example_lines": report.examples,
        "conflicting_duplicates": conflicting_duplicates(data.texts, data.labels),
        "chars": describe(len(t) for t in data.texts),
        "tokens": describe(lengths),
        "token_length_counts": np.bincount(lengths).tolist(),  # [i] = rows with i tokens
    }
    return stats, row_docs, kept_docs, kept.labels


def corpus_stats(
    splits: dict[str, Labelled],
    tokenize: Tokenizer,
    cfg: Config,
    min_counts: Iterable[int] = MIN_COUNTS,
    top_k: int = 15,
    top_min_count: int = 10,
) -> dict:
    """Everything `ksent data stats` shows, as one JSON-ready dict. The first split is the reference.

    `tokenize` maps texts to the model's tokens (e.g. `SentimentClassifier(cfg).tokens`).
    """
    if not splits:
        raise ValueError("corpus_stats needs at least one split")
    min_counts = sorted(set(min_counts) | {cfg.min_count})
    out_splits, row_docs = {}, {}
    ref_name = next(iter(splits))
    for name, data in splits.items():
        out_splits[name], row_docs[name], kept_docs, kept_labels = _split_rows(data, tokenize, cfg)
        if name == ref_name:
            ref_counts = token_counts(kept_docs)
            top = characteristic_tokens(kept_docs, kept_labels, top_k, top_min_count)
            ref_vocab = Vocab.fit(kept_docs, min_count=cfg.min_count, oov=cfg.oov)
    for name, docs in row_docs.items():
        out_splits[name]["truncated"] = sum(len(ref_vocab.encode(d)) > cfg.max_len for d in docs)
    sizes = vocab_sizes(ref_counts, min_counts)
    others = [n for n in splits if n != ref_name]
    return {
        "config": {
            k: getattr(cfg, k) for k in ("name", "tokenizer", "clean", "min_count", "oov", "max_len", "truncating")
        },
        "reference": ref_name,
        "splits": out_splits,
        "vocab": [
            {"min_count": m, "size": sizes[m], "oov_rate": {n: oov_rate(ref_counts, row_docs[n], m) for n in others}}
            for m in min_counts
        ],
        "characteristic_tokens": {"method": METHOD, "min_count": top_min_count, **{str(k): v for k, v in top.items()}},
    }


# --- the table -----------------------------------------------------------------------------------


def _pct(n: int, total: int) -> str:
    return f"{n:,} ({100 * n / total:.1f}%)" if total else f"{n:,}"


def format_table(stats: dict) -> str:
    """The statistics as an aligned plain-text table (what `ksent data stats` prints)."""
    splits = stats["splits"]
    names = list(splits)
    cfg = stats["config"]
    rows: list[tuple[str, ...]] = [("", *names), ("rows", *(f"{s['rows']:,}" for s in splits.values()))]
    for label in ("0", "1"):
        name = LABEL_NAMES[int(label)]
        rows.append((f"label {label} ({name})", *(_pct(s["labels"][label], s["rows"]) for s in splits.values())))
    rows.append(("dropped if used for training, in order:",))
    for reason in DROP_REASONS:
        rows.append((f"  {reason}", *(_pct(s["dropped"][reason], s["rows"]) for s in splits.values())))
        if reason == DUPLICATE:
            rows.append(
                ("    of which with the other label", *(f"{s['conflicting_duplicates']:,}" for s in splits.values()))
            )
    rows.append(("  kept", *(_pct(s["kept"], s["rows"]) for s in splits.values())))
    tok = f"tokens ({cfg['tokenizer']})"
    for unit, key in (("characters", "chars"), (tok, "tokens")):
        rows.append((f"length in {unit}:",))
        for stat in ("mean", "median", "p95", "p99", "max"):
            rows.append((f"  {stat}", *(_num(s[key][stat]) for s in splits.values())))
    rows.append((f"longer than max_len {cfg['max_len']}", *(_pct(s["truncated"], s["rows"]) for s in splits.values())))
    others = [n for n in names if n != stats["reference"]]
    rows.append((f"vocabulary of {stats['reference']} (kept rows):", "size", *(f"OOV {n}" for n in others)))
    for v in stats["vocab"]:
        mark = " (config)" if v["min_count"] == cfg["min_count"] else ""
        oov = (f"{100 * v['oov_rate'][n]:.2f}%" for n in others)
        rows.append((f"  min_count {v['min_count']}{mark}", f"{v['size']:,}", *oov))
    width = [max(len(r[i]) for r in rows if len(r) > i and len(r) > 1) for i in range(max(map(len, rows)))]
    lines = []
    for r in rows:
        if len(r) == 1:
            lines.append(r[0])
        else:
            lines.append("  ".join([r[0].ljust(width[0])] + [c.rjust(width[i]) for i, c in enumerate(r[1:], 1)]))
    top = stats["characteristic_tokens"]
    lines.append(f"most characteristic tokens of {stats['reference']} ({top['method']}; seen >= {top['min_count']}):")
    for label in ("0", "1"):
        words = ", ".join(f"{t['token']} {t['z']:+.1f}" for t in top[label]) or "-"
        lines.append(f"  {label} {LABEL_NAMES[int(label)]}: {words}")
    return "\n".join(line.rstrip() for line in lines)


def _num(x: float) -> str:
    return f"{x:,}" if isinstance(x, int) or float(x).is_integer() else f"{x:,.2f}"
