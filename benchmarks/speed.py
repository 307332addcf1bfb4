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
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from ksent.classifier import SentimentClassifier
from ksent.config import resolve
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


def ksent_pipeline(cfg_name: str, train: Labelled, test: Labelled, cache: Path):
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

    # 1. tokenizer throughput on the same cleaned reviews (with their duplicates, as read)
    texts = [clean_hangul(t) for t in train_all.texts[:n_tok]]
    _, t_seed = timed(seed_okt_tokens, texts)
    row("tokenize", f"seed: Okt, one process, row by row ({n_tok:,} reviews)", n_tok / t_seed, "reviews/s")
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
    for cfg_name in ("default", "seed"):
        cache = work / f"cache-{cfg_name}"
        _, t_cold = timed(ksent_pipeline, cfg_name, train, test, cache)
        row("preprocess", f"ksent {cfg_name} config, cold", t_cold, "s", f"{t_seed_pre / t_cold:.1f}x seed")
        (clf, x, y, x_test), t_warm = timed(ksent_pipeline, cfg_name, train, test, cache)
        row("preprocess", f"ksent {cfg_name} config, warm (cache)", t_warm, "s", f"{t_seed_pre / t_warm:.0f}x seed")
        if cfg_name == "seed":
            seed_clf, seed_x, seed_y, seed_x_test = clf, x, y, x_test

    # 3. training the seed config: ksent (PyTorch) vs the seed's Keras model on the same padded arrays
    cfg = resolve("seed", ["epochs=1"] if smoke else [])
    n_train = len(seed_x) - int(len(seed_x) * cfg.val_split)
    model, hist = fit(cfg, seed_x, seed_y, len(seed_clf.vocab_), device="cpu", progress=False)
    ep = [e["seconds"] for e in hist["epochs"]]
    t_epoch = float(np.median(ep[1:] if len(ep) > 1 else ep))
    probs = 1 / (1 + np.exp(-evaluate_logits(model, seed_x_test, torch.device("cpu"))))
    acc_torch = classification_report(test.labels, probs)["accuracy"]
    row("train", "ksent seed config (PyTorch): epoch time, median after the first", t_epoch, "s",
        f"{n_train / t_epoch:,.0f} samples/s; {len(ep)} epochs; test accuracy {acc_torch:.4f}")  # fmt: skip
    if has_keras:
        kmodel, kep = keras_fit(seed_x, seed_y, len(seed_clf.vocab_), cfg.epochs)
        k_epoch = float(np.median(kep[1:] if len(kep) > 1 else kep))
        kprobs = kmodel.predict(seed_x_test, batch_size=1024, verbose=0)[:, 0]
        acc_keras = classification_report(test.labels, kprobs)["accuracy"]
        row("train", "seed's Keras model (TensorFlow): epoch time, median after the first", k_epoch, "s",
            f"{n_train / k_epoch:,.0f} samples/s; {len(kep)} epochs; test accuracy {acc_keras:.4f}")  # fmt: skip
        row("train", "speed-up, samples/s ksent / Keras", k_epoch / t_epoch, "x",
            f"accuracy difference {100 * (acc_torch - acc_keras):+.2f} points")  # fmt: skip
    else:
        row("train", "seed's Keras model", float("nan"), "", "TensorFlow not installed: skipped")

    # 4. inference, end to end (text in, probability out), no token cache. Weights do not change the
    # speed: the seed model is the one trained above, the default one gets one quick epoch.
    seed_clf.model_ = model
    default_clf = SentimentClassifier("default", device="cpu", cache=work / "cache-default")  # warm from step 2
    dx, dy, _ = default_clf.fit_prepare(train)
    default_clf.model_, _ = fit(resolve("default", ["epochs=1"]), dx, dy, len(default_clf.vocab_), "cpu", False)
    for name, clf in (("default", default_clf), ("seed", seed_clf)):
        clf.cache = False
        _, t = timed(clf.predict_proba, test.texts)
        row("inference", f"ksent {name}: batch predict_proba, {len(test):,} test reviews", len(test) / t, "reviews/s")
        lat = []
        for text in test.texts[: 50 if smoke else 300]:
            _, dt = timed(clf.predict_proba, [text])
            lat.append(dt * 1000)
        row("inference", f"ksent {name}: one review, p50", float(np.percentile(lat, 50)), "ms")
        row("inference", f"ksent {name}: one review, p99", float(np.percentile(lat, 99)), "ms")

    machine = (
        f"{os.cpu_count()} cores, {platform.machine()}, torch {torch.__version__} ({torch.get_num_threads()} threads)"
    )
    table = ["| section | measurement | value | unit | note |", "|---|---|---|---|---|"]
    table += [f"| {r['section']} | {r['what']} | {r['value']:,.2f} | {r['unit']} | {r['note']} |" for r in ROWS]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    header = f"{'smoke' if smoke else 'full'} run, {time.strftime('%Y-%m-%d')}, {machine}\n\n"
    args.out.with_suffix(".md").write_text(header + "\n".join(table) + "\n", encoding="utf-8")
    args.out.with_suffix(".json").write_text(json.dumps({"machine": machine, "rows": ROWS}, indent=1), encoding="utf-8")
    print(header + "\n".join(table))


if __name__ == "__main__":
    main()
