"""Write docs/explain.md from real model output: every number on that page is computed here.

    python docs/explain_examples.py --seed runs/seed --default runs/default

Needs the two full-size models (`ksent train --config seed --out runs/seed`, the same with
`--config default`) and NSMC (`--data-dir` or $KSENT_DATA_DIR). Writes docs/explain.md and the
heatmaps docs/img/explain-LINE.png. Deterministic: the same models give the same page.
"""

import argparse
import io
import re
from pathlib import Path

import numpy as np
import torch
from rich.console import Console

import ksent
from ksent.data import nsmc_path, read_labelled
from ksent.explain import Explanation, lstm_steps, plot, table
from ksent.text.vocab import pad_sequences

DOCS = Path(__file__).resolve().parent
MARKERS = ("근데", "하지만", "그런데", "그러나")  # "but": the review may turn here
MARKER_RE = re.compile(r"(?:^|\s)(?:" + "|".join(MARKERS) + r")\s")
# Hand-picked from the NSMC test reviews that MARKER_RE matches (see "How the examples were chosen"),
# by line of ratings_test.txt: praise that turns into criticism, criticism that turns into praise.
EXAMPLES = [416, 2482, 9300, 7021, 8041, 7231]
HEATMAPS = [416, 2482, 8041]  # drawn with the default model
N_EVIDENCE = 1000  # first NSMC test reviews used to check the evidence


def fmt(x: float, spec: str = ".2f") -> str:
    return format(x, spec)


def load_models(args) -> dict[str, ksent.SentimentClassifier]:
    return {name: ksent.load(path, device="cpu") for name, path in (("seed", args.seed), ("default", args.default))}


def safe_explain(clf, text: str) -> Explanation | None:
    try:
        return clf.explain(text)
    except ksent.KsentError:  # nothing reaches the model
        return None


def marker_index(ex: Explanation) -> int | None:
    """Index in ex.fed of the first 'but' token that has tokens before and after it."""
    return next((k for k, t in enumerate(ex.fed) if t.text in MARKERS and 0 < k < len(ex.fed) - 1), None)


def mean_gate(ex: Explanation, gate: str, steps: list[int]) -> float:
    return float(getattr(ex, gate)[-1, 0, steps].mean())


def token_table(ex: Explanation) -> str:
    rows = [
        "| token | in the review | evidence | P(pos) after | i | f | o | \\|c\\| |",
        "|---|---|--:|--:|--:|--:|--:|--:|",
    ]
    summary = dict(zip([t.step for t in ex.fed], ex.summary(), strict=True))
    for t in ex.tokens:
        surface = ex.text[t.start : t.end] if t.start is not None else "?"
        if t.step is None:
            rows.append(f"| {t.text} | {surface} | *{t.status}* | | | | | |")
            continue
        s = summary[t.step]["forward"]
        name = t.text + (" (OOV)" if t.status == "oov" else "")
        rows.append(
            f"| {name} | {surface} | {t.evidence:+.3f} | {t.p_positive_after:.3f} | {s['input_gate_mean']:.2f} "
            f"| {s['forget_gate_mean']:.2f} | {s['output_gate_mean']:.2f} | {s['cell_norm']:.2f} |"
        )
    return "\n".join(rows)


def reading(ex: Explanation, label: int) -> str:
    """What this explanation says, in the seed's terms; every number from `ex`."""
    k = marker_index(ex)
    fed = ex.fed
    out = []
    verdict = "right" if ex.label == label else "wrong"
    if k is not None:
        before, marker = fed[k - 1], fed[k]
        out.append(
            f"Cut just before **{marker.text}**, the review would get P(positive) = {before.p_positive_after:.2f}; "
            f"whole, it gets {ex.p_positive:.2f} ({ex.sentiment}, {verdict}: the label is {label})."
        )
        others = [t.step for j, t in enumerate(fed) if j != k]
        f_m, f_o = mean_gate(ex, "forget_gate", [marker.step]), mean_gate(ex, "forget_gate", others)
        out.append(
            f"Forget gate: at **{marker.text}** its mean is {f_m:.2f}, against {f_o:.2f} on the other tokens"
            + (" — the cell keeps less of what it held." if f_m < f_o else " — no more erasing than usual.")
        )
        strongest = max(fed[:k], key=lambda t: abs(t.evidence))
        e = strongest.evidence
        out.append(
            f"Cell state: deleting **{strongest.text}**, {len(fed) - fed.index(strongest) - 1} tokens before the "
            f"end, changes the final P({ex.sentiment}) by {-e:+.3f}"
            + (" — it still argues against the verdict at the end." if e < 0 else " — it still supports the verdict.")
        )
    out.append(unit_memory(ex))
    top = max(fed, key=lambda t: t.evidence)
    out.append(f"Most evidence for '{ex.sentiment}': **{top.text}** ({top.evidence:+.3f}).")
    return " ".join(out)


