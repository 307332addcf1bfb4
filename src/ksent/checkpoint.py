"""Checkpoints of a training run, what `ksent train --resume` continues from.

A checkpoint is a folder beside the model folder (`runs/best` -> `runs/.best.checkpoint`), filled
as training goes and removed once the model folder is written:

  checkpoint.json       whose run it is: the config, the training file's rows (name, count, SHA-256),
                        the teacher's weights (SHA-256), the device; a run that differs is refused
  inputs.json           a SHA-256 of the arrays the loop trains on (ids, labels, targets) and the
                        precision, checked once the rows are encoded (a new analyser changes the ids)
  teacher/              the teacher's answers (distilled configs): the rows and targets it made
  member-K.epoch-N/     member K (from 1) after its epoch N: tensors.safetensors and state.json

A member's folder holds everything its next epoch reads: the weights and the best epoch's weights,
Adam's moments and step, the learning-rate schedule, numpy's and torch's random states, the history
and early stopping's counters; once the member is done, only its kept weights and history. Resumed
from it, training goes on exactly as if never stopped: on CPU the model ends with the same bytes.

Each part is written under a temporary name and renamed into place, so a part that exists is whole
(a member's newer epoch is in place before its older one is removed). Tensors are in safetensors,
the rest in JSON: no pickle.
"""

import hashlib
import json
import os
import re
import shutil
import tempfile
from pathlib import Path

import numpy as np
import torch
from safetensors.numpy import load_file as load_arrays
from safetensors.numpy import save_file as save_arrays
from safetensors.torch import load_file, save_file

from ksent import atomic
from ksent.config import Config
from ksent.data import Labelled, fingerprint
from ksent.errors import KsentError
from ksent.progress import notice

FORMAT = "ksent-checkpoint"
FORMAT_VERSION = 1
FIX = "train with --restart to start over (that discards it), or remove it"


def beside(out: str | Path) -> Path:
    """The checkpoint folder of model folder `out`: its hidden sibling `.NAME.checkpoint`."""
    out = Path(out)
    if out.name in ("", ".", ".."):
        out = out.resolve()
    return out.with_name(f".{out.name}.checkpoint")


