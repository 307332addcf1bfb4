"""Speed, side by side in one run: tokenization, NSMC preprocessing, training, inference.

    python benchmarks/speed.py                  # full mode, by hand (~25 min on 2 cores)
    python benchmarks/speed.py --smoke          # tiny inputs: checks that every part runs (CI)

Every comparison runs both sides in this process, on the same reviews. The seed side is the seed
document's code path: one Okt, `morphs(stem=True)` row by row, duplicates and all. The Keras side
(the seed's own model, TensorFlow) runs only when TensorFlow is installed: a benchmark-only
package, never a ksent dependency. Prints a Markdown table and writes it, with the raw numbers
as JSON, to --out.
"""

import argparse
import importlib.util
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from baseline import linear_pipeline
from machine import describe

from ksent.classifier import SentimentClassifier, load
from ksent.config import Config, resolve
from ksent.data import Labelled, clean_training, nsmc_path, read_labelled
from ksent.metrics import classification_report
from ksent.text import clean_hangul, remove_stopwords
from ksent.text.tokenizers import tokenize
from ksent.text.vocab import Vocab, pad_sequences
from ksent.train import evaluate_logits, fit

ROWS: list[dict] = []


def row(section: str, what: str, value: float, unit: str, note: str = "") -> None:
    ROWS.append({"section": section, "what": what, "value": value, "unit": unit, "note": note})
    print(f"[{section}] {what}: {value:,.2f} {unit} {note}", flush=True)


def timed(fn, *args, **kw):
    t0 = time.perf_counter()
    out = fn(*args, **kw)
    return out, time.perf_counter() - t0


# --- the seed's own preprocessing, as its code does it ---------------------------------------------


def seed_okt_tokens(texts: list[str]) -> list[list[str]]:
    """The seed's loop: one Okt in this process, every row analysed (duplicates too)."""
    from konlpy.tag import Okt

    okt, stop = Okt(), frozenset(resolve("seed").stopwords)
    return [remove_stopwords(okt.morphs(s, stem=True), stop) for s in texts]


def seed_pipeline(train: Labelled, test: Labelled) -> tuple[np.ndarray, np.ndarray]:
    """NSMC train + test -> padded ids the seed's way (dedupe, clean, Okt row by row, Tokenizer, pad)."""
    kept, _ = clean_training(train)
    kept_test, _ = clean_training(test)  # the seed drops duplicates from the test file too
    docs = seed_okt_tokens(kept.texts)
    vocab = Vocab.fit(docs, min_count=3)
    x = pad_sequences(vocab.encode_all(docs), 30)
    x_test = pad_sequences(vocab.encode_all(seed_okt_tokens(kept_test.texts)), 30)
    return x, x_test


# --- ksent's preprocessing -------------------------------------------------------------------------


def ksent_pipeline(cfg_name: str | Config, train: Labelled, test: Labelled, cache: Path):
    clf = SentimentClassifier(cfg_name, device="cpu", cache=cache)
    x, y, _ = clf.fit_prepare(train)  # fits the vocabulary
    x_test = clf.encode(test.texts)  # every test review, empty ones included
    return clf, x, y, x_test


# --- the seed's Keras model, for the training comparison --------------------------------------------


