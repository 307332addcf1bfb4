"""The training loop, Keras `model.fit` semantics without Keras.

Validation = the last `val_split` of the rows (Keras' validation_split, which does not shuffle
first); training rows are reshuffled every epoch; early stopping watches validation loss
(patience `cfg.patience`); the weights kept are those of the epoch with the best validation
accuracy (Keras' ModelCheckpoint(monitor='val_acc', save_best_only=True)).

Beyond the seed (all off in the `seed` config): Adam or AdamW with weight decay, a one-cycle
learning rate, gradient clipping, bfloat16 autocast for the forward pass (`bf16`: weights,
gradients and the optimizer stay float32), length-bucketed batches (every batch holds reviews of
one length: with `pack`, no padding is computed and the LSTM runs its fused path), and an
ensemble: `members` LSTMs trained one after the other on seeds seed, seed+1, ..., each keeping its
own best epoch; with `syllable_members`, the last members read the review's characters instead of
its tokens (a view the token members lack: their errors differ, so the mean gains).

With a `checkpoint` (`ksent.checkpoint`; `ksent train` keeps one beside its output), each member's
state is saved after every finished epoch, and a run resumed from it continues where that epoch left
off: members already done are loaded, not trained again, and the model ends with the same bytes on
CPU as a run never stopped.
"""

import copy
import dataclasses
import functools
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ksent.checkpoint import Checkpoint, Slot
from ksent.config import Config
from ksent.errors import KsentError
from ksent.features import Block, FeatureSet
from ksent.models import Ensemble, LinearClassifier, LSTMClassifier, NetSpec, build_model, linear
from ksent.models.inference import evaluate_logits, resolve_device
from ksent.progress import bar, console


@dataclass(frozen=True)
class Member:
    """One network to train: what it is (`spec`, its columns included), for how long, from which seed."""

    spec: NetSpec
    epochs: int
    seed: int
    born_again: bool = False  # trained after the others, on their answers (`cfg.born_again`)


def members_of(cfg: Config, features: FeatureSet) -> list[Member]:
    """The networks a config trains over a fitted feature set, in order: each block's members
    (seeds seed, seed+1, ...), each reading that block's columns, then `cfg.born_again` more token
    members (seeds seed, seed+1, ...: each the student `ksent train --teacher` would make of that
    seed). A model of one network reads all the ids (its columns are None)."""
    blocks = features.member_blocks()
    one = len(blocks) == 1 and not cfg.born_again

    def spec(b: Block) -> NetSpec:
        columns = None if one else b.columns
        return NetSpec.from_config(cfg, b.featurizer.vocab_size, b.featurizer.kind, columns, b.featurizer.network)

    tokens = features.blocks[0]
    return [Member(spec(b), b.featurizer.epochs(cfg), cfg.seed + k) for k, b in enumerate(blocks)] + [
        Member(spec(tokens), tokens.featurizer.epochs(cfg), cfg.seed + j, born_again=True)
        for j in range(cfg.born_again)
    ]


def single(cfg: Config, vocab_size: int) -> list[Member]:
    """One network over `vocab_size` token ids: what to `fit` on arrays made outside a feature set."""
    return [Member(NetSpec.from_config(cfg, vocab_size), cfg.epochs, cfg.seed)]


def _cut(xb: torch.Tensor) -> torch.Tensor:
    """Drop the padding columns after the longest review of a post-padded batch (a packed model
    never reads them, so the result is exactly the same)."""
    longest = int((xb != 0).sum(dim=1).max()) if len(xb) else 0
    return xb[:, : max(longest, 1)]


