"""Speed levers of issue #12, each measured on this machine: what the optimizer, bf16 and the
analyser cost, and what the alternatives would give.

    python benchmarks/levers.py            # every part, one line per measurement (minutes on 2 cores)
    python benchmarks/levers.py --part denormals   # one part only (step, inference, kiwi, denormals)
    python benchmarks/levers.py --smoke --model DIR   # a few steps and 500 reviews: every part runs

1. A `seed`-config training step (`ksent.train.train_step`; batch 64, length 30, vocabulary
   19,417, random ids): forward, backward and optimizer times with PyTorch's default Adam, the
   fused Adam ksent uses, and bf16 (where the CPU runs an LSTM under bfloat16 autocast).
2. A Kiwi model (--model DIR; the bundled model read Kiwi until `distilled`) on the 50,000 test
   reviews: its token featurizer's analysis alone (Kiwi, 2 threads), the model alone (float32 and
   under bf16 autocast, with its test accuracy), and a cache of analysed eojeols (each distinct
   space-separated word analysed once, the train file's words first): its speed, how many
   reviews keep the tokens whole-review analysis gives, and the accuracy without retraining.
3. Kiwi's options that could make it faster: threads, the multi-word and typo dictionaries.
4. Denormal floats: a whole `seed` epoch's steps (1,800, fused Adam, ids drawn as words are, by a
   1/rank law), timed in chunks, with flush-to-zero off and on, each in a fresh process. The
   embedding rows a batch does not touch keep Adam moments that decay by 0.9 a step; after some
   hundreds of steps untouched they are denormal, and every step's update reads them.
"""

import argparse
import dataclasses
import time
from contextlib import nullcontext

import numpy as np
import torch
from kiwipiepy import Kiwi
from machine import describe, fresh

from ksent.classifier import load
from ksent.config import resolve
from ksent.data import nsmc_path, read_labelled
from ksent.features import FeatureSet, Run
from ksent.features.tokens import cleaned
from ksent.metrics import classification_report
from ksent.models import build_model
from ksent.models.inference import evaluate_logits, p_positive
from ksent.text.tokenizers import kiwi_words
from ksent.train import bf16_runs, denormals_flushed, single, train_step

SEED_VOCAB, BATCH = 19_417, 64  # the `seed` config's vocabulary on NSMC, and its batch size


def seed_model(fused: bool, bf16: bool = False):
    """The `seed` config (bf16 as asked), its freshly initialised model and an Adam, default or fused."""
    cfg = dataclasses.replace(resolve("seed"), bf16=bf16)
    torch.manual_seed(0)
    model = build_model([m.spec for m in single(cfg, SEED_VOCAB)])
    return cfg, model, torch.optim.Adam(model.parameters(), lr=cfg.lr, eps=cfg.adam_eps, fused=fused)


def training_step(fused: bool, bf16: bool, steps: int = 250) -> str:
    """ms per `ksent.train.train_step` on random ids, split at the model's forward hook and the
    optimizer's step hooks: forward (the model), backward (loss, zero_grad, backward), optimizer."""
    if bf16 and not bf16_runs("cpu"):
        return "skipped: this CPU cannot run an LSTM under bfloat16 autocast (training falls back to float32)"
    cfg, model, opt = seed_model(fused, bf16)
    rng = np.random.default_rng(0)
    x = torch.from_numpy(rng.integers(0, SEED_VOCAB, (BATCH * steps, cfg.max_len)))
    y = torch.from_numpy(rng.integers(0, 2, BATCH * steps).astype(np.float32))
    marks: dict[str, float] = {}

    def mark(name: str):
        return lambda *_: marks.__setitem__(name, time.perf_counter())

    model.register_forward_hook(mark("forward"))
    opt.register_step_pre_hook(mark("backward"))
    opt.register_step_post_hook(mark("optimizer"))
    parts, warm = np.zeros(3), steps // 5
    for s in range(steps):
        xb, yb = x[s * BATCH : (s + 1) * BATCH], y[s * BATCH : (s + 1) * BATCH]
        t0 = time.perf_counter()
        train_step(cfg, model, opt, None, xb, yb)
        if s >= warm:
            t1, t2, t3 = marks["forward"], marks["backward"], marks["optimizer"]
            parts += (t1 - t0, t2 - t1, t3 - t2)
    f, b, o = 1000 * parts / (steps - warm)
    return f"{f + b + o:.2f} ms/step (forward {f:.2f}, backward {b:.2f}, optimizer {o:.2f})"


