"""HTTP routes of the feedback loop: agents' corrections, the review queue and the review page.

`install(app, authorized, ready)` is the one call `create_app` makes: it adds the routes below, opens
the feedback database (`TRIAGE_DB`, see triage/feedback.py) when the app starts, and puts the
`ReviewRecorder` (triage/review.py) in front of the app so the queue fills from /classify traffic.

- `POST /feedback` (201) stores a correction; `GET /feedback?since=` lists them.
- `GET /review/queue`, `GET /review/items/{ref}`, `DELETE /review/queue/{ref}`: the review queue
  (`ref` is what the queue lists, or the caller's complaint id, which may contain slashes).
- `GET /review/options`: labels and queues for the page's menus.
- `GET /` and `GET /review`: the review page, files packaged in triage/static/ (no CDN).

The API routes take the same bearer token as the rest of the API. The page and its assets do not:
they hold no data, and a browser cannot send a bearer token when it opens a page; the page asks for
the token when an API call answers 401.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request, Response
from fastapi.responses import FileResponse
from pydantic import (BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StrictStr, field_validator,
                      model_validator)
from starlette.concurrency import run_in_threadpool

from triage.config import PACKAGE_DIR
from triage.feedback import FeedbackStore, database_url, parse_time
from triage.pipeline import Classifier
from triage.review import ReviewBuffer, ReviewRecorder
from triage.schemas import ResultOut, Strict
from triage.surrogates import mend

STATIC_DIR = PACKAGE_DIR / "static"
ASSET_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]*")
# The page loads only its own files: a stray CDN link would fail loudly instead of leaking traffic.
PAGE_HEADERS = {"Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
                "X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"}

Code = Annotated[StrictStr, Field(min_length=1, max_length=50)]


class CorrectedIn(Strict):
    root_cause: Code | None = None
    tone: Code | None = None
    queue: Code | None = None

    @model_validator(mode="after")
    def something_corrected(self) -> CorrectedIn:
        if self.root_cause is None and self.tone is None and self.queue is None:
            raise ValueError("corrected names none of root_cause, tone, queue")
        return self


class PredictedRouteIn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    queue: Code | None = None


class PredictedIn(BaseModel):
    """The result the agent saw. Fields of the result not listed here are accepted and not stored
    (signals quote the text, which is already stored once), so a client can send the result back as is."""

    model_config = ConfigDict(extra="ignore")
    root_cause: Code
    tone: Code
    root_cause_scores: dict[StrictStr, StrictFloat | StrictInt] | None = None
    tone_score: StrictFloat | StrictInt | None = Field(default=None, ge=0, le=1)
    route: PredictedRouteIn | None = None
    low_confidence: StrictBool | None = None


class FeedbackIn(Strict):
    id: Annotated[StrictStr, Field(max_length=200)] | StrictInt | None = Field(
        default=None, description="The complaint's id in the caller's system.")
    text: StrictStr = Field(description="The complaint as classified.")
    model_version: StrictStr = Field(min_length=1, max_length=100)
    predicted: PredictedIn
    corrected: CorrectedIn
    agent: StrictStr = Field(min_length=1, max_length=100, description="Who corrected it.")
    comment: StrictStr | None = Field(default=None, max_length=2000)

    @field_validator("text", "agent")
    @classmethod
    def not_blank(cls, value: str, info) -> str:
        if not value.strip():
            raise ValueError(f"{info.field_name} is empty")
        return mend(value) if info.field_name == "text" else value  # see triage/surrogates.py

    @field_validator("id", "text", "model_version", "agent", "comment")
    @classmethod
    def no_nul(cls, value, info):
        """PostgreSQL text cannot hold U+0000: refuse it here (422) rather than fail in the database (500)."""
        if isinstance(value, str) and "\x00" in value:
            raise ValueError(f"{info.field_name} contains a NUL character (U+0000)")
        return value


class FeedbackStored(BaseModel):
    feedback_id: int
    created_at: str


class FeedbackOut(BaseModel):
    feedback_id: int
    created_at: str
    id: str | None = Field(description="The complaint's id as sent, as a string.")
    text: str
    model_version: str
    predicted: dict
    corrected: dict
    agent: str
    comment: str | None


class FeedbackList(BaseModel):
    feedback: list[FeedbackOut]


class QueueItemOut(BaseModel):
    ref: str = Field(description="Names the item in /review/items/{ref}.")
    id: str | None
    created_at: str
    model_version: str
    root_cause: str
    tone: str
    confidence: float = Field(description="0 = a coin toss between two causes or two tones, 1 = sure.")
    preview: str


class QueueOut(BaseModel):
    items: list[QueueItemOut]


class ReviewItemOut(BaseModel):
    ref: str
    id: str | None
    created_at: str
    text: str
    result: ResultOut


def label_errors(body: FeedbackIn, classifier: Classifier) -> list[dict]:
    """Labels and queues the config and policy do not know, as 422 entries naming the field."""
    known = {"root_cause": classifier.config.root_causes, "tone": classifier.config.tones,
             "queue": tuple(sorted(classifier.policy.queues))}
    given = [("corrected", name, getattr(body.corrected, name)) for name in ("root_cause", "tone", "queue")]
    given += [("predicted", name, getattr(body.predicted, name)) for name in ("root_cause", "tone")]
    return [{"type": "value_error", "loc": ["body", part, name], "input": value,
             "msg": f"unknown {name} {value!r}; known: {', '.join(known[name])}"}
            for part, name, value in given if value is not None and value not in known[name]]


async def _store(request: Request) -> FeedbackStore:
    """The open store, after the recorder's pending review items are written (see triage/review.py)."""
    store = request.app.state.feedback_store
    if store is None:
        raise HTTPException(503, detail="the feedback database is not open yet")
    await request.app.state.review_buffer.drain()
    return store