def loss_accuracy(logits: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Mean binary cross-entropy and accuracy of logits (N,) against 0/1 labels (N,)."""
    t = torch.from_numpy(logits)
    loss = nn.functional.binary_cross_entropy_with_logits(t, torch.from_numpy(y).float()).item()
    return loss, float(((logits >= 0) == (y == 1)).mean())


def _optimizer(cfg: Config, model: nn.Module, steps: int):
    """The config's optimizer and, per step, its learning-rate scheduler (or None)."""
    # fused: one kernel per parameter instead of a dozen passes over it, the same update (the
    # embedding's 2 M weights made the optimizer a third of a `seed` step on CPU).
    kind = torch.optim.AdamW if cfg.optimizer == "adamw" else torch.optim.Adam
    opt = kind(model.parameters(), lr=cfg.lr, eps=cfg.adam_eps, weight_decay=cfg.weight_decay, fused=True)
    if cfg.schedule == "onecycle":
        return opt, torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=steps, pct_start=0.25)
    return opt, None


def _batches(n: int, cfg: Config, lengths: np.ndarray, rng: np.random.Generator) -> list[np.ndarray]:
    """One epoch's batches of row indices, in a shuffled order. Bucketed: every batch holds reviews
    of one length (random rows of that length), so a packed model reads no padding and the LSTM
    takes its fused unpacked path (a `best` member's epoch: 98.8 -> 46.7 s, docs/benchmarks.md)."""
    perm = rng.permutation(n)
    size = cfg.batch_size
    if not cfg.bucket:
        return [perm[i : i + size] for i in range(0, n, size)]
    perm = perm[np.argsort(lengths[perm], kind="stable")]  # by length; random order within a length
    starts = np.flatnonzero(np.r_[True, np.diff(lengths[perm]) != 0])
    out = [group[i : i + size] for group in np.split(perm, starts[1:]) for i in range(0, len(group), size)]
    return [out[k] for k in rng.permutation(len(out))]


