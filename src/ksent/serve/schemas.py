"""Request and response bodies of the HTTP API, with their limits (pydantic models: validated on
the way in, documented in the OpenAPI spec at /openapi.json and /docs)."""

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

from ksent.serve.settings import MAX_TEXT_CHARS, MAX_TEXTS


def _valid_unicode(text: str) -> str:
    # JSON may carry an unpaired UTF-16 surrogate ("\ud800"); Python decodes it into a str that no
    # analyser can read and no response can be encoded with, so it is refused here, at the door.
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        raise PydanticCustomError(
            "string_surrogate",
            "contains an unpaired UTF-16 surrogate at character {position}; send valid Unicode text "
            "(a surrogate escape such as \\ud83d must be followed by its pair, e.g. \\ude00)",
            {"position": e.start},
        ) from None
    return text


Review = Annotated[
    str,
    Field(max_length=MAX_TEXT_CHARS, description=f"One review, at most {MAX_TEXT_CHARS:,} characters."),
    AfterValidator(_valid_unicode),
]


class PredictRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"texts": ["연기도 좋고 스토리도 최고", "시간이 아깝다"]}]}
    )

    texts: list[Review] = Field(
        min_length=1, max_length=MAX_TEXTS, description=f"1 to {MAX_TEXTS} reviews, classified independently."
    )


class Prediction(BaseModel):
    """`ksent.predict.Prediction.to_dict()`: the record `ksent predict --json` prints."""

    text: str
    label: Literal[0, 1] = Field(description="0 = negative, 1 = positive.")
    sentiment: Literal["negative", "positive"]
    score: float = Field(ge=0, le=1, description="Confidence of the label (as Hugging Face pipelines give it).")
    p_positive: float = Field(ge=0, le=1)
    n_tokens: int = Field(ge=0, description="Tokens the model read; 0: the review left it nothing to read.")


class PredictResponse(BaseModel):
    predictions: list[Prediction] = Field(description="One record per text, in the order sent.")


class ExplainRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"text": "연기는 좋았지만 스토리가 지루하다"}]}
    )

    text: Review


class GateSummary(BaseModel):
    """One direction of the top LSTM layer at one token, averaged over its hidden units."""

    model_config = ConfigDict(extra="allow")

    input_gate_mean: float
    forget_gate_mean: float
    output_gate_mean: float
    cell_norm: float
    hidden_norm: float


class ExplainToken(BaseModel):
    model_config = ConfigDict(extra="allow")

    text: str = Field(description="The token as the vocabulary sees it (Kiwi lemma / Okt stem).")
    surface: str | None = Field(description="Where it came from in the review: text[start:end].")
    start: int | None
    end: int | None
    status: str = Field(description="input, oov, unknown, stopword or truncated: whether and how it reached the model.")
    step: int | None
    evidence: float | None = Field(
        description="P(predicted label) - P(predicted label without this token): > 0 supports the prediction."
    )
    gates: dict[str, GateSummary] | None = Field(description="Per direction (forward, backward); null if not fed.")


class ExplainResponse(BaseModel):
    """`ksent.explain.Explanation.to_dict()`: the main fields; the rest (head, full trace) pass through."""

    model_config = ConfigDict(extra="allow")

    text: str
    label: Literal[0, 1]
    sentiment: Literal["negative", "positive"]
    p_positive: float
    evidence_method: str
    tokens: list[ExplainToken]
    model: dict[str, Any]


class Metrics(BaseModel):
    n: int
    accuracy: float | None
    precision: float | None
    recall: float | None
    f1: float | None
    roc_auc: float | None


class Limits(BaseModel):
    max_text_chars: int = MAX_TEXT_CHARS
    max_texts: int = MAX_TEXTS
    max_body_bytes: int
    max_queue: int = Field(description="Requests admitted at once; one more is answered 503 with Retry-After.")
    timeout_s: float = Field(description="Seconds a request may wait for the model (queue included); then 504.")


class ModelInfo(BaseModel):
    name: str = Field(description="The model folder's name, or 'bundled'.")
    ksent_version: str
    config: dict[str, Any]
    metrics: dict[str, Metrics | None] = Field(description="Validation split (from training) and test set, if scored.")
    tokenizer: dict[str, Any] | None = Field(description="The analyser the training tokens came from (provenance).")
    vocab_size: int
    limits: Limits


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class ErrorDetail(BaseModel):
    loc: list[str | int] = Field(description="Where in the request: e.g. ['body', 'texts', 3].")
    message: str
    type: str


class ErrorResponse(BaseModel):
    """Every error the API answers: a code, a sentence that says what to fix, and per-field details."""

    error: str = Field(description="A stable code, e.g. too_many_texts, text_too_long, invalid_json.")
    message: str = Field(description="What was wrong and what to send instead.")
    details: list[ErrorDetail] = Field(default_factory=list)