def digest(tensors: dict[str, torch.Tensor]) -> str:
    """A SHA-256 of named tensors (a teacher's weights): the same weights, the same digest."""
    h = hashlib.sha256()
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        h.update(f"{name} {t.dtype} {tuple(t.shape)}\n".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def identity(cfg: Config, data: Labelled, device: str, teacher: str | None = None) -> dict:
    """What makes a run the same run: its config, its rows, its teacher's weights (a `digest`), its device."""
    return {
        "config": cfg.to_dict(),
        "data": {"file": data.path.name, "rows": len(data), "fingerprint": fingerprint(data)},
        "teacher": teacher,
        "device": device,
    }


def _read_json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise KsentError(f"{path} cannot be read ({e}); the checkpoint is damaged: {FIX}") from None


def _short(value) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 40 else text[:37] + "..."


def holds_work(path: Path) -> bool:
    """Whether a checkpoint folder holds anything a resumed run would reuse (beyond whose run it is)."""
    return any(p.name not in ("checkpoint.json", "inputs.json") and not p.name.startswith(".") for p in path.iterdir())


DEFAULTS = json.loads(json.dumps(Config().to_dict()))  # a field a checkpoint predates means its default


def _differences(saved: dict, now: dict) -> list[str]:
    """What differs between a checkpoint's run and this one, in words."""
    if (saved.get("format"), saved.get("format_version")) != (FORMAT, FORMAT_VERSION):
        return [f"checkpoint format {saved.get('format_version')!r}; this ksent writes {FORMAT_VERSION}"]
    out = []
    theirs, ours = saved.get("config") or {}, now.get("config") or {}
    if isinstance(theirs, dict):  # a field added since the checkpoint was written means its default there
        theirs = {**{k: DEFAULTS[k] for k in ours if k in DEFAULTS and k not in theirs}, **theirs}
    fields = [k for k in dict.fromkeys([*theirs, *ours]) if theirs.get(k) != ours.get(k)]
    if fields:
        shown = "; ".join(f"{k} {_short(theirs.get(k))} there, {_short(ours.get(k))} here" for k in fields[:3])
        more = len(fields) - 3
        out.append(f"config: {shown}" + (f"; {more} more field{'s' if more > 1 else ''}" if more > 0 else ""))
    theirs, ours = saved.get("data"), now.get("data")
    if theirs != ours and ours is not None:
        there, here = (f"{d['file']} ({d['rows']:,} rows)" if d else "none" for d in (theirs, ours))
        out.append(
            f"training rows: {here} with other contents"
            if there == here
            else f"training rows: {there} there, {here} here"
        )
    there, here = saved.get("teacher"), now.get("teacher")
    if there != here:
        which = {True: "one", False: "none"}
        out.append(
            "teacher: another model"
            if there and here
            else f"teacher: {which[bool(there)]} there, {which[bool(here)]} here"
        )
    if saved.get("device") != now.get("device"):
        out.append(f"device: {saved.get('device')} there, {now.get('device')} here")
    return out


def remove(path: str | Path) -> None:
    """Remove a checkpoint folder (nothing if there is none). It is renamed away first, so a removal cut
    short never leaves a half checkpoint that could be resumed."""
    path = Path(path)
    if not path.exists():
        return
    if not path.is_dir():
        raise KsentError(f"{path} is a file, not a ksent checkpoint folder: move it out of the way")
    if not (path / "checkpoint.json").is_file() and any(path.iterdir()):
        raise KsentError(f"{path} exists but is not a ksent checkpoint (no checkpoint.json): move it out of the way")
    gone = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.old-"))
    os.rmdir(gone)
    os.replace(path, gone)
    shutil.rmtree(gone)


class Checkpoint:
    """An open checkpoint folder: `open` one, hand it to `ksent.train.fit` (and keep the teacher's
    answers in it); `remove` it once the model is saved."""

    def __init__(self, path: Path):
        self.path = path

    @classmethod
    def open(
        cls, path: str | Path, identity: dict, resume: bool = False, progress: bool = False, restart: bool = False
    ) -> "Checkpoint":
        """The checkpoint at `path` for the run `identity` describes (JSON data, e.g. `identity(...)`).

        With `resume`, an existing checkpoint is continued if it is of the same run, and refused (one
        line saying what differs) if not; with none there, training starts from the beginning. With
        `restart`, any checkpoint there is discarded and training starts from the beginning. With
        neither, an existing checkpoint that holds work (an epoch, the teacher's answers) is refused: it
        may hold hours of it, and a rerun that forgot --resume must not discard them; one that holds
        none (a run that failed before its first epoch) is replaced. `progress`: say which, on stderr."""
        from ksent._version import __version__

        if resume and restart:
            raise KsentError("resume continues a checkpoint and restart discards it: choose one")
        path = Path(path)
        now = json.loads(json.dumps(identity))  # as it reads back from the file
        there = (path / "checkpoint.json").is_file()
        if resume and path.exists():
            if not there:
                raise KsentError(f"{path} exists but is not a ksent checkpoint (no checkpoint.json): move it away")
            differs = _differences(_read_json(path / "checkpoint.json"), now)
            if differs:
                raise KsentError(f"{path} is the checkpoint of another run ({'; '.join(differs)}): {FIX}")
            if progress:
                notice(f"resuming from the checkpoint {path}")
            return cls(path)
        if there and not restart and holds_work(path):
            differs = _differences(_read_json(path / "checkpoint.json"), now)
            whose = f"another run ({'; '.join(differs)})" if differs else "this same run"
            go_on = "" if differs else "--resume (resume=True) continues it; "
            raise KsentError(
                f"{path} holds the checkpoint of {whose}: {go_on}--restart (restart=True) "
                "discards it and trains from the start"
            )
        if progress and resume:
            notice(f"resume: there is no checkpoint at {path}; training from the start")
        elif progress and there:
            said = f"restart: discarding the checkpoint at {path}"
            notice(said if restart else f"replacing the checkpoint at {path} (it holds no finished work)")
        remove(path)
        with atomic.replacing_folder(path) as tmp:
            meta = {"format": FORMAT, "format_version": FORMAT_VERSION, "ksent_version": __version__}
            atomic.write_json(tmp / "checkpoint.json", {**meta, "torch_version": torch.__version__, **now})
        return cls(path)

    def check_inputs(self, x: np.ndarray, y: np.ndarray, targets: np.ndarray | None, n_val: int, precision: str):
        """Record what the loop trains on; a resumed run must train on exactly that."""
        now = {"sha256": _sha256(x, y, targets, n_val), "precision": precision}
        f = self.path / "inputs.json"
        if not f.is_file():
            atomic.write_text(f, json.dumps(now))
            return
        saved = _read_json(f)
        if saved.get("precision") != precision:
            raise KsentError(
                f"{self.path} trained in {saved.get('precision')}; here the same config trains in {precision} "
                f"(a CPU without bfloat16 LSTMs?): resume on the machine that wrote it, or {FIX}"
            )
        if saved != now:
            raise self._other_ids()

    def _other_ids(self) -> KsentError:
        return KsentError(
            f"{self.path}: the ids this run trains on differ from the checkpoint's, though the config and rows "
            f"are the same (another analyser or ksent version?): {FIX}"
        )

    # -- the teacher's answers ---------------------------------------------------------------

    def answers(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, dict] | None:
        """The teacher's answers for the rows `x`, `y` (as `distill.teach` returns them: x, y, targets,
        n_val, info) if `save_answers` kept them; refused if they were made for other ids."""
        folder = self.path / "teacher"
        if not folder.is_dir():
            return None
        meta = _read_json(folder / "teacher.json")
        if meta.get("rows_sha256") != _sha256(x, y):
            raise self._other_ids()
        a = _read(folder / "answers.safetensors", load_arrays)
        return a["x"], a["y"], a["targets"], meta["n_val"], meta["info"]

    def save_answers(self, x: np.ndarray, y: np.ndarray, answers: tuple) -> None:
        """Keep the teacher's `answers` (what `distill.teach` returned) for the rows `x`, `y`."""
        x2, y2, targets, n_val, info = answers
        with atomic.replacing_folder(self.path / "teacher") as tmp:
            save_arrays({"x": x2, "y": y2, "targets": targets}, tmp / "answers.safetensors")
            atomic.write_json(tmp / "teacher.json", {"rows_sha256": _sha256(x, y), "n_val": n_val, "info": info})

    def stage(self, name: str) -> "Checkpoint":
        """A later stage of the run with its own inputs, teacher's answers and members, in a subfolder
        (a born-again member's: it trains on other rows than the members before it)."""
        (self.path / name).mkdir(exist_ok=True)
        return Checkpoint(self.path / name)

    # -- members -------------------------------------------------------------------------------

    def member(self, k: int) -> "Slot":
        """Where member `k` (from 1) keeps its epochs."""
        return Slot(self.path, k)


def _sha256(x: np.ndarray, y: np.ndarray, targets: np.ndarray | None = None, n_val: int | None = None) -> str:
    """A SHA-256 of training arrays: ids (N, T), labels, targets, how many rows validate."""
    h = hashlib.sha256(f"{n_val} {x.dtype} {x.shape} {y.dtype} {y.shape}\n".encode())
    for a in (x, y, targets if targets is not None else np.zeros(0)):
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def _read(path: Path, reader):
    try:
        return reader(path)
    except Exception as e:  # safetensors raises its own error types for damaged files
        raise KsentError(f"{path} cannot be read ({e}); the checkpoint is damaged: {FIX}") from None


class Slot:
    """One member's epochs in a checkpoint: `save` after each finished epoch, `load` to resume."""

    def __init__(self, root: Path, k: int):
        self.root, self.k = root, k

    def _saved(self) -> list[tuple[int, Path]]:
        found = (re.fullmatch(rf"member-{self.k}\.epoch-(\d+)", p.name) for p in self.root.iterdir())
        return sorted((int(m[1]), self.root / m[0]) for m in found if m)

    def save(
        self,
        epoch: int,
        model: torch.nn.Module,
        opt: torch.optim.Optimizer,
        schedule: torch.optim.lr_scheduler.LRScheduler | None,
        rng: np.random.Generator,
        best_state: dict[str, torch.Tensor],
        finished: bool,
        **loop,
    ) -> None:
        """The member after `epoch`: `loop` holds the loop's plain values (history, best_acc, ...), JSON.
        A finished member keeps only its best weights and history: it is not trained again."""
        tensors = {f"best/{k}": v for k, v in best_state.items()}
        state = {"epoch": epoch, "finished": finished, **loop}
        if not finished:
            tensors |= {f"model/{k}": v for k, v in model.state_dict().items()}
            opt_state = opt.state_dict()
            state["optimizer"] = {"param_groups": opt_state["param_groups"], "state": {}}
            for i, entries in opt_state["state"].items():  # Adam: step, exp_avg, exp_avg_sq per parameter
                for key, v in entries.items():
                    if isinstance(v, torch.Tensor):
                        tensors[f"optimizer/{i}/{key}"] = v
                    else:
                        state["optimizer"]["state"].setdefault(str(i), {})[key] = v
            state["schedule"] = schedule.state_dict() if schedule is not None else None
            state["numpy_rng"] = rng.bit_generator.state
            tensors["rng/torch"] = torch.get_rng_state()  # dropout's draws
            device = next(model.parameters()).device
            if device.type == "cuda":
                tensors["rng/cuda"] = torch.cuda.get_rng_state(device)
        with atomic.replacing_folder(self.root / f"member-{self.k}.epoch-{epoch}") as tmp:
            save_file({k: v.detach().cpu().contiguous() for k, v in tensors.items()}, tmp / "tensors.safetensors")
            atomic.write_json(tmp / "state.json", state)
        for older, folder in self._saved():
            if older != epoch:
                shutil.rmtree(folder)

    def load(
        self,
        model: torch.nn.Module,
        opt: torch.optim.Optimizer,
        schedule: torch.optim.lr_scheduler.LRScheduler | None,
        rng: np.random.Generator,
    ) -> tuple[dict, dict[str, torch.Tensor]] | None:
        """Restore the member's last saved epoch into the freshly built `model`, `opt`, `schedule`, `rng`
        and torch's random state (a finished member's: nothing to restore). Returns the loop's values
        (what `save` got as `loop`, and `finished`) and the best weights, or None if nothing is saved."""
        saved = self._saved()
        if not saved:
            return None
        folder = saved[-1][1]
        state = _read_json(folder / "state.json")
        tensors = _read(folder / "tensors.safetensors", load_file)

        def part(prefix: str) -> dict[str, torch.Tensor]:
            return {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}

        if not state["finished"]:
            model.load_state_dict(part("model/"))
            groups = state["optimizer"]["param_groups"]
            for group, fresh in zip(groups, opt.param_groups, strict=True):
                group |= {k: tuple(group[k]) for k, v in fresh.items() if isinstance(v, tuple)}  # betas: JSON lists
            entries: dict[int, dict] = {}
            for name, v in part("optimizer/").items():
                i, key = name.split("/", 1)
                entries.setdefault(int(i), {})[key] = v
            for i, plain in state["optimizer"]["state"].items():
                entries.setdefault(int(i), {}).update(plain)
            opt.load_state_dict({"state": entries, "param_groups": groups})
            if schedule is not None:
                schedule.load_state_dict(state["schedule"])
            rng.bit_generator.state = state["numpy_rng"]
            torch.set_rng_state(tensors["rng/torch"])
            if "rng/cuda" in tensors:
                torch.cuda.set_rng_state(tensors["rng/cuda"], next(model.parameters()).device)
        loop = {k: v for k, v in state.items() if k not in ("epoch", "optimizer", "schedule", "numpy_rng")}
        return loop, part("best/")
