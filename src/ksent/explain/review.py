"""Follow one review through a trained model: its tokens, their evidence, and the LSTM's every step.

`explain_review(model, features, cfg, text)` takes the review's tokens from the featurizer the
shown member reads (`Tokens.units` for a token member: the forms the model reads, with spans in
the user's text; a syllable or piece member's characters or pieces, likewise) and their fates from
its own rules (`fates`: stopwords, unknown words and words beyond `max_len` do not reach the
model). Then, for the tokens that do:

    evidence(token) = P(predicted label | review) - P(predicted label | review without that token)

computed by deleting the token's id and re-padding, exactly as if the analyser had never produced
it, with the whole model (all members of an ensemble: each other block deletes its own units
that overlap the token's span, e.g. a syllable member the token's characters: each featurizer's
`variants`). Positive evidence supports the predicted
label; negative evidence argues against it. Why this method (and not gradients) is argued in
docs/explain.md.

The gates come from one member (`model.members[member]`, numpy arrays: `ksent.explain.member`, so
a model on torch and its ONNX export explain alike, the export without torch), run step by step
with `lstm_steps` on its own embeddings; its head then reads them through the member's own
`readout`, as its forward pass does, so the explanation's logit is the member's logit.

The input is pre-padded (Keras' `pad_sequences`): a 5-token review becomes 25 padding steps
(id 0, whose embedding is trained) and then the 5 tokens. The LSTM runs over the padding too, so
the state that reaches the first token is not zero; the trace keeps every step, padding included,
and the summaries (table, heatmap) show the real tokens and report the padding separately.
A packed model (`pack`) reads no padding: its trace has one step per fed token.
"""

from ksent.config import Config
from ksent.errors import KsentError
from ksent.explain.explanation import UNIT, Explanation, Token
from ksent.explain.member import OpenModel
from ksent.explain.steps import SIGNALS
from ksent.features import FeatureSet

METHOD = (
    "leave-one-out: evidence = P(predicted label | review) - P(predicted label | review with this token deleted "
    "and the rest re-padded); > 0 supports the prediction, < 0 argues against it"
)
HAD_ID = ("input", "oov", "truncated")  # statuses of tokens that got a vocabulary id (truncation came after)


def explain_review(model, features: FeatureSet, cfg: Config, text: str, member: int = 0) -> Explanation:
    """Explain one review with a trained model (an `OpenModel`, or a torch model of `ksent.models`),
    its fitted feature set and its config.

    Evidence is the whole model's; the gates, cell states and head are those of member `member`, per
    unit that member reads: tokens for a token member, characters for a syllable member, pieces for
    a piece member (the explanation's `tokens` are then those units). A linear member has no gates.
    """
    if not isinstance(text, str):
        raise KsentError(f"explain takes one review as a str, got {type(text).__name__}")
    if not text.strip():
        raise KsentError("nothing to explain: the review is empty; pass the text of one review")
    if not isinstance(model, OpenModel):
        model = OpenModel.from_torch(model)
    members = model.members
    if not 0 <= member < len(members):
        raise KsentError(f"no member {member}: this model has {len(members)} (0 to {len(members) - 1})")
    chosen = members[member]
    if chosen.network != "lstm":
        lstms = [k for k, net in enumerate(members) if net.network == "lstm"]
        raise KsentError(
            f"member {member} is a {chosen.network} model over {UNIT.get(chosen.reads, chosen.reads)}s: it has no "
            f"gates; choose one of the LSTM members {', '.join(map(str, lstms))} (the evidence is the whole "
            "model's, this member's included)"
        )
    block = features.block_of(chosen.reads)
    reader = block.featurizer

    # 1. the units the chosen member reads (the analyser's tokens, or its syllables, pieces, ...) with
    # their spans in the review, and what the pipeline does with each
    analysed = reader.units(text)
    fates = reader.fates([p.form for p in analysed])
    tokens = [Token(p.form, p.start, p.end, f.status, f.id, f.step) for p, f in zip(analysed, fates, strict=True)]
    fed = sorted((t for t in tokens if t.step is not None), key=lambda t: t.step)
    unit = UNIT.get(chosen.reads, chosen.reads + " unit")
    if not fed:
        reasons = sorted({t.status for t in tokens})
        why = f"its {unit}s are all {', '.join(reasons)}" if tokens else "nothing is left after cleaning"
        raise KsentError(
            f"nothing to explain: no {unit} of {text!r} reaches the model"
            + (f"'s member {member}" if len(members) > 1 else "")
            + f" ({why}); "
            f"it sees only padding, as for any such text"
        )

    # 2. the review, each leave-one-out variant and each prefix, in one batch. Variants start from the
    # review's ids before truncation: deleting a fed token lets a truncated one back in, as it would.
    with_id = [t for t in tokens if t.status in HAD_ID]
    ids = reader.vocab.lookup([t.text for t in with_id])
    order = [k for k, t in enumerate(with_id) if t.step is not None]  # positions of fed tokens in `ids`
    variants = [ids] + [ids[:k] + ids[k + 1 :] for k in order] + [ids[: k + 1] for k in order]
    # every other block reads the same variants: its units over a deleted unit's span go with it
    x = features.variants(text, [with_id[k] for k in order], reader.pad(variants), chosen.reads)
    p = model.p_positive(x)
    p_full, p_without, p_after = p[0], p[1 : 1 + len(order)], p[1 + len(order) :]
    sign = 1.0 if p_full >= 0.5 else -1.0  # evidence is for the predicted label
    for t, pw, pa in zip(fed, p_without, p_after, strict=True):
        t.p_positive_without, t.p_positive_after = float(pw), float(pa)
        t.evidence = float(sign * (p_full - pw))

    # 3. one member's LSTM step by step on the review itself, and what its head makes of it
    net = members[member]
    review = net.own_columns(x[:1])
    if net.pack:  # a packed LSTM reads the real tokens only (post-padded: the first ones)
        review = review[:, : len(fed)]
    trace = net.trace(review)
    features = net.features(trace.output, review)[0]  # the same readout the forward pass uses
    return Explanation(
        text=text,
        p_positive=float(p_full),
        tokens=tokens,
        padding_steps=0 if net.pack else reader.width - len(fed),
        config=cfg,
        method=METHOD,
        **{name: getattr(trace, name)[:, :, 0] for name in SIGNALS},
        features=features,
        feature_units=net.feature_units(),
        contributions=net.head_weight * features,
        head_bias=net.head_bias,
        member=member,
        n_members=len(members),
        member_weight=model.member_weight(member),
        reads=chosen.reads,
        width=reader.width,
    )