def _since(since: str | None) -> datetime | None:
    if since is None:
        return None
    try:
        return parse_time(since)
    except ValueError as exc:
        raise HTTPException(422, detail=[{"type": "value_error", "loc": ["query", "since"], "msg": str(exc),
                                          "input": since}]) from None


def feedback_router(authorized: Callable, ready: Callable, db_url: str) -> APIRouter:
    """The routes; the router's lifespan opens the database when the app starts (and fails the start,
    with the store's message, on a database written by a newer triage)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        # Restores what was there before: test clients may run the lifespan nested in another one.
        previous, store = app.state.feedback_store, await run_in_threadpool(FeedbackStore.open, db_url)
        app.state.feedback_store = store
        try:
            yield
        finally:
            await app.state.review_buffer.drain()
            store.close()
            app.state.feedback_store = previous

    router = APIRouter(lifespan=lifespan)
    guarded = [Depends(authorized)]

    @router.post("/feedback", status_code=201, response_model=FeedbackStored, dependencies=guarded,
                 tags=["feedback"])
    async def add_feedback(body: FeedbackIn, clf: Classifier = Depends(ready), store: FeedbackStore = Depends(_store)):
        """Store an agent's correction of one result."""
        if len(body.text) > clf.config.max_chars:
            raise HTTPException(413, detail=f"text: text has {len(body.text)} characters, "
                                            f"the limit is {clf.config.max_chars}")
        errors = label_errors(body, clf)
        if errors:
            raise HTTPException(422, detail=errors)
        record = body.model_dump(exclude_none=True)
        record["predicted"] = body.predicted.model_dump(exclude_none=True)
        return await run_in_threadpool(store.add_feedback, record)

    @router.get("/feedback", response_model=FeedbackList, dependencies=guarded, tags=["feedback"])
    async def list_feedback(since: Annotated[str | None, Query(description="ISO date or datetime, inclusive; "
                                                                           "UTC when no zone is given")] = None,
                            limit: Annotated[int, Query(ge=1, le=10000)] = 1000,
                            store: FeedbackStore = Depends(_store)):
        """Stored corrections, oldest first."""
        start = _since(since)
        return {"feedback": await run_in_threadpool(lambda: list(store.feedback(start, limit)))}

    @router.get("/review/options", dependencies=guarded, tags=["review"])
    async def review_options(clf: Classifier = Depends(ready)):
        """Labels and queues an agent may choose from, and the queue that owns each root cause."""
        return {"root_causes": list(clf.config.root_causes), "tones": list(clf.config.tones),
                "queues": sorted(clf.policy.queues), "owners": clf.policy.owners,
                "scandalist_threshold": clf.config.scandalist_threshold, "model_version": clf.version}

    @router.get("/review/queue", response_model=QueueOut, dependencies=guarded, tags=["review"])
    async def review_queue(limit: Annotated[int, Query(ge=1, le=500)] = 50, clf: Classifier = Depends(ready),
                           store: FeedbackStore = Depends(_store)):
        """Recent classifications kept for review, least confident first."""
        return {"items": await run_in_threadpool(store.review_queue, limit, clf.config.review_days)}

    @router.get("/review/items/{ref:path}", response_model=ReviewItemOut, dependencies=guarded, tags=["review"])
    async def review_item(ref: str, clf: Classifier = Depends(ready), store: FeedbackStore = Depends(_store)):
        """A queued complaint by its ref or the caller's id, classified again by the current model
        (without the customer facts, which the queue does not keep)."""
        item = await run_in_threadpool(store.review_item, ref)
        if item is None:
            raise HTTPException(404, detail=f"ref: no complaint {ref!r} in the review queue")
        result = await run_in_threadpool(clf.classify, item["text"], None, item["id"])
        return {**item, "result": result}

    @router.delete("/review/queue/{ref:path}", status_code=204, dependencies=guarded, tags=["review"])
    async def dismiss(ref: str, store: FeedbackStore = Depends(_store)):
        """Take a complaint off the queue without a correction: the agent found the model right."""
        if not await run_in_threadpool(store.dismiss, ref):
            raise HTTPException(404, detail=f"ref: no complaint {ref!r} in the review queue")
        return Response(status_code=204)

    @router.get("/", include_in_schema=False)
    @router.get("/review", include_in_schema=False)
    async def page():
        return FileResponse(STATIC_DIR / "review.html", media_type="text/html; charset=utf-8", headers=PAGE_HEADERS)

    @router.get("/review/assets/{name}", include_in_schema=False)
    async def asset(name: str):
        path = STATIC_DIR / name
        if not ASSET_NAME.fullmatch(name) or not path.is_file():
            raise HTTPException(404, detail=f"name: no asset {name!r}")
        return FileResponse(path, headers=PAGE_HEADERS)

    return router


def install(app: FastAPI, authorized: Callable, ready: Callable) -> None:
    """Add the feedback loop to the app: routes, the database (opened at startup) and the recorder
    that fills the review queue. `$TRIAGE_DB` is read now, at app creation, like the API's settings."""
    app.state.feedback_store = None
    app.state.review_buffer = ReviewBuffer()
    app.include_router(feedback_router(authorized, ready, database_url()))
    app.add_middleware(ReviewRecorder)
