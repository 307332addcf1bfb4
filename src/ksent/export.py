"""`ksent export`: a trained model folder -> an ONNX export that runs without torch (`ksent.exported`).

The graph is built op by op from the weights (no tracing): ids (B, T) int64 -> logit (B,). Each
member slices its own columns, embeds them, runs ONNX's LSTM with each review's length as
`sequence_lens` (a packed model reads only its real tokens, exactly as PyTorch's packed sequences;
the seed's unpacked model reads every step), pools or takes its last state as the model's readout,
and applies its head; an ensemble averages its members' logits (a fitted one weighs them and adds
its bias). Lengths are dynamic, so one graph answers any batch.

The export folder: model.onnx (float32 arithmetic; weights that float16 holds exactly, as a model
saved with --half has, stored as float16; the weights are also outputs, so explain steps the LSTM
in numpy without torch), optionally model.int8.onnx (ONNX Runtime's dynamic int8 quantization,
DynamicQuantizeLSTM), vocab.json (the feature set's sections, as a model folder's),
config.json (format "ksent-export": the run config, the members' specs, the tokenizer's provenance)
and metrics.json. Written under a temporary name and renamed into place.
"""

import dataclasses
import json
import logging
from pathlib import Path

import numpy as np

from ksent import atomic
from ksent.errors import KsentError

FORMAT = "ksent-export"
# 2: vocab.json keeps learnt subword models as the tokenizer's own text; 3: config "combine" and each
# member's "weight" (a fitted ensemble's weights are in the graph)
FORMAT_VERSION = 3
OPSET = 18  # Reduce* take their axes as an input from 18 on
TORCH_TO_ONNX_GATES = (0, 3, 1, 2)  # PyTorch stacks the gates i, f, g, o; ONNX's LSTM wants i, o, f, c


def _gates(w: np.ndarray, hidden: int) -> np.ndarray:
    return np.concatenate([w[k * hidden : (k + 1) * hidden] for k in TORCH_TO_ONNX_GATES], axis=0)


class _Graph:
    """Nodes and constants, each given a fresh name. With `half`, weights that float16 holds exactly
    (a model folder saved with --half) are stored as float16 and cast back on load: half the file,
    the same numbers. `exposed`: (output name, value name, shape) of the weights the graph also
    answers with."""

    def __init__(self, half: bool = False):
        self.nodes, self.constants, self.n, self.half, self.exposed = [], [], 0, half, []

    def _name(self, base: str) -> str:
        self.n += 1
        return f"{base}_{self.n}"

    def const(self, base: str, value) -> str:
        from onnx import numpy_helper

        name = self._name(base)
        self.constants.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def weight(self, base: str, value: np.ndarray, expose: str | None = None) -> str:
        """A trained weight (float32); `expose`: also a graph output of that name (explain reads it)."""
        from onnx import TensorProto

        if self.half and np.array_equal(value.astype(np.float16).astype(np.float32), value):
            name = self.op("Cast", [self.const(base, value.astype(np.float16))], to=TensorProto.FLOAT)
        else:
            name = self.const(base, value)
        if expose:
            self.exposed.append((expose, name, value.shape))
        return name

    def op(self, op_type: str, inputs: list[str], n_out: int = 1, **attrs):
        from onnx import helper

        outs = [self._name(op_type.lower()) for _ in range(n_out)]
        self.nodes.append(helper.make_node(op_type, inputs, outs, **attrs))
        return outs[0] if n_out == 1 else outs


def _own_columns(g: _Graph, ids: str, columns: slice | None) -> str:
    if columns is None:
        return ids
    i64 = lambda v: np.array(v, dtype=np.int64)  # noqa: E731
    return g.op("Slice", [ids, g.const("start", i64([columns.start])), g.const("stop", i64([columns.stop])),
                          g.const("axis", i64([1]))])  # fmt: skip


def _linear(g: _Graph, columns: slice | None, weights: dict[str, np.ndarray], ids: str, k: int) -> str:
    """A linear member (`ksent.models.linear`), member `k` -> its logit (B,): each n-gram's weight times
    its idf, over the row's idf norm, plus the bias. Weights exposed as `weights.{k}.{weight,idf,bias}`."""
    ids = _own_columns(g, ids, columns)
    axis = g.const("axis", np.array([1], dtype=np.int64))
    w = g.op("Gather", [g.weight("weight", weights["weight"], f"weights.{k}.weight"), ids])  # (B, T)
    v = g.op("Gather", [g.weight("idf", weights["idf"], f"weights.{k}.idf"), ids])  # (B, T): padding 0
    norm = g.op("Sqrt", [g.op("ReduceSum", [g.op("Mul", [v, v]), axis], keepdims=1)])
    norm = g.op("Max", [norm, g.const("tiny", np.array(1e-12, dtype=np.float32))])
    total = g.op("ReduceSum", [g.op("Mul", [w, g.op("Div", [v, norm])]), axis], keepdims=0)
    return g.op("Add", [total, g.weight("bias", weights["bias"], f"weights.{k}.bias")])  # (B,)