def keras_fit(x: np.ndarray, y: np.ndarray, vocab_size: int, epochs: int, seed: int = 42):
    """Embedding(V,100) -> LSTM(128) -> Dense(1, sigmoid), Adam, BCE, batch 64, validation_split 0.2,
    EarlyStopping(val_loss, patience 4), best weights by val_accuracy: the classic chapter's fit."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [
            keras.Input((x.shape[1],)),
            keras.layers.Embedding(vocab_size, 100),
            keras.layers.LSTM(128),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    seconds, best = [], {"acc": -1.0, "weights": None}

    class Track(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.t0 = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            seconds.append(time.perf_counter() - self.t0)
            if logs["val_accuracy"] > best["acc"]:
                best["acc"], best["weights"] = logs["val_accuracy"], self.model.get_weights()

    es = keras.callbacks.EarlyStopping(monitor="val_loss", mode="min", patience=4)
    model.fit(x, y, epochs=epochs, batch_size=64, validation_split=0.2, callbacks=[es, Track()], verbose=0)
    model.set_weights(best["weights"])
    return model, seconds


def epoch_seconds(hist: dict) -> float:
    """Median seconds of a training epoch, the first (warm-up) left out when there are more."""
    ep = [e["seconds"] for m in hist.get("members", [hist]) for e in m["epochs"]]
    return float(np.median(ep[1:] if len(ep) > 1 else ep))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--smoke", action="store_true", help="tiny inputs; numbers mean nothing, every part runs")
    ap.add_argument("--data-dir", type=Path, default=None)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/out/speed"))
    ap.add_argument("--tok-sample", type=int, default=20_000, help="reviews for the tokenizer throughput test")
    args = ap.parse_args()
    smoke = args.smoke
    train_all = read_labelled(nsmc_path("train", args.data_dir))
    test_all = read_labelled(nsmc_path("test", args.data_dir))
    train = train_all.head(1500) if smoke else train_all
    test = test_all.head(300) if smoke else test_all
    n_tok = 200 if smoke else args.tok_sample
    has_keras = importlib.util.find_spec("keras") is not None and importlib.util.find_spec("tensorflow") is not None
    work = Path(tempfile.mkdtemp(prefix="ksent-speed-"))
    shipped = load(device="cpu")  # the model inside the package: what `ksent predict` answers with
    targets: list[tuple[str, str, bool | None]] = []  # (target, measured, met)

    # 1. tokenizer throughput on the same cleaned reviews (with their duplicates, as read)
    texts = [clean_hangul(t) for t in train_all.texts[:n_tok]]
    _, t_seed = timed(seed_okt_tokens, texts)
    okt_rate = n_tok / t_seed
    row("tokenize", f"seed: Okt, one process, row by row ({n_tok:,} reviews)", okt_rate, "reviews/s")
    for name in ("okt", "kiwi"):
        _, t = timed(tokenize, texts, name, progress=False)
        row("tokenize", f"ksent {name}: deduplicated, {os.cpu_count()} workers", n_tok / t, "reviews/s",
            f"{t_seed / t:.1f}x seed")  # fmt: skip
    if importlib.util.find_spec("mecab"):  # python-mecab-ko: a candidate backend, not (yet) in ksent
        from mecab import MeCab

        mecab = MeCab()
        _, t = timed(lambda: [mecab.morphs(s) for s in texts])
        row("tokenize", "candidate: python-mecab-ko, one process, row by row", n_tok / t, "reviews/s",
            f"{t_seed / t:.1f}x seed; not a ksent backend")  # fmt: skip

    # 2. full preprocessing: train + test -> padded ids; cold (empty cache), then warm
    _, t_seed_pre = timed(seed_pipeline, train, test)
    row("preprocess", "seed: Okt pipeline, train + test, cold", t_seed_pre, "s")
    configs = (("shipped", shipped.config_), ("default", "default"), ("seed", "seed"), ("fast", "fast"))
    for cfg_name, cfg_obj in configs:
        cache = work / f"cache-{cfg_name}"
        _, t_cold = timed(ksent_pipeline, cfg_obj, train, test, cache)
        row("preprocess", f"ksent {cfg_name} config, cold", t_cold, "s", f"{t_seed_pre / t_cold:.1f}x seed")
        (clf, x, y, x_test), t_warm = timed(ksent_pipeline, cfg_obj, train, test, cache)
        row("preprocess", f"ksent {cfg_name} config, warm (cache)", t_warm, "s", f"{t_seed_pre / t_warm:.0f}x seed")
        if cfg_name == "shipped":
            speedup = t_seed_pre / t_cold
            targets.append(("preprocessing, shipped config's tokenizer, cold: >= 10x the seed's Okt pipeline",
                            f"{t_cold:.1f} s vs {t_seed_pre:.1f} s = {speedup:.1f}x", speedup >= 10))  # fmt: skip
            targets.append(("same, warm from the cache: >= 100x",
                            f"{t_warm:.2f} s = {t_seed_pre / t_warm:.0f}x", t_seed_pre / t_warm >= 100))  # fmt: skip
        if cfg_name == "seed":
            seed_clf, seed_x, seed_y, seed_x_test = clf, x, y, x_test
        if cfg_name == "default":
            default_clf, default_x, default_y = clf, x, y
        if cfg_name == "fast":  # no analyser: BPE pieces learnt from the train file, then ids
            fast_clf, fast_x, fast_y, fast_x_test = clf, x, y, x_test
            targets.append(("(the `fast` config, for comparison) preprocessing, cold: >= 10x the seed's Okt pipeline",
                            f"{t_cold:.1f} s vs {t_seed_pre:.1f} s = {t_seed_pre / t_cold:.1f}x",
                            t_seed_pre / t_cold >= 10))  # fmt: skip

    # 3. training the seed config: ksent (PyTorch) vs the seed's Keras model on the same padded arrays
    cfg = resolve("seed", ["epochs=1"] if smoke else [])
    n_train = len(seed_x) - int(len(seed_x) * cfg.val_split)
    model, hist = fit(cfg, seed_x, seed_y, len(seed_clf.vocab_), device="cpu", progress=False)
    ep = hist["epochs"]
    t_epoch = epoch_seconds(hist)
    probs = 1 / (1 + np.exp(-evaluate_logits(model, seed_x_test, torch.device("cpu"))))
    acc_torch = classification_report(test.labels, probs)["accuracy"]
    row("train", "ksent seed config (PyTorch): epoch time, median after the first", t_epoch, "s",
        f"{n_train / t_epoch:,.0f} samples/s; {len(ep)} epoch(s); test accuracy {acc_torch:.4f}")  # fmt: skip
    if has_keras:
        kmodel, kep = keras_fit(seed_x, seed_y, len(seed_clf.vocab_), cfg.epochs)
        k_epoch = float(np.median(kep[1:] if len(kep) > 1 else kep))
        kprobs = kmodel.predict(seed_x_test, batch_size=1024, verbose=0)[:, 0]
        acc_keras = classification_report(test.labels, kprobs)["accuracy"]
        row("train", "seed's Keras model (TensorFlow): epoch time, median after the first", k_epoch, "s",
            f"{n_train / k_epoch:,.0f} samples/s; {len(kep)} epoch(s); test accuracy {acc_keras:.4f}")  # fmt: skip
        row("train", "speed-up, samples/s ksent / Keras", k_epoch / t_epoch, "x",
            f"accuracy difference {100 * (acc_torch - acc_keras):+.2f} points")  # fmt: skip
        diff = 100 * (acc_torch - acc_keras)
        targets.append(("training the seed config: >= 2x the Keras model's samples/s, accuracy within 0.3 points",
                        f"{k_epoch / t_epoch:.2f}x ({n_train / t_epoch:,.0f} vs {n_train / k_epoch:,.0f} samples/s), "
                        f"{100 * acc_torch:.2f} % vs {100 * acc_keras:.2f} % ({diff:+.2f})",
                        k_epoch / t_epoch >= 2 and abs(diff) <= 0.3))  # fmt: skip
    else:
        row("train", "seed's Keras model", float("nan"), "", "TensorFlow not installed: skipped")
        targets.append(("training the seed config: >= 2x the Keras model", "TensorFlow not installed", None))

    # the same with the forward pass under bf16 autocast (fast where the CPU has AMX / AVX-512 bf16)
    bf_model, bf_hist = fit(resolve("seed", ["bf16=true", *(["epochs=1"] if smoke else [])]), seed_x, seed_y,
                            len(seed_clf.vocab_), device="cpu", progress=False)  # fmt: skip
    bf_epoch = epoch_seconds(bf_hist)
    bf_probs = 1 / (1 + np.exp(-evaluate_logits(bf_model, seed_x_test, torch.device("cpu"))))
    bf_acc = classification_report(test.labels, bf_probs)["accuracy"]
    row("train", "ksent seed config, bf16=true: epoch time, median after the first", bf_epoch, "s",
        f"{n_train / bf_epoch:,.0f} samples/s; {len(bf_hist['epochs'])} epoch(s); test accuracy {bf_acc:.4f} "
        f"({100 * (bf_acc - acc_torch):+.2f} points vs float32)")  # fmt: skip

    # default and the shipped config's model (one member, as shipped): samples/s and wall time
    default_cfg = resolve("default", ["epochs=1"] if smoke else [])
    default_model, dhist = fit(default_cfg, default_x, default_y, len(default_clf.vocab_), "cpu", False)
    row("train", "ksent default config: samples/s (epochs after the first)", dhist["n_train"] / epoch_seconds(dhist),
        "samples/s", f"{len(dhist['epochs'])} epoch(s), {dhist['seconds']:.0f} s in all; "
        f"seed: {n_train / t_epoch:,.0f} samples/s")  # fmt: skip
    # two epochs (the rate is the second's): a whole `best` training is accuracy.py's to time
    shipped_cfg = Config.from_dict({**shipped.config_.to_dict(), "epochs": 1 if smoke else 2})
    sclf, sx, sy, _ = ksent_pipeline(shipped_cfg, train, test, work / "cache-shipped")  # warm
    _, shist = fit(shipped_cfg, sx, sy, len(sclf.vocab_), "cpu", False)
    row("train", f"ksent shipped config ({shipped_cfg.name}, {shipped_cfg.members} member): samples/s",
        shist["n_train"] / epoch_seconds(shist), "samples/s",
        f"{len(shist['epochs'])} epoch(s), {shist['seconds']:.0f} s in all")  # fmt: skip

    fast_cfg = resolve("fast", ["epochs=1"] if smoke else [])
    fast_model, fhist = fit(fast_cfg, fast_x, fast_y, len(fast_clf.vocab_), "cpu", False)
    fast_probs = 1 / (1 + np.exp(-evaluate_logits(fast_model, fast_x_test, torch.device("cpu"))))
    fast_acc = classification_report(test.labels, fast_probs)["accuracy"]
    row("train", "ksent fast config (subword pieces, one LSTM): samples/s", fhist["n_train"] / epoch_seconds(fhist),
        "samples/s", f"{len(fhist['epochs'])} epoch(s), {fhist['seconds']:.0f} s in all; "
        f"test accuracy {fast_acc:.4f}")  # fmt: skip

    # 4. inference, end to end (text in, probability out), no token cache. The shipped model is the
    # bundled one; the seed model is the one trained above; default's weights from its fit above.
    seed_clf.model_ = model
    default_clf.model_ = default_model
    fast_clf.model_ = fast_model
    lin = linear_pipeline().fit(train.texts, train.labels)
    _, t = timed(lin.predict_proba, test.texts)
    lin_rate = len(test) / t
    row("inference", f"linear baseline (char TF-IDF + LR): predict_proba, {len(test):,} test reviews", lin_rate,
        "reviews/s")  # fmt: skip
    rates, p99 = {}, {}
    for name, clf in (("shipped", shipped), ("default", default_clf), ("seed", seed_clf), ("fast", fast_clf)):
        clf.cache = False
        _, t = timed(clf.predict_proba, test.texts)
        rates[name] = len(test) / t
        row("inference", f"ksent {name}: batch predict_proba, {len(test):,} test reviews", rates[name], "reviews/s",
            f"{rates[name] / lin_rate:.2f}x linear baseline")  # fmt: skip
        lat = []
        for text in test.texts[: 50 if smoke else 300]:
            _, dt = timed(clf.predict_proba, [text])
            lat.append(dt * 1000)
        row("inference", f"ksent {name}: one review, p50", float(np.percentile(lat, 50)), "ms")
        p99[name] = float(np.percentile(lat, 99))
        row("inference", f"ksent {name}: one review, p99", p99[name], "ms")
    targets.append(("end-to-end batch inference, shipped model: >= 1.5x the linear baseline's predict rate",
                    f"{rates['shipped']:,.0f} vs {lin_rate:,.0f} reviews/s = {rates['shipped'] / lin_rate:.2f}x",
                    rates["shipped"] / lin_rate >= 1.5))  # fmt: skip
    targets.append(("same: >= 10x the seed's Okt tokenization alone",
                    f"{rates['shipped']:,.0f} vs {okt_rate:,.0f} reviews/s = {rates['shipped'] / okt_rate:.1f}x",
                    rates["shipped"] / okt_rate >= 10))  # fmt: skip
    targets.append(("(the `fast` config, for comparison) end-to-end batch inference: >= 1.5x the linear baseline",
                    f"{rates['fast']:,.0f} vs {lin_rate:,.0f} reviews/s = {rates['fast'] / lin_rate:.2f}x, "
                    f"{rates['fast'] / okt_rate:.0f}x the seed's Okt alone",
                    rates["fast"] / lin_rate >= 1.5))  # fmt: skip
    targets.append(("single-review latency p99, shipped model (reported; #8's budget: 50 ms at 8 clients)",
                    f"{p99['shipped']:.2f} ms", None))  # fmt: skip

    machine = f"{describe()}, torch {torch.__version__} ({torch.get_num_threads()} threads)"
    table = ["| section | measurement | value | unit | note |", "|---|---|---|---|---|"]
    table += [f"| {r['section']} | {r['what']} | {r['value']:,.2f} | {r['unit']} | {r['note']} |" for r in ROWS]
    verdict = {True: "met", False: "**not met**", None: "—"}
    goals = ["| target (issue #12) | measured | |", "|---|---|---|"]
    goals += [f"| {t} | {m} | {verdict[ok]} |" for t, m, ok in targets]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    header = f"{'smoke' if smoke else 'full'} run, {time.strftime('%Y-%m-%d')}, {machine}\n\n"
    text = header + "\n".join(table) + "\n\n" + "\n".join(goals) + "\n"
    args.out.with_suffix(".md").write_text(text, encoding="utf-8")
    goals_raw = [{"target": t, "measured": m, "met": ok} for t, m, ok in targets]
    raw = {"machine": machine, "rows": ROWS, "targets": goals_raw}
    args.out.with_suffix(".json").write_text(json.dumps(raw, indent=1), encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
