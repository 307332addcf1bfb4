"""Speed levers of issue #12, each measured on this machine: what the optimizer, bf16 and the
analyser cost, and what the alternatives would give.

    python benchmarks/levers.py            # every part, one line per measurement (minutes on 2 cores)
    python benchmarks/levers.py --part denormals   # one part only (step, inference, kiwi, denormals)

1. A `seed`-config training step (batch 64, length 30, vocabulary 19,417, random ids): forward,
   backward and optimizer times with PyTorch's default Adam, the fused Adam ksent uses, and bf16.
2. A Kiwi model (--model DIR; the bundled model read Kiwi until `distilled`) on the 50,000 test
   reviews: Kiwi alone, the model alone (float32 and under bf16 autocast, with its test
   accuracy), and a cache of analysed eojeols (each distinct
   space-separated word analysed once, the train file's words first): its speed, how many
   reviews keep the tokens whole-review analysis gives, and the accuracy without retraining.
3. Kiwi's options that could make it faster: threads, the multi-word and typo dictionaries.
4. Denormal floats: a whole `seed` epoch's steps (1,800, fused Adam, ids drawn as words are, by a
   1/rank law), timed in chunks, with flush-to-zero off and on, each in a fresh process. The
   embedding rows a batch does not touch keep Adam moments that decay by 0.9 a step; after some
   hundreds of steps untouched they are denormal, and every step's update reads them.
"""

import argparse
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

import numpy as np
import torch
from kiwipiepy import Kiwi
from ksent.text.pipeline import encode
from machine import describe
from torch import nn

from ksent.classifier import load
from ksent.config import resolve
from ksent.data import nsmc_path, read_labelled
from ksent.models import build_model
from ksent.text.tokenizers import kiwi_words
from ksent.train import evaluate_logits


def training_step(fused: bool, bf16: bool, steps: int = 250) -> str:
    cfg, vocab, batch = resolve("seed"), 19_417, 64
    rng = np.random.default_rng(0)
    x = torch.from_numpy(rng.integers(0, vocab, (batch * steps, 30)))
    y = torch.from_numpy(rng.integers(0, 2, batch * steps).astype(np.float32))
    torch.manual_seed(0)
    model = build_model(cfg, vocab)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7, fused=fused)
    parts = np.zeros(3)
    for s in range(steps):
        xb, yb = x[s * batch : (s + 1) * batch], y[s * batch : (s + 1) * batch]
        t0 = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            logits = model(xb).float()
        loss = nn.functional.binary_cross_entropy_with_logits(logits, yb)
        t1 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        t2 = time.perf_counter()
        opt.step()
        t3 = time.perf_counter()
        if s >= 50:  # after warm-up
            parts += (t1 - t0, t2 - t1, t3 - t2)
    f, b, o = 1000 * parts / (steps - 50)
    return f"{f + b + o:.2f} ms/step (forward {f:.2f}, backward {b:.2f}, optimizer {o:.2f})"