def epoch_chunks(flush: bool, steps: int = 1800, chunk: int = 300) -> list[float]:
    """Milliseconds per step of a `seed` epoch (`train_step`, fused Adam, float32), in chunks of
    `chunk` steps, with denormals flushed as `ksent.train.fit` flushes them, or not. Call in a fresh
    process: flush-to-zero is a per-thread mode, which compute threads inherit when they start."""
    with denormals_flushed() if flush else nullcontext():
        cfg, model, opt = seed_model(fused=True)
        rng = np.random.default_rng(0)
        law = 1.0 / np.arange(1, SEED_VOCAB)  # word ranks 1 .. vocab-1 (0 is padding)
        ids = rng.choice(np.arange(1, SEED_VOCAB), size=(BATCH * steps, cfg.max_len), p=law / law.sum())
        x = torch.from_numpy(ids)
        y = torch.from_numpy(rng.integers(0, 2, BATCH * steps).astype(np.float32))
        out, t0 = [], time.perf_counter()
        for s in range(steps):
            train_step(cfg, model, opt, None, x[s * BATCH : (s + 1) * BATCH], y[s * BATCH : (s + 1) * BATCH])
            if (s + 1) % chunk == 0:
                out.append(1000 * (time.perf_counter() - t0) / chunk)
                t0 = time.perf_counter()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--part", choices=("all", "step", "inference", "kiwi", "denormals"), default="all")
    ap.add_argument("--model", default=None, help="part 2's model folder (default: the bundled one); it must read Kiwi")
    ap.add_argument("--smoke", action="store_true", help="few steps and reviews: every part runs, numbers mean nothing")
    args = ap.parse_args()
    steps, chunk, limit = (15, 5, 500) if args.smoke else (None, 300, None)
    print(f"{time.strftime('%Y-%m-%d')}, {describe()}, torch {torch.__version__} ({torch.get_num_threads()} threads)")
    if args.part in ("all", "denormals"):  # 4. first: fresh processes, before this one's threads are busy
        for flush in (False, True):
            ms = fresh(epoch_chunks, flush, *((steps, chunk) if steps else ()))
            chunks = ", ".join(f"{m:.1f}" for m in ms)
            print(f"seed epoch, fused Adam, float32, flush-to-zero {'on' if flush else 'off'}: ms/step by chunks of "
                  f"{chunk} steps: {chunks}; epoch {sum(ms) * chunk / 1000:.1f} s", flush=True)  # fmt: skip
    if args.part in ("all", "step"):  # 1. the training step
        for fused, bf16 in ((False, False), (True, False), (False, True), (True, True)):
            print(f"seed step, {'fused' if fused else 'default'} Adam, {'bf16' if bf16 else 'float32'}:",
                  training_step(fused, bf16, *((steps,) if steps else ())), flush=True)  # fmt: skip
    if args.part in ("all", "inference"):
        inference(args.model, args.data_dir, limit)
    if args.part in ("all", "kiwi"):
        kiwi_options(args.data_dir, limit)


def ids_reading(features: FeatureSet, texts: list[str], token_docs: list[list[str]]) -> np.ndarray:
    """The model's ids for `texts`, its token block from `token_docs` (tokens as `Tokens.read` gives
    them, analysed some other way): every other block encodes the texts, each in its own columns."""
    x = np.zeros((len(texts), features.width), dtype=np.int64)
    for b in features.blocks:
        f = b.featurizer
        x[:, b.columns] = f.pad(f.vocab.encode_all(token_docs)) if f is features.tokens else f.encode(texts)
    return x