def unit_memory(ex: Explanation) -> str:
    """When the unit the head weighs most took the sign it ends with, and how long it kept it."""
    fed = ex.fed
    f = int(np.argmax(np.abs(ex.contributions)))
    part, d, u = ex.feature_units[f]  # the head's feature f reads unit u of direction d
    c = ex.cell[-1, d, [t.step for t in fed], u]
    j = len(c) - 1
    while j > 0 and np.sign(c[j - 1]) == np.sign(c[-1]):
        j -= 1
    read = "final state" if part == "last" else f"{part} over the review"
    return (
        f"Unit {u}, whose {read} moves the logit most ({ex.contributions[f]:+.2f}), took the sign it "
        f"ends with at **{fed[j].text}** (cell value {c[j]:+.2f}) and kept it for the {len(c) - 1 - j} tokens after, "
        f"ending at {c[-1]:+.2f}."
    )


def _norm(ex: Explanation, step: int) -> float:
    return float(np.linalg.norm(ex.cell[-1, 0, step]))


def padding_convergence(clf) -> tuple[list[tuple[int, float, float]], int]:
    """Rows (k, |c| after k padding steps, distance to the state after max_len padding steps), and the
    first k from which that distance stays under a tenth of the final |c|."""
    T = clf.config_.max_len
    member = clf.model_.members()[0]
    with torch.no_grad():
        trace = lstm_steps(member.lstm, member.embed(torch.zeros(1, T, dtype=torch.long)))
    c = trace.cell[-1, 0, 0]  # (T, H)
    dist = [float(np.linalg.norm(c[k] - c[T - 1])) for k in range(T)]
    settled = next(k + 1 for k in range(T) if all(d < 0.1 * float(np.linalg.norm(c[T - 1])) for d in dist[k:]))
    ks = [k for k in (1, 2, 5, 10, 20, T) if k <= T]
    return [(k, float(np.linalg.norm(c[k - 1])), dist[k - 1]) for k in ks], settled


def evidence_check(clf, texts: list[str]) -> dict:
    """Deletion faithfulness on real reviews: top-1, top-3 (together) and 3 random tokens."""
    rng = np.random.default_rng(0)
    n, positive_top, top1, top3, rand3 = 0, 0, [], [], []
    cfg = clf.config_
    for text in texts:
        ex = safe_explain(clf, text)
        if ex is None or len(ex.fed) < 2:
            continue
        n += 1
        best = max(t.evidence for t in ex.fed)
        positive_top += best > 0
        top1.append(best)
        if len(ex.fed) < 6:
            continue
        ids = [t.id for t in ex.fed]
        order = np.argsort([-t.evidence for t in ex.fed])[:3]
        rand = rng.choice(len(ids), 3, replace=False)
        variants = [ids] + [[i for j, i in enumerate(ids) if j not in set(sel)] for sel in (order, rand)]
        x = torch.from_numpy(pad_sequences(variants, cfg.max_len, cfg.padding, cfg.truncating))
        with torch.no_grad():
            p = torch.sigmoid(clf.model_(x).double()).numpy() * (1 if ex.label else -1)
        top3.append(p[0] - p[1])
        rand3.append(p[0] - p[2])
    return {
        "n": n,
        "positive_top": positive_top,
        "top1": float(np.mean(top1)),
        "n6": len(top3),
        "top3": float(np.mean(top3)),
        "rand3": float(np.mean(rand3)),
    }