def _n_batches(n: int, cfg: Config, lengths: np.ndarray) -> int:
    """How many batches `_batches` cuts an epoch into (the same every epoch)."""
    if not cfg.bucket:
        return (n + cfg.batch_size - 1) // cfg.batch_size
    counts = np.bincount(lengths)  # lengths of the n training rows
    return int(((counts + cfg.batch_size - 1) // cfg.batch_size).sum())


def _flushing() -> bool:
    """Whether this thread flushes denormal floats to zero (a denormal float32 then reads as 0)."""
    return torch.tensor([1e-39]).item() == 0.0


@contextmanager
def denormals_flushed() -> Iterator[None]:
    """Flush denormal floats to zero while training, as TensorFlow does in its threads (where the CPU
    and PyTorch support it; elsewhere nothing changes). Adam's moments of the embedding rows a batch
    does not touch decay by 0.9 a step into the denormal range (below 1.2e-38), where CPU arithmetic
    takes a slow path: a `seed` epoch's steps slowed down as it went, with no change in what it learns
    (docs/benchmarks.md, `benchmarks/levers.py --part denormals`). Set on this thread, which the
    compute threads it starts from now on inherit; restored on exit."""
    was = _flushing()
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(was)


def split(n: int, val_split: float) -> tuple[int, int]:
    """Training and validation row counts: the last `val_split` of `n` rows validate."""
    n_val = int(n * val_split)
    if n - n_val < 1 or n_val < 1:
        raise KsentError(f"need at least 2 usable training rows for a {val_split} validation split, got {n}")
    return n - n_val, n_val


def fit(
    cfg: Config,
    x: np.ndarray,
    y: np.ndarray,
    members: Sequence[Member],
    device: str = "auto",
    progress: bool = True,
    targets: np.ndarray | None = None,
    n_val: int | None = None,
    checkpoint: Checkpoint | None = None,
) -> tuple[nn.Module, dict]:
    """Train on padded ids `x` (N, T) and 0/1 labels `y` (N,). Returns the best model and its history.

    `members` are the networks to train (`members_of` a feature set, or `single`), by `cfg`'s recipe
    (optimizer, schedule, batches, patience), each on its own columns of `x`; several are trained one
    after the other and returned as their `Ensemble`, whose history lists each member's, with the
    ensemble's `best_val_accuracy`. `targets` (N,), when given, replace the labels in the training
    loss (soft targets in [0, 1]: a teacher's answers, `ksent.distill`); validation and the kept epoch
    still go by `y`. `n_val` fixes how many last rows validate (default: `cfg.val_split` of them),
    when rows were added before them. With a `checkpoint` (`ksent.checkpoint.Checkpoint.open`), every
    finished epoch is saved to it, and training resumes from what it holds (refused if `x`, `y` or
    `targets` differ from the arrays it was trained on).
    """
    with denormals_flushed():
        return _fit(cfg, x, y, list(members), device, progress, targets, n_val, checkpoint)


@functools.cache
def bf16_runs(device_type: str) -> bool:
    """Whether an LSTM runs under bfloat16 autocast here: oneDNN refuses it on CPUs without AVX-512
    (an AVX2-only AMD EPYC, say), so one tiny forward pass is asked rather than the CPU's name."""
    try:
        with torch.autocast(device_type, dtype=torch.bfloat16):
            nn.LSTM(2, 2, batch_first=True).to(device_type)(torch.zeros(1, 1, 2, device=device_type))
    except RuntimeError:
        return False
    return True


def _fit(cfg, x, y, members: list[Member], device, progress, targets, n_val, checkpoint) -> tuple[nn.Module, dict]:
    dev = resolve_device(device)
    if cfg.bf16 and not bf16_runs(dev.type):
        # The same recipe in float32 (slower, same result class) rather than no model on this machine.
        cfg = dataclasses.replace(cfg, bf16=False)
        if progress:
            console().print(f"bf16=true: this {dev.type} cannot run an LSTM under bfloat16; training in float32")
    precision = {"precision": "bfloat16 forward" if cfg.bf16 else "float32"}
    n_train, n_val = split(len(x), cfg.val_split) if n_val is None else (len(x) - n_val, n_val)
    widest = max((m.spec.columns.stop for m in members if m.spec.columns is not None), default=0)
    if x.shape[1] < widest:
        raise KsentError(f"x has {x.shape[1]} columns; this model's members read {widest}")
    if checkpoint is not None:
        checkpoint.check_inputs(x, y, targets, n_val, precision["precision"])
    slots = [checkpoint.member(k + 1) if checkpoint is not None else None for k in range(len(members))]
    if len(members) == 1:
        own = _own(x, members[0])
        model, history = _fit_one(cfg, members[0], own, y, n_train, dev, progress, "", targets, slots[0])
        return model, {**history, "n_train": n_train, "n_val": n_val, "device": str(dev), **precision}
    nets, histories = [], []
    for k, member in enumerate(members):
        reads = member.spec.reads
        tag = f"member {k + 1}/{len(members)} ({reads}): "
        own = _own(x, member)
        net, history = _fit_one(cfg, member, own, y, n_train, dev, progress, tag, targets, slots[k])
        nets.append(net)
        histories.append({**history, "reads": reads})
    model = Ensemble(nets).eval()
    val_loss, val_acc = loss_accuracy(evaluate_logits(model, x[n_train:], dev), y[n_train:])
    if progress:
        console().print(f"ensemble of {len(members)}: val_loss {val_loss:.4f} val_acc {val_acc:.4f}", soft_wrap=True)
    return model, {
        "epochs": histories[0]["epochs"],  # the learning curves drawn: member 1's
        "best_epoch": histories[0]["best_epoch"],
        "best_val_accuracy": val_acc,
        "val_loss": val_loss,
        "members": histories,
        "seconds": sum(h["seconds"] for h in histories),
        "n_train": n_train,
        "n_val": n_val,
        "device": str(dev),
        **precision,
    }


def _own(x: np.ndarray, member: Member) -> np.ndarray:
    """The columns of `x` a member reads (all of them when its spec names none)."""
    columns = member.spec.columns
    return x if columns is None else np.ascontiguousarray(x[:, columns])


def train_step(
    cfg: Config,
    model: nn.Module,
    opt: torch.optim.Optimizer,
    schedule: torch.optim.lr_scheduler.LRScheduler | None,
    xb: torch.Tensor,
    tb: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One update on one batch by `cfg`'s recipe: the forward pass (under bfloat16 autocast with
    `bf16`), the loss against the targets `tb` (B,) (0/1 labels, or soft targets in [0, 1]), with
    `adversarial` the loss on adversarially pushed embeddings added, backward, gradient clipping
    (`grad_clip`), the optimizer's step and the schedule's. `xb` (B, T) and `tb` are on the model's
    device. Returns the batch's logits (B,) and its (clean) loss, detached."""
    autocast = functools.partial(torch.autocast, xb.device.type, dtype=torch.bfloat16, enabled=cfg.bf16)
    with autocast():
        emb = model.embed(xb) if cfg.adversarial else None
        logits = (model(xb) if emb is None else model.classify(emb, xb)).float()  # (B,)
    loss = target_loss(cfg, logits, tb)
    total = loss
    if emb is not None:
        # The push is a constant: the second loss trains the embeddings and the network, as the first.
        push = adversarial_push(loss, emb, xb, cfg.adversarial)
        with autocast():
            pushed = model.classify(emb + push.to(emb.dtype), xb).float()
        total = loss + target_loss(cfg, pushed, tb)
    opt.zero_grad(set_to_none=True)
    total.backward()
    if cfg.grad_clip:
        nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
    opt.step()
    if schedule is not None:
        schedule.step()
    return logits.detach(), loss.detach()


LOGIT_EPS = 1e-3  # with distill_loss="logits", targets are clipped to [eps, 1 - eps]: a 0/1 label is a logit of ±6.9


def target_loss(cfg: Config, logits: torch.Tensor, tb: torch.Tensor) -> torch.Tensor:
    """The training loss of logits (B,) against targets in [0, 1] (B,): binary cross-entropy, or with
    `distill_loss="logits"` the mean squared distance to the targets' logits (Tang et al. 2019, arXiv
    1903.12136: a confident teacher's margin still teaches where cross-entropy's gradient has faded)."""
    if cfg.distill_loss == "logits":
        return nn.functional.mse_loss(logits, torch.logit(tb, eps=LOGIT_EPS))
    return nn.functional.binary_cross_entropy_with_logits(logits, tb)


def adversarial_push(loss: torch.Tensor, emb: torch.Tensor, ids: torch.Tensor, share: float) -> torch.Tensor:
    """Miyato, Dai & Goodfellow 2017 (arXiv 1605.07725): for each review, the push of its embeddings
    `emb` (B, T, E) that raises the batch `loss` most to first order, along the loss's gradient, of
    `share` x the norm of the review's embeddings (B, T, E; float32, detached; zero on padding)."""
    (g,) = torch.autograd.grad(loss, emb, retain_graph=True)
    real = (ids != 0).unsqueeze(-1)  # padding rows of the embedding are not the review

    def norm(t: torch.Tensor) -> torch.Tensor:
        return t.flatten(1).norm(dim=1).clamp(min=1e-12).view(-1, 1, 1)

    g = g.float() * real
    return share * norm(emb.detach().float() * real) * g / norm(g)


def _fit_one(
    cfg: Config,
    member: Member,
    x: np.ndarray,
    y: np.ndarray,
    n_train: int,
    dev: torch.device,
    progress: bool,
    tag: str,
    targets: np.ndarray | None = None,
    slot: Slot | None = None,
) -> tuple[LSTMClassifier, dict]:
    """One LSTM on its own columns `x`, by the recipe in `cfg`: the loop, top to bottom. With a
    checkpoint `slot`, it starts from the last epoch saved there and saves each epoch it finishes.
    A linear member is fitted by `_fit_linear` instead."""
    if member.spec.network == "linear":
        return _fit_linear(member, x, y, n_train, dev, progress, tag, targets, slot)
    x_tr, y_tr, x_val, y_val = x[:n_train], y[:n_train], x[n_train:], y[n_train:]
    t_tr = y_tr if targets is None else targets[:n_train]
    epochs = member.epochs
    torch.manual_seed(member.seed)
    rng = np.random.default_rng(member.seed)
    model = build_model([member.spec]).to(dev)
    model.columns = None  # it is given its own columns here
    lengths = (x_tr != 0).sum(axis=1)
    steps = _n_batches(n_train, cfg, lengths)
    opt, schedule = _optimizer(cfg, model, steps * epochs)
    xt, yt, tt = torch.from_numpy(x_tr), torch.from_numpy(y_tr).float(), torch.from_numpy(t_tr).float()

    history: list[dict] = []
    best_acc, best_state, best_epoch = -1.0, None, 0
    best_loss, wait, start, resumed = float("inf"), 0, 1, None
    # 0. resume: weights, optimizer, schedule and both RNGs as the last saved epoch left them
    saved = slot.load(model, opt, schedule, rng) if slot is not None else None
    if saved is not None:
        loop, best_state = saved
        history, best_acc, best_epoch = loop["history"], loop["best_acc"], loop["best_epoch"]
        best_loss, wait = loop["best_loss"], loop["wait"]
        resumed = len(history)
        start = epochs + 1 if loop["finished"] else resumed + 1
        if progress:
            done = "done" if loop["finished"] else "to continue"
            epochs_done = "epoch 1" if resumed == 1 else f"epochs 1-{resumed}"
            console().print(f"{tag}{epochs_done} from the checkpoint ({done})", soft_wrap=True)
    for epoch in range(start, epochs + 1):
        # 1. one pass over the shuffled training rows
        model.train()
        t0, seen, loss_sum, correct = time.perf_counter(), 0, 0.0, 0
        with bar(f"{tag}epoch {epoch}/{epochs}", steps, progress) as advance:
            for rows in _batches(n_train, cfg, lengths, rng):
                idx = torch.from_numpy(rows)
                xb, yb, tb = xt[idx], yt[idx], tt[idx]
                if cfg.pack:
                    xb = _cut(xb)  # a packed LSTM never reads the padding: do not even carry it
                xb, yb, tb = xb.to(dev), yb.to(dev), tb.to(dev)
                logits, loss = train_step(cfg, model, opt, schedule, xb, tb)
                loss_sum += loss.item() * len(idx)
                correct += int(((logits >= 0) == (yb == 1)).sum())
                seen += len(idx)
                advance(1, info=f"loss {loss_sum / seen:.4f} acc {correct / seen:.4f}")
        # 2. validation
        val_loss, val_acc = loss_accuracy(evaluate_logits(model, x_val, dev), y_val)
        seconds = time.perf_counter() - t0
        history.append(
            {
                "epoch": epoch,
                "loss": loss_sum / seen,
                "accuracy": correct / seen,
                "val_loss": val_loss,
                "val_accuracy": val_acc,
                "seconds": seconds,
            }
        )
        note = ""
        # 3. keep the weights of the best validation accuracy
        if val_acc > best_acc:
            best_acc, best_epoch = val_acc, epoch
            best_state = copy.deepcopy(model.state_dict())
            note = "  (best so far: kept)"
        if progress:
            console().print(
                f"{tag}epoch {epoch}: loss {loss_sum / seen:.4f} acc {correct / seen:.4f} "
                f"val_loss {val_loss:.4f} val_acc {val_acc:.4f} [{seconds:.1f}s]{note}",
                soft_wrap=True,
            )
        # 4. early stopping on validation loss
        if val_loss < best_loss:
            best_loss, wait = val_loss, 0
        else:
            wait += 1
        stop = wait >= cfg.patience
        if stop and progress:
            console().print(f"{tag}early stop: validation loss has not improved for {cfg.patience} epochs")
        # 5. save the finished epoch: a run killed from here on resumes from it
        if slot is not None:
            loop = {
                "history": history,
                "best_acc": best_acc,
                "best_epoch": best_epoch,
                "best_loss": best_loss,
                "wait": wait,
            }
            slot.save(epoch, model, opt, schedule, rng, best_state, stop or epoch == epochs, **loop)
        if stop:
            break
    model.load_state_dict(best_state)
    model.columns = member.spec.columns  # within its ensemble, it reads its block
    model.eval()
    return model, {
        "epochs": history,
        "best_epoch": best_epoch,
        "best_val_accuracy": best_acc,
        "seconds": sum(e["seconds"] for e in history),
        "seed": member.seed,
        **({"resumed_after_epoch": resumed} if resumed is not None else {}),
    }


LBFGS_STEPS = 500  # at most; L-BFGS stops earlier once the loss no longer changes


def _fit_linear(
    member: Member,
    x: np.ndarray,
    y: np.ndarray,
    n_train: int,
    dev: torch.device,
    progress: bool,
    tag: str,
    targets: np.ndarray | None = None,
    slot: Slot | None = None,
) -> tuple[LinearClassifier, dict]:
    """A linear member (`ksent.models.linear`) on its own columns `x`: its idf from the training rows,
    then scikit-learn's logistic regression objective (divided by C * n: the mean log loss plus
    |w|^2 / (2 C n)) minimised by full-batch L-BFGS, once, to convergence: deterministic, no epochs,
    learning rate or seed. Its history holds that one fit as epoch 1."""
    t0 = time.perf_counter()
    model = build_model([member.spec]).to(dev)
    model.columns = None
    saved = slot.load(model, None, None, None) if slot is not None else None  # saved finished: weights only
    if saved is not None:
        loop, best_state = saved
        model.load_state_dict(best_state)
        if progress:
            console().print(f"{tag}fitted already, from the checkpoint", soft_wrap=True)
        history = loop["history"]
    else:
        model.set_idf(x[:n_train])
        t_tr = torch.from_numpy((y if targets is None else targets)[:n_train]).float().to(dev)
        # the training rows as (row, id, TF-IDF value) triples: padding left out, a third of the work
        ids = torch.from_numpy(x[:n_train]).to(dev)
        real = ids != 0
        rows, ids, values = real.nonzero()[:, 0], ids[real], model.values(ids)[real]
        scale = 1.0 / (linear.C * n_train)
        opt = torch.optim.LBFGS(
            model.parameters(), max_iter=LBFGS_STEPS, history_size=20, line_search_fn="strong_wolfe",
            tolerance_grad=1e-6, tolerance_change=1e-10,
        )  # fmt: skip

        def objective() -> torch.Tensor:
            opt.zero_grad(set_to_none=True)
            logits = torch.zeros(n_train, device=dev).index_add(0, rows, model.weight[ids] * values) + model.bias
            loss = nn.functional.binary_cross_entropy_with_logits(logits, t_tr)
            loss = loss + 0.5 * scale * model.weight.square().sum()
            loss.backward()
            return loss

        with bar(f"{tag}L-BFGS", 1, progress) as advance:
            opt.step(objective)
            advance(1)
        model.eval()
        train_loss, train_acc = loss_accuracy(evaluate_logits(model, x[:n_train], dev), y[:n_train])
        val_loss, val_acc = loss_accuracy(evaluate_logits(model, x[n_train:], dev), y[n_train:])
        steps = int(opt.state[opt._params[0]]["n_iter"])
        seconds = time.perf_counter() - t0
        history = [
            {
                "epoch": 1,
                "loss": train_loss,
                "accuracy": train_acc,
                "val_loss": val_loss,
                "val_accuracy": val_acc,
                "seconds": seconds,
                "lbfgs_steps": steps,
            }
        ]
        if progress:
            console().print(
                f"{tag}linear, {steps} L-BFGS steps: loss {train_loss:.4f} acc {train_acc:.4f} "
                f"val_loss {val_loss:.4f} val_acc {val_acc:.4f} [{seconds:.1f}s]",
                soft_wrap=True,
            )
        if slot is not None:
            loop = {"history": history, "best_acc": val_acc, "best_epoch": 1, "best_loss": val_loss, "wait": 0}
            slot.save(1, model, None, None, None, model.state_dict(), True, **loop)
    model.columns = member.spec.columns
    model.eval()
    return model, {
        "epochs": history,
        "best_epoch": 1,
        "best_val_accuracy": history[0]["val_accuracy"],
        "seconds": history[0]["seconds"],
        "seed": member.seed,
        **({"resumed_after_epoch": 1} if saved is not None else {}),
    }