def inference(model: str | None, data_dir: str | None, limit: int | None) -> None:
    """2. a Kiwi model's inference (the bundled one's until it became a subword model), and an eojeol
    cache in front of it: each distinct word of the (cleaned) reviews analysed once, by the model's
    own token featurizer, and its tokens joined."""
    clf = load(model, device="cpu")
    if clf.config_.tokenizer != "kiwi":
        print(f"part 2 skipped: the model reads {clf.config_.tokenizer!r}, not Kiwi (--model DIR: a Kiwi model)")
        return
    features, run = clf.features_, Run(workers=2)
    tokens = features.tokens
    test = read_labelled(nsmc_path("test", data_dir)).head(limit)
    train = read_labelled(nsmc_path("train", data_dir)).head(limit)
    tokens.read(["워밍업"], run)
    t0 = time.perf_counter()
    whole = tokens.read(test.texts, run)
    rate = len(test) / (time.perf_counter() - t0)
    print(f"ksent's Kiwi analysis (2 threads{', tags' if tokens.tags else ''}), whole reviews: {rate:,.0f} reviews/s",
          flush=True)  # fmt: skip
    words = list(dict.fromkeys(w for t in cleaned(train.texts, tokens.clean) for w in t.split()))
    cache = dict(zip(words, tokens.read(words, run), strict=True))
    t0 = time.perf_counter()
    test_words = [t.split() for t in cleaned(test.texts, tokens.clean)]
    miss = list(dict.fromkeys(w for ws in test_words for w in ws if w not in cache))
    cache.update(zip(miss, tokens.read(miss, run), strict=True))
    by_word = [[tok for w in ws for tok in cache[w]] for ws in test_words]
    rate = len(test) / (time.perf_counter() - t0)
    same = np.mean([a == b for a, b in zip(whole, by_word, strict=True)])
    print(f"eojeol cache (train words cached, {len(miss):,} test words analysed): {rate:,.0f} reviews/s; "
          f"reviews with the same tokens as whole-review analysis: {same:.3f}", flush=True)  # fmt: skip
    for name, docs in (("whole-review tokens", whole), ("eojeol tokens", by_word)):
        x = ids_reading(features, test.texts, docs)
        for bf16 in (False, True):
            if bf16 and not bf16_runs("cpu"):
                print(f"the model alone, {name}, bf16: skipped: this CPU cannot run an LSTM under bfloat16 autocast")
                continue
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                t0 = time.perf_counter()
                logits = evaluate_logits(clf.model_, x)
                rate = len(x) / (time.perf_counter() - t0)
            acc = classification_report(test.labels, p_positive(logits))["accuracy"]
            print(f"the model alone, {name}, {'bf16' if bf16 else 'float32'}: {rate:,.0f} reviews/s, "
                  f"test accuracy {acc:.5f}", flush=True)  # fmt: skip


def kiwi_options(data_dir: str | None, limit: int | None) -> None:
    """3. Kiwi's options (each changes some tokens: a model would need retraining)."""
    test = read_labelled(nsmc_path("test", data_dir))
    texts = list(dict.fromkeys(test.texts))[: limit or 30_000]
    base = None
    for label, kw in (
        ("2 threads", {"num_workers": 2}),
        ("1 thread", {"num_workers": 1}),
        ("2 threads, no multi-word dictionary", {"num_workers": 2, "load_multi_dict": False}),
        ("2 threads, no typo dictionary", {"num_workers": 2, "load_typo_dict": False}),
    ):
        k = Kiwi(**kw)
        k.tokenize("워밍업")
        t0 = time.perf_counter()
        out = [kiwi_words(t, True) for t in k.tokenize(texts)]
        rate = len(texts) / (time.perf_counter() - t0)
        base = base or out
        same = np.mean([a == b for a, b in zip(out, base, strict=True)])
        print(f"Kiwi, {label}: {rate:,.0f} reviews/s; same tokens as 2 threads: {same:.3f}", flush=True)


if __name__ == "__main__":
    main()