def contrast_stats(clf, texts: list[str], labels: list[int]) -> dict:
    """Over every review with a 'but': does the verdict follow the part after it?"""
    cfg = clf.config_
    n = correct = flips = 0
    f_marker, f_other, lower = [], [], 0
    disagree = follow_after = label_after = 0
    ev_before, ev_after = [], []
    missing = cut = 0
    for text, y in zip(texts, labels, strict=True):
        ex = safe_explain(clf, text)
        if ex is None or (k := marker_index(ex)) is None:
            if ex is not None and any(t.text in MARKERS for t in ex.tokens):
                cut += 1  # truncated away, or first/last of what the model reads
            else:
                missing += 1  # the analyser split it (하지만 -> 하 + 지만) or nothing was read
            continue
        n += 1
        fed = ex.fed
        correct += ex.label == y
        flips += (fed[k - 1].p_positive_after >= 0.5) != (ex.p_positive >= 0.5)
        fm = mean_gate(ex, "forget_gate", [fed[k].step])
        fo = mean_gate(ex, "forget_gate", [t.step for j, t in enumerate(fed) if j != k])
        f_marker.append(fm)
        f_other.append(fo)
        lower += fm < fo
        ev_before.append(np.mean([abs(t.evidence) for t in fed[:k]]))
        ev_after.append(np.mean([abs(t.evidence) for t in fed[k + 1 :]]))
        # the two halves on their own
        halves = [[t.id for t in fed[:k]], [t.id for t in fed[k + 1 :]]]
        x = torch.from_numpy(pad_sequences(halves, cfg.max_len, cfg.padding, cfg.truncating))
        with torch.no_grad():
            before, after = (torch.sigmoid(clf.model_(x)).numpy() >= 0.5).astype(int)
        if before != after:
            disagree += 1
            follow_after += ex.label == after
            label_after += y == after
    return {
        "n": n,
        "missing": missing,
        "cut": cut,
        "accuracy": correct / n,
        "flips": flips,
        "f_marker": float(np.mean(f_marker)),
        "f_other": float(np.mean(f_other)),
        "lower": lower,
        "ev_before": float(np.mean(ev_before)),
        "ev_after": float(np.mean(ev_after)),
        "disagree": disagree,
        "follow_after": follow_after,
        "label_after": label_after,
    }


