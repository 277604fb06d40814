"""The review queue: which classifications an agent should look at first, and how they get there.

`/classify` and `/classify/batch` answer exactly as before. `ReviewRecorder`, an ASGI middleware,
watches those two routes: after a successful answer has been sent it pairs each text of the request
with its result and keeps the ones `[feedback] review_record` in config.toml asks for (by default
only results flagged `low_confidence`) in the feedback database. Watching from outside keeps the
classification routes free of storage code and their latency free of database writes.

Kept classifications are buffered (`ReviewBuffer`) and written in one transaction per ~0.2 s: one
write per request cost ~0.5 ms of CPU on the server next to ~0.6 ms for the classification itself.
Everything that reads the store drains the buffer first, so the queue never misses a recorded item.

A kept classification stores only what the queue needs: the text (to show it and classify it again),
the caller's id, the model version, the top cause, the tone and one confidence number.
"""
from __future__ import annotations

import asyncio
import json
import logging

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from triage.config import Config
from triage.feedback import ReviewItem
from triage.surrogates import mend

log = logging.getLogger("triage.review")
WATCHED_PATHS = ("/classify", "/classify/batch")


def confidence(result: dict, threshold: float) -> float:
    """How sure the model is, from 0 (a coin toss) to 1: the smaller of the margin between the two top
    causes and the tone score's distance from the scandalist threshold. The distance is divided by its
    largest possible value so that both heads count on the same 0..1 scale."""
    top = sorted(result["root_cause_scores"].values(), reverse=True)
    margin = top[0] - top[1] if len(top) > 1 else top[0]
    tone_distance = abs(result["tone_score"] - threshold) / max(threshold, 1.0 - threshold)
    return round(min(margin, tone_distance), 6)


def wanted(result: dict, mode: str) -> bool:
    """Whether the config's `review_record` mode keeps this result. Truncated results are never kept:
    the queue would show text the model did not see."""
    if result.get("truncated") or mode == "none":
        return False
    return mode == "all" or bool(result.get("low_confidence"))


def review_items(path: str, request_body: bytes, response_body: bytes, config: Config) -> list[ReviewItem]:
    """The classifications of one successful /classify or /classify/batch exchange that the queue keeps."""
    request, response = json.loads(request_body), json.loads(response_body)
    pairs = [(request, response)] if path == "/classify" else zip(request["items"], response["results"])
    return [ReviewItem(text=mend(asked["text"]), complaint_id=None if result.get("id") is None else str(result["id"]),
                       model_version=result["model_version"], root_cause=result["root_cause"], tone=result["tone"],
                       confidence=confidence(result, config.scandalist_threshold))
            for asked, result in pairs if wanted(result, config.review_record)]


class ReviewBuffer:
    """Review items waiting for the store. `add` schedules one flush `delay` seconds later, which takes
    everything that arrived meanwhile; `drain` waits until nothing is pending."""

    def __init__(self, delay: float = 0.2):
        self.delay = delay
        self._items: list[ReviewItem] = []
        self._task: asyncio.Task | None = None

    def add(self, store, config: Config, items: list[ReviewItem]) -> None:
        self._items.extend(items)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._flush(store, config))

    async def drain(self) -> None:
        while self._task is not None and not self._task.done():
            await asyncio.shield(self._task)

    async def _flush(self, store, config: Config) -> None:
        """Never fails (the answers were already sent). Only the error's type is logged: database errors
        quote their parameters, which would put complaint text in the log."""
        await asyncio.sleep(self.delay)
        while self._items:
            batch, self._items = self._items, []
            try:
                await run_in_threadpool(store.record_review, batch, config.review_days)
            except Exception as exc:  # noqa: BLE001 - the queue is best effort
                log.warning(json.dumps({"event": "review_record_failed", "items": len(batch),
                                        "error": type(exc).__name__}))


class ReviewRecorder:
    """ASGI middleware: copies the request and response bodies of the watched routes as they stream by,
    then, once the response is complete, hands the wanted results to the app's `review_buffer`."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        app = scope.get("app")
        state = getattr(app, "state", None)
        classifier = getattr(state, "classifier", None)
        store = getattr(state, "feedback_store", None)
        if (scope["type"] != "http" or scope["method"] != "POST" or scope["path"] not in WATCHED_PATHS
                or classifier is None or store is None or classifier.config.review_record == "none"):
            await self.app(scope, receive, send)
            return
        request_body, response_body, plain_ok = bytearray(), bytearray(), []

        async def copy_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                request_body.extend(message.get("body", b""))
            return message

        async def copy_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                encoded = any(name.lower() == b"content-encoding" for name, _ in message.get("headers", []))
                plain_ok.append(message["status"] == 200 and not encoded)
            elif message["type"] == "http.response.body":
                response_body.extend(message.get("body", b""))
            await send(message)

        await self.app(scope, copy_receive, copy_send)
        if plain_ok == [True]:
            try:
                items = review_items(scope["path"], bytes(request_body), bytes(response_body), classifier.config)
            except Exception as exc:  # noqa: BLE001 - never fails the exchange, already answered
                log.warning(json.dumps({"event": "review_record_failed", "path": scope["path"],
                                        "error": type(exc).__name__}))
                return
            if items:
                state.review_buffer.add(store, classifier.config, items)