def epoch_chunks(flush: bool, steps: int = 1800, chunk: int = 300) -> list[float]:
    """Milliseconds per step of a `seed` epoch, in chunks of `chunk` steps. Call in a fresh process:
    flush-to-zero is a per-thread mode, which compute threads inherit when they start."""
    if flush:
        torch.set_flush_denormal(True)
    cfg, vocab, batch = resolve("seed"), 19_417, 64
    rng = np.random.default_rng(0)
    law = 1.0 / np.arange(1, vocab)  # word ranks 1 .. vocab-1 (0 is padding)
    x = torch.from_numpy(rng.choice(np.arange(1, vocab), size=(batch * steps, 30), p=law / law.sum()))
    y = torch.from_numpy(rng.integers(0, 2, batch * steps).astype(np.float32))
    torch.manual_seed(0)
    model = build_model(cfg, vocab)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7, fused=True)
    out, t0 = [], time.perf_counter()
    for s in range(steps):
        xb, yb = x[s * batch : (s + 1) * batch], y[s * batch : (s + 1) * batch]
        loss = nn.functional.binary_cross_entropy_with_logits(model(xb), yb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if (s + 1) % chunk == 0:
            out.append(1000 * (time.perf_counter() - t0) / chunk)
            t0 = time.perf_counter()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--part", choices=("all", "step", "inference", "kiwi", "denormals"), default="all")
    ap.add_argument("--model", default=None, help="part 2's model folder (default: the bundled one); it must read Kiwi")
    args = ap.parse_args()
    print(f"{time.strftime('%Y-%m-%d')}, {describe()}, torch {torch.__version__} ({torch.get_num_threads()} threads)")
    if args.part in ("all", "denormals"):  # 4. first: fresh processes, before this one's threads are busy
        for flush in (False, True):
            with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
                ms = pool.submit(epoch_chunks, flush).result()
            chunks = ", ".join(f"{m:.1f}" for m in ms)
            print(f"seed epoch, fused Adam, float32, flush-to-zero {'on' if flush else 'off'}: ms/step by chunks of "
                  f"300 steps: {chunks}; epoch {sum(ms) * 300 / 1000:.1f} s", flush=True)  # fmt: skip
    if args.part in ("all", "step"):  # 1. the training step
        for fused, bf16 in ((False, False), (True, False), (False, True), (True, True)):
            print(f"seed step, {'fused' if fused else 'default'} Adam, {'bf16' if bf16 else 'float32'}:",
                  training_step(fused, bf16), flush=True)  # fmt: skip
    if args.part in ("all", "inference"):
        inference(args)
    if args.part in ("all", "kiwi"):
        kiwi_options(args)


def inference(args) -> None:
    """2. a Kiwi model's inference (the bundled one's until it became a subword model), and an eojeol
    cache in front of it."""
    clf = load(args.model, device="cpu") if args.model else load(device="cpu")
    if clf.config_.tokenizer != "kiwi":
        print(f"part 2 skipped: the model reads {clf.config_.tokenizer!r}, not Kiwi (--model DIR: a Kiwi model)")
        return
    tags = clf.config_.tags
    test = read_labelled(nsmc_path("test", args.data_dir))
    train = read_labelled(nsmc_path("train", args.data_dir))
    y = np.asarray(test.labels)
    kiwi = Kiwi(num_workers=2)
    kiwi.tokenize("워밍업")
    t0 = time.perf_counter()
    whole = [kiwi_words(t, tags) for t in kiwi.tokenize(test.texts)]
    rate = len(y) / (time.perf_counter() - t0)
    print(f"Kiwi (2 threads{', tags' if tags else ''}), whole reviews: {rate:,.0f} reviews/s", flush=True)
    words = list(dict.fromkeys(w for t in train.texts for w in t.split()))
    cache = dict(zip(words, (kiwi_words(t, tags) for t in kiwi.tokenize(words)), strict=True))
    t0 = time.perf_counter()
    miss = list(dict.fromkeys(w for t in test.texts for w in t.split() if w not in cache))
    cache.update(zip(miss, (kiwi_words(t, tags) for t in kiwi.tokenize(miss)), strict=True))
    by_word = [[tok for w in t.split() for tok in cache[w]] for t in test.texts]
    rate = len(y) / (time.perf_counter() - t0)
    same = np.mean([a == b for a, b in zip(whole, by_word, strict=True)])
    print(f"eojeol cache (train words cached, {len(miss):,} test words analysed): {rate:,.0f} reviews/s; "
          f"reviews with the same tokens as whole-review analysis: {same:.3f}", flush=True)  # fmt: skip
    for name, docs in (("whole-review tokens", whole), ("eojeol tokens", by_word)):
        x = encode(docs, clf.vocab_, clf.config_, test.texts)
        for bf16 in (False, True):
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                t0 = time.perf_counter()
                logits = evaluate_logits(clf.model_, x, torch.device("cpu"))
                rate = len(x) / (time.perf_counter() - t0)
            acc = float(((logits >= 0) == (y == 1)).mean())
            print(f"the model alone, {name}, {'bf16' if bf16 else 'float32'}: {rate:,.0f} reviews/s, "
                  f"test accuracy {acc:.5f}", flush=True)  # fmt: skip


def kiwi_options(args) -> None:
    """3. Kiwi's options (each changes some tokens: a model would need retraining)."""
    test = read_labelled(nsmc_path("test", args.data_dir))
    texts = list(dict.fromkeys(test.texts))[:30_000]
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