def _member(g: _Graph, spec, columns: slice | None, weights: dict[str, np.ndarray], ids: str, k: int) -> str:
    """One LSTM classifier (`spec`: its `NetSpec`; `weights`: its state, float32), member `k` of the
    model -> its logit (B,). Its weights are also outputs named `weights.{k}.*` (`_Graph.exposed`)."""
    from onnx import TensorProto

    if spec.network == "linear":
        return _linear(g, columns, weights, ids, k)
    i64, i32, f32 = (lambda v, t=t: np.array(v, dtype=t) for t in (np.int64, np.int32, np.float32))
    ids = _own_columns(g, ids, columns)
    real = g.op("Not", [g.op("Equal", [ids, g.const("pad", i64(0))])])  # (B, T): padding is id 0
    count = g.op("ReduceSum", [g.op("Cast", [real], to=TensorProto.INT32), g.const("axis", i64([1]))], keepdims=0)
    # a packed model reads each review's own tokens (an all-padding row one step, as in PyTorch); the
    # seed's reads every step, padding included: no sequence_lens
    lengths = g.op("Max", [count, g.const("one", i32([1]))]) if spec.pack else ""
    x = g.op("Gather", [g.weight("embedding", weights["embedding.weight"], f"weights.{k}.embedding"), ids])  # (B, T, E)
    x = g.op("Transpose", [x], perm=[1, 0, 2])  # (T, B, E): ONNX's LSTM is time-major
    h = spec.hidden
    dirs = ("", "_reverse") if spec.bidirectional else ("",)
    last = None
    for layer in range(spec.num_layers):
        w, r, b = (
            np.stack([np.concatenate([_gates(weights[f"lstm.{name}_l{layer}{d}"], h) for name in names]) for d in dirs])
            for names in (("weight_ih",), ("weight_hh",), ("bias_ih", "bias_hh"))
        )
        y, last = g.op(
            "LSTM",
            [x, *(g.weight(n, v, f"weights.{k}.{n}{layer}") for n, v in (("W", w), ("R", r), ("B", b))), lengths],
            n_out=2,
            hidden_size=h,
            direction="bidirectional" if spec.bidirectional else "forward",
        )  # y (T, D, B, H); last (D, B, H): each direction's state after its last step read
        x = g.op("Reshape", [g.op("Transpose", [y], perm=[0, 2, 1, 3]), g.const("shape", i64([0, 0, -1]))])
    if spec.readout == "last":  # forward: after the last step read; backward: after reading back to step 0
        features = g.op("Reshape", [g.op("Transpose", [last], perm=[1, 0, 2]), g.const("shape", i64([0, -1]))])
    else:
        out = g.op("Transpose", [x], perm=[1, 0, 2])  # (B, T, D*H); steps past a review's length are 0
        mask = g.op("Unsqueeze", [real, g.const("axis", i64([2]))])  # (B, T, 1): padding never counts in a pool
        pooled = []
        if spec.readout in ("max", "max_mean"):
            top = g.op("ReduceMax", [g.op("Where", [mask, out, g.const("ninf", f32(-np.inf))]),
                                     g.const("axis", i64([1]))], keepdims=0)  # fmt: skip
            some = g.op("Greater", [g.op("Unsqueeze", [count, g.const("axis", i64([1]))]), g.const("zero", i32(0))])
            pooled.append(g.op("Where", [some, top, g.const("zero", f32(0))]))  # all-padding rows: 0
        if spec.readout in ("mean", "max_mean"):
            total = g.op("ReduceSum", [g.op("Mul", [out, g.op("Cast", [mask], to=TensorProto.FLOAT)]),
                                       g.const("axis", i64([1]))], keepdims=0)  # fmt: skip
            n = g.op("Cast", [g.op("Max", [count, g.const("one", i32([1]))])], to=TensorProto.FLOAT)
            pooled.append(g.op("Div", [total, g.op("Unsqueeze", [n, g.const("axis", i64([1]))])]))
        features = pooled[0] if len(pooled) == 1 else g.op("Concat", pooled, axis=1)
    head = [g.weight(n, weights[f"head.{n}"], f"weights.{k}.head_{n}") for n in ("weight", "bias")]
    logit = g.op("Gemm", [features, *head], transB=1)
    return g.op("Reshape", [logit, g.const("shape", i64([-1]))])  # (B,)


