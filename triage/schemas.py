"""Request and response schemas of the HTTP API (pydantic). Unknown fields are rejected, types are
strict (a number sent as a string is an error, not a guess), so a client's mistake comes back as a
422 that names the field."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StrictStr, field_validator

from triage.surrogates import mend


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CustomerIn(Strict):
    id: StrictStr | None = Field(default=None, max_length=200)
    complaints_90d: StrictInt | None = Field(default=None, ge=0)
    revenue_12m: StrictFloat | StrictInt | None = Field(default=None, ge=0)


class ComplaintIn(Strict):
    text: StrictStr = Field(description="The complaint as the customer wrote it.")
    customer: CustomerIn | None = None
    truncate: StrictBool = Field(default=False, description="Cut texts over the limit instead of rejecting them (413).")

    @field_validator("text")
    @classmethod
    def not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("text is empty")
        return mend(value)  # see triage/surrogates.py


class BatchItemIn(ComplaintIn):
    # A length limit also makes pydantic refuse a string UTF-8 cannot carry (triage/surrogates.py).
    id: Annotated[StrictStr, Field(max_length=200)] | StrictInt | None = None


class BatchIn(Strict):
    items: list[BatchItemIn]
    truncate: StrictBool = False


class SignalOut(BaseModel):
    name: str
    span: tuple[int, int]
    text: str


class RouteOut(BaseModel):
    queue: str
    priority: Literal["P1", "P2", "P3", "P4"]
    action: str
    sla_hours: int
    flags: list[str]
    cc: list[str]
    reasons: list[str]


class ResultOut(BaseModel):
    id: str | int | None = None
    root_cause: str
    root_cause_scores: dict[str, float]
    secondary_causes: list[str]
    tone: Literal["legitimate", "scandalist"]
    tone_score: float
    signals: list[SignalOut]
    route: RouteOut
    language: str
    low_confidence: bool
    model_version: str
    truncated: bool = False


class BatchOut(BaseModel):
    results: list[ResultOut]