def pct(a: int, b: int) -> str:
    return f"{100 * a / b:.0f} %" if b else "n/a"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=Path, default=Path("runs/seed"))
    ap.add_argument("--default", type=Path, default=Path("runs/default"))
    ap.add_argument("--data-dir", type=Path, default=None)
    ap.add_argument("--out", type=Path, default=DOCS / "explain.md")
    args = ap.parse_args()
    torch.set_num_threads(1)  # thousands of tiny batch-of-one steps: extra threads only add waiting

    models = load_models(args)
    test_path = nsmc_path("test", args.data_dir)
    test = read_labelled(test_path)
    by_line = {line: (text, y) for text, y, line in zip(test.texts, test.labels, test.lines, strict=True)}
    raw_lines = test_path.read_text(encoding="utf-8").splitlines()
    nsmc_id = {line: raw_lines[line - 1].split("\t", 1)[0] for line in EXAMPLES}
    contrast = [(t, y) for t, y in zip(test.texts, test.labels, strict=True) if MARKER_RE.search(t)]
    c_texts, c_labels = [t for t, _ in contrast], [y for _, y in contrast]

    P = []  # the page, one chunk per element
    w = P.append
    name_cfg = {name: clf.config_ for name, clf in models.items()}
    acc = {name: clf.metrics_.get("test", {}).get("accuracy") for name, clf in models.items()}
    cfg = name_cfg["default"]
    w("# Opening the LSTM: gates, cell state and evidence for each prediction")
    w(
        "The seed explains the LSTM in five parts: the **cell state** (셀 상태) is the long-term memory; the "
        "**input gate** (입력 게이트) decides how much of the current input enters it; the **forget gate** "
        "(망각 게이트) decides what is erased from it; the **output gate** (출력 게이트) decides how much of it "
        "becomes the **hidden state** (은닉 상태), which the next step and the classifier read. `ksent explain` "
        "shows all five, token by token, on any review, together with how much each token moved the prediction."
    )
    w(
        "Every number on this page was produced by [`docs/explain_examples.py`](explain_examples.py) from the two "
        "full-size models trained on all of NSMC "
        + ", ".join(
            f"(`{n}`: {name_cfg[n].tokenizer} tokens"
            + (f", test accuracy {acc[n]:.4f}" if acc[n] is not None else "")
            + ")"
            for n in models
        )
        + ". Rerun it after retraining and the page is rewritten."
    )

    w("## Usage")
    w(
        "```bash\n"
        'ksent explain --model runs/default "박중훈은 괜찮았다 근데 아직 넘 어색하고 꽝이었다"\n'
        'ksent explain --model runs/seed --json --png 설명.png "박중훈은 괜찮았다 근데 아직 넘 어색하고 꽝이었다"\n'
        "```"
    )
    w(
        "```python\n"
        "import ksent\n"
        "from ksent.explain import plot\n\n"
        'ex = ksent.load("runs/default").explain("박중훈은 괜찮았다 근데 아직 넘 어색하고 꽝이었다")\n'
        "ex.p_positive, ex.sentiment  # P(positive) and the predicted label\n"
        "ex.tokens  # every token: text, start/end in the review, status, evidence, P(positive) after it\n"
        "ex.forget_gate  # (layers, directions, max_len, hidden): every gate value at every step\n"
        "ex.to_dict()  # what --json prints\n"
        'plot(ex, "설명.png")  # what --png draws\n'
        "```"
    )
    text, _ = by_line[EXAMPLES[0]]
    console = Console(record=True, width=100, color_system=None, file=io.StringIO())
    console.print(table(models["default"].explain(text)))
    w("The terminal table, for the default model:")
    w("```text\n" + console.export_text().rstrip() + "\n```")
    w(
        "Columns: the token as the model sees it (Kiwi lemmas and Okt stems turn 괜찮았다 into 괜찮다), the "
        "characters of the review it came from, its evidence, P(positive) if the review ended right after it, "
        "and for the top LSTM layer the input (i), forget (f) and output (o) gates averaged over the hidden units "
        "and the cell-state norm |c|. `--json` adds every unit's value of every gate, cell and hidden state at "
        "every step (padding included), and the head's per-unit share of the logit."
    )
    w(
        "An ensemble (`best`, `teacher`) is explained as a whole: P(positive) and the evidence are every "
        "member's together. The gates are one member's (`--member K`, counted from 0; `explain(text, "
        "member=K)`), each per the units it reads: a token member per token, a syllable member per character "
        "(a space is `▁`), a piece member per BPE piece. The evidence of a character or a piece is then the "
        "whole model without it: every other member loses its own units over that span (a token member, the "
        "tokens that overlap it). A linear member (`teacher`'s character n-grams) has no gates: asked for "
        "one, `explain` says so and names the LSTM members."
    )

    w("## What the model reads: tokens, dropped tokens, padding")
    w(
        "Each token the analyser produces is listed with a status: `input` (fed to the model), `oov` (fed as "
        "the OOV id: the default config's stand-in for rare and unseen words), `unknown` (not in the vocabulary "
        "of a model without an OOV id, such as `seed`: dropped, as the seed's Keras Tokenizer drops it), "
        "`stopword` (in the config's stopword list) and `truncated` (beyond the last "
        f"{cfg.max_len} tokens). Characters the Hangul-only cleaning removes (digits, Latin letters, "
        "punctuation) never become tokens. Spans (`start`, `end`) point into the text exactly as given."
    )
    conv = {name: padding_convergence(clf) for name, clf in models.items()}
    w(
        f"The input is pre-padded to {cfg.max_len} steps, as Keras' `pad_sequences` does: a review of n tokens "
        f"is {cfg.max_len} − n steps of padding id 0 and then its tokens. The padding id has a trained embedding "
        "and the LSTM runs over it, so the state entering the first token is not zero: it is whatever the "
        "padding left. The padding steps drive the cell towards a fixed state, so once there are enough of "
        "them (from "
        + " and ".join(f"{conv[n][1]} steps for `{n}`" for n in conv)
        + ", within a tenth of its size) the state a review starts from hardly depends on its length:"
    )
    rows = ["| padding steps | " + " | ".join(f"`{n}` \\|c\\| | `{n}` distance to the end state" for n in conv) + " |"]
    rows.append("|--:|" + "--:|--:|" * len(conv))
    for i, (k, *_rest) in enumerate(conv["seed"][0]):
        rows.append(f"| {k} | " + " | ".join(f"{conv[n][0][i][1]:.3f} | {conv[n][0][i][2]:.3f}" for n in conv) + " |")
    w("\n".join(rows))
    w(
        "So the table and the heatmap show the real tokens only and report the padding in one line; the JSON "
        "keeps every step (`trace.steps` names them, `<pad>` for padding). In a bidirectional model the "
        "backward direction reads the padding *last*, so what the head receives from it has passed through all "
        "the padding; the table says so when it applies."
    )

    ev = {name: evidence_check(clf, test.texts[:N_EVIDENCE]) for name, clf in models.items()}
    w("## Evidence: leave one token out")
    w(
        "**evidence(token) = P(predicted label | review) − P(predicted label | review without that token)**. "
        "The token's id is deleted and the rest re-padded, which is exactly what the model would see had the "
        "analyser never produced the token. Positive evidence supports the predicted label, negative evidence "
        "argues against it."
    )
    w(
        "Why this and not gradients (saliency, integrated gradients):\n\n"
        "- **It answers the question a reader asks** — *what if this word were not there?* — in the units of "
        "the output, a probability. Integrated gradients answer a different question (the path from a "
        "*baseline* input to this one), and this model has no natural baseline: an all-zero embedding is an "
        "input it never saw, and the padding embedding is a trained token of its own that also shifts every "
        "position.\n"
        "- **It is exact and checkable.** No approximation, no sampling: one batch of at most "
        f"{2 * cfg.max_len + 1} forward passes (the review, each deletion, each prefix). The tests cut the top "
        "token out of the review's *text* and call `predict` on what is left: whenever the analyser then sees "
        "the same tokens minus that one, the probability is the same.\n"
        "- **Its limits are plain.** One token at a time: two tokens that say the same thing (최고 … 최고) can "
        "each look unimportant because the other remains, and interactions (안 + 좋다) show up only as the "
        "effect of deleting each part. Evidence values do not add up to the prediction."
    )
    w(f"Checked on the first {N_EVIDENCE} NSMC test reviews (those with at least two tokens read):")
    rows = [
        "| model | reviews | some token supports the verdict | mean drop, top token deleted | reviews with ≥ 6 "
        "tokens | mean drop, top 3 deleted together | mean drop, 3 random deleted |",
        "|---|--:|--:|--:|--:|--:|--:|",
    ]
    for name, e in ev.items():
        rows.append(
            f"| `{name}` | {e['n']} | {pct(e['positive_top'], e['n'])} | {e['top1']:.3f} | {e['n6']} | "
            f"{e['top3']:.3f} | {e['rand3']:.3f} |"
        )
    w("\n".join(rows))
    w(
        "Drops are in P(predicted label). The ranking holds beyond one token: deleting the three tokens with "
        "the most evidence together moves the prediction "
        + " and ".join(f"{ev[n]['top3'] / max(ev[n]['rand3'], 1e-9):.1f}×" for n in ev)
        + " as much as deleting three random ones (`seed` and `default`)."
    )

    w("## Long-term dependency, shown")
    w(
        "The seed's point about LSTMs is that the cell state lets information from early in a sequence reach "
        "the end, and that the gates decide what to keep and what to erase. Reviews that turn on a 'but' "
        f"({', '.join(MARKERS)}) test exactly this: the first part says one thing, the second another, and "
        "the model must carry — or drop — the first part across the turn."
    )
    for line in EXAMPLES:
        text, label = by_line[line]
        exs = {name: models[name].explain(text) for name in models}
        w(f"### ratings_test.txt line {line} (id {nsmc_id[line]}, label {label})")
        w(f"> {text}")
        w(
            "| model | P(positive) | verdict |\n|---|--:|---|\n"
            + "\n".join(
                f"| `{n}` | {ex.p_positive:.3f} | {ex.sentiment} ({'right' if ex.label == label else 'wrong'}) |"
                for n, ex in exs.items()
            )
        )
        for name, ex in exs.items():
            w(f"`{name}` ({name_cfg[name].tokenizer}), {ex.padding_steps} padding steps before the first token:")
            w(token_table(ex))
            w(reading(ex, label))
        if line in HEATMAPS:
            img = DOCS / "img" / f"explain-{line}.png"
            plot(exs["default"], img)
            w(f"![ksent explain heatmap, default model, line {line}](img/{img.name})")

    cs = {name: contrast_stats(clf, c_texts, c_labels) for name, clf in models.items()}
    w("### Across every 'but' review")
    w(
        f"{len(contrast)} NSMC test reviews contain one of {', '.join(MARKERS)} as a separate word. For those "
        "where the marker reaches the model with tokens before and after it, the script splits the review at "
        "the marker and also asks the model about each half alone."
    )
    rows = [
        "| | " + " | ".join(f"`{n}`" for n in cs) + " |",
        "|---|" + "--:|" * len(cs),
        "| reviews used | " + " | ".join(str(c["n"]) for c in cs.values()) + " |",
        "| … left out: the marker is not a token of its own | "
        + " | ".join(str(c["missing"]) for c in cs.values())
        + " |",
        "| … left out: the marker is truncated away or has nothing before or after it | "
        + " | ".join(str(c["cut"]) for c in cs.values())
        + " |",
        "| accuracy on them | " + " | ".join(f"{c['accuracy']:.3f}" for c in cs.values()) + " |",
        "| accuracy on all test reviews | "
        + " | ".join(f"{acc[n]:.3f}" if acc[n] is not None else "—" for n in cs)
        + " |",
        "| verdict changes after the marker (P(positive) before it vs at the end) | "
        + " | ".join(pct(c["flips"], c["n"]) for c in cs.values())
        + " |",
        "| mean forget gate at the marker | " + " | ".join(f"{c['f_marker']:.3f}" for c in cs.values()) + " |",
        "| mean forget gate at the other tokens | " + " | ".join(f"{c['f_other']:.3f}" for c in cs.values()) + " |",
        "| reviews where the forget gate is lower at the marker than on average | "
        + " | ".join(pct(c["lower"], c["n"]) for c in cs.values())
        + " |",
        "| mean \\|evidence\\| of a token before the marker | "
        + " | ".join(f"{c['ev_before']:.3f}" for c in cs.values())
        + " |",
        "| mean \\|evidence\\| of a token after the marker | "
        + " | ".join(f"{c['ev_after']:.3f}" for c in cs.values())
        + " |",
        "| halves disagree (each half alone) | " + " | ".join(str(c["disagree"]) for c in cs.values()) + " |",
        "| … the full review's verdict follows the second half | "
        + " | ".join(pct(c["follow_after"], c["disagree"]) for c in cs.values())
        + " |",
        "| … the true label follows the second half | "
        + " | ".join(pct(c["label_after"], c["disagree"]) for c in cs.values())
        + " |",
    ]
    w("\n".join(rows))
    lower_both = all(c["f_marker"] < c["f_other"] for c in cs.values())
    follows = all(c["follow_after"] > c["disagree"] / 2 for c in cs.values())
    w(
        "Read against the seed: "
        + (
            "at the turn the forget gate is lower than on the review's other tokens — the cell keeps less of "
            "what it held — in "
            + " and ".join(pct(c["lower"], c["n"]) for c in cs.values())
            + " of these reviews. (The gate reacts to the marker word; whether it erases *more* when the first "
            "half needs erasing is not measured here.) "
            if lower_both
            else "the mean forget gate is not consistently lower at the turn in these models. "
        )
        + (
            "When the two halves disagree, the verdict follows the second half more often than not, and so does "
            "the true label. "
            "The first half is not wiped out either: its tokens still change the final prediction when deleted "
            "(mean |evidence| "
            + " and ".join(f"{c['ev_before']:.3f}" for c in cs.values())
            + " before the marker, against "
            + " and ".join(f"{c['ev_after']:.3f}" for c in cs.values())
            + " after it): the cell state carries them across the turn. A mean over units is a coarse view; "
            "`--json` and the heatmap's last panel show single units."
            if follows
            else "When the two halves disagree, the verdict does not reliably follow the second half."
        )
    )
    w("## How the examples were chosen")
    w(
        f"From the {len(contrast)} test reviews matching `{MARKER_RE.pattern}`, by hand, for a clear turn in "
        "either direction and a length that fits a table; they are listed by line in `EXAMPLES` in the script. "
        "The aggregate table uses all of them, whatever the models do with them."
    )
    w(
        "What this page does not show: that a gate value *causes* the prediction (gates are intermediate "
        "values, evidence is measured at the output); anything about a single unit's meaning; or anything about "
        "Korean rather than about these two models."
    )
    args.out.write_text("\n\n".join(P) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