def onnx_model(model, weights_out: bool = True, half: bool = False):
    """A ksent network (`LSTMClassifier` or `Ensemble`) -> an ONNX ModelProto: ids (batch, length)
    int64 -> logit (batch,) float32, the mean of its members' logits (a weighted ensemble's: their
    weighted sum and its bias). With `weights_out`, the
    members' weights are outputs too (`weights.{member}.{embedding,W0,R0,B0,...,head_weight,head_bias}`,
    in ONNX's LSTM layout), so explain can step the LSTM in numpy without torch or onnx; `half`:
    weights that float16 holds exactly are stored as float16."""
    import onnx
    from onnx import TensorProto, helper

    nets = model.members()
    g = _Graph(half)
    logits = []
    for k, net in enumerate(nets):
        weights = {name: v.detach().cpu().float().numpy() for name, v in net.state_dict().items()}
        logits.append(_member(g, net.spec, net.columns, weights, "ids", k))
    if len(logits) == 1:
        out = logits[0]
    else:
        stacked = g.op("Concat", [g.op("Unsqueeze", [lg, g.const("axis", np.array([0]))]) for lg in logits], axis=0)
        if getattr(model, "weighted", False):  # a weight per member and a bias (ksent.combine)
            w = np.asarray(model.member_weights(), dtype=np.float32)[:, None]
            summed = g.op("ReduceSum", [g.op("Mul", [stacked, g.const("member_weights", w)]),
                                        g.const("axis", np.array([0]))], keepdims=0)  # fmt: skip
            out = g.op("Add", [summed, g.const("bias", np.array([float(model.bias)], dtype=np.float32))])
        else:
            out = g.op("ReduceMean", [stacked, g.const("axis", np.array([0]))], keepdims=0)
    g.nodes.append(helper.make_node("Identity", [out], ["logit"]))
    outputs = [helper.make_tensor_value_info("logit", TensorProto.FLOAT, ["batch"])]
    for name, value, shape in g.exposed if weights_out else ():
        g.nodes.append(helper.make_node("Identity", [value], [name]))
        outputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, list(shape)))
    graph = helper.make_graph(
        g.nodes,
        "ksent",
        [helper.make_tensor_value_info("ids", TensorProto.INT64, ["batch", "length"])],
        outputs,
        g.constants,
    )
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="ksent")
    proto.ir_version = 8  # the oldest IR that opset 18 allows: readable by older ONNX Runtimes
    onnx.checker.check_model(proto)
    return proto


def _spec_json(net, weight: float) -> dict:
    spec = dataclasses.asdict(net.spec)
    columns = net.columns
    spec["columns"] = None if columns is None else [columns.start, columns.stop]
    spec["weight"] = weight  # its weight in the model's logit (explain shows it)
    return spec


def member_weights(model) -> list[float]:
    """Each member's weight in the model's logit: 1 for a single network, 1/K each in a mean ensemble."""
    return model.member_weights() if hasattr(model, "member_weights") else [1.0]


def export(model: str | Path | None, out: str | Path, int8: bool = False) -> Path:
    """Export a model folder (None: the bundled model) to `out`; returns `out`."""
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
        import torch  # noqa: F401  (the model folder's weights are read as the trained model)
    except ImportError as e:
        raise KsentError(
            f"ksent export needs torch, onnx and onnxruntime ({e.name or e} cannot be imported): "
            "pip install 'ksent[export]'"
        ) from None
    from ksent._version import __version__
    from ksent.classifier import load

    clf = load(model, device="cpu")
    proto = onnx_model(clf.model_, weights_out=True, half=True)
    out = Path(out)
    if out.exists() and not (out / "config.json").is_file():
        raise KsentError(f"{out} exists and is not a ksent folder: choose another --out (nothing was written)")
    with atomic.replacing_folder(out) as tmp:
        (tmp / "model.onnx").write_bytes(proto.SerializeToString())
        files = ["model.onnx"]
        if int8:
            from onnxruntime.quantization import QuantType, quantize_dynamic

            root = logging.getLogger()
            level, root.level = root.level, logging.ERROR  # its advice to pre-process is for image models
            try:
                # from float32 initializers without the weight outputs: the quantizer rewrites only
                # LSTMs and matrix products whose weights are initializers, and drops no output
                plain = tmp / "plain.onnx"
                plain.write_bytes(onnx_model(clf.model_, weights_out=False).SerializeToString())
                quantize_dynamic(plain, tmp / "model.int8.onnx", weight_type=QuantType.QInt8)
                plain.unlink()
            finally:
                root.setLevel(level)
            files.append("model.int8.onnx")
        atomic.write_json(tmp / "vocab.json", {"features": clf.features_.state(readable=False)})
        atomic.write_json(tmp / "metrics.json", clf.metrics_)
        meta = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "ksent_version": __version__,
            "opset": OPSET,
            "source": "bundled" if model is None else str(model),
            "files": files,
            "tokenizer": clf.tokenizer_,
            "members": [
                _spec_json(net, w) for net, w in zip(clf.model_.members(), member_weights(clf.model_), strict=True)
            ],
            "config": clf.config_.to_dict(),
        }
        atomic.write_json(tmp / "config.json", meta)  # last: what loading checks first
    return out


def describe(out: Path) -> str:
    """One line per file of an export folder, with its size."""
    meta = json.loads((out / "config.json").read_text(encoding="utf-8"))
    sizes = {name: (out / name).stat().st_size for name in meta["files"]}
    return ", ".join(f"{name} {size / 1e6:.1f} MB" for name, size in sizes.items())
