"""The HTTP API: ``POST /predict`` with ``{"texts": [...]}`` -> one prediction per text, batched by LitServe.

A request is validated before it is queued (pydantic, in the HTTP process): a bad one (not UTF-8 JSON,
no ``texts``, a text that is not encodable UTF-8, ...) gets a 4xx whose ``detail`` is one line saying what
is wrong, and never reaches the model. Concurrent requests that arrive within ``batch_timeout`` of each
other run as one forward pass of up to ``max_batch_size`` requests (their texts flattened), then are
split back; if that pass fails, each request runs alone, so one request's failure costs no other its
answer.

Response: ``{"predictions": [{"label": str, "probabilities": {label: p}, "threshold": float | null}]}``;
``threshold`` is the positive-class threshold of a binary run (0.5 or the validation-tuned one) and
null for an N-class run, whose label is the most probable class.
"""

# No `from __future__ import annotations`: LitServe reads decode_request's annotation as a class.

import logging
import signal
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import litserve as ls
from fastapi import Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, StrictStr, field_validator
from starlette.exceptions import HTTPException

from headswap.app import threads
from headswap.task import Task
from headswap.training.finished_run import load_run

logger = logging.getLogger(__name__)

MAX_TEXTS = 64
MAX_BODY_BYTES = 1_000_000
USAGE = f'send {{"texts": ["a text", ...]}} (1 to {MAX_TEXTS} strings) with Content-Type: application/json'


class PredictRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt key is an error, not silently ignored
    texts: list[StrictStr] = Field(min_length=1, max_length=MAX_TEXTS)

    @field_validator("texts")
    @classmethod
    def encodable(cls, texts: list[str]) -> list[str]:
        """JSON may carry a lone surrogate (``"\\ud800"``), which no tokenizer can encode as UTF-8."""
        for i, text in enumerate(texts):
            try:
                text.encode("utf-8")
            except UnicodeEncodeError as e:
                raise ValueError(
                    f"texts[{i}] holds {text[e.start]!r} at character {e.start}, a lone surrogate: "
                    "not text; send UTF-8 text"
                ) from None
        return texts


@dataclass(frozen=True)
class Failed:
    """A request that failed when it ran alone: its answer is this error, no other request's."""

    detail: str


def prediction(task: Task, probabilities: list[float], threshold: float | None) -> dict:
    """One text's answer: its label, every class's probability, the threshold used."""
    label = task.labels[task.decide(probabilities, threshold)]
    rounded = {name: round(p, 6) for name, p in zip(task.labels, probabilities)}
    return {"label": label, "probabilities": rounded, "threshold": threshold}


class ClassifyAPI(ls.LitAPI):
    def __init__(
        self,
        run_dir: str | Path,
        onnx: bool,
        tuned_threshold: bool,
        max_batch_size: int,
        batch_timeout: float,
        n_threads: int = 1,
    ) -> None:
        super().__init__(max_batch_size=max_batch_size, batch_timeout=batch_timeout)
        self.run_dir, self.onnx, self.tuned_threshold = str(run_dir), onnx, tuned_threshold
        self.n_threads = n_threads  # chosen before the server starts: its own start-up would count as load

    def setup(self, device: str) -> None:
        """Load in the worker process (models are not sent between processes). Ctrl-C reaches every
        process of the terminal's group: the worker leaves stopping to the server, which ends it."""
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
        threads.use(threads.ThreadChoice(self.n_threads, "chosen by serve"))
        self.scorer = load_run(self.run_dir, self.onnx)
        self.threshold = self.scorer.threshold(self.tuned_threshold)  # None: N classes, argmax

    def decode_request(self, request: PredictRequest) -> list[str]:
        return request.texts

    def predict(self, x: Any) -> Any:
        """Batched, ``x`` is one list of texts per request; unbatched, one request's texts. If the batch
        fails, each request runs alone: a request that fails then gets its own error, the others answers."""
        requests: list[list[str]] = x if self.max_batch_size > 1 else [x]
        try:
            answers = self.answer(requests)
        except Exception:
            answers = [self.answer_alone(texts) for texts in requests]
        return answers if self.max_batch_size > 1 else answers[0]

    def answer(self, requests: list[list[str]]) -> list[list[dict]]:
        """Every request's predictions from one forward pass over their texts, flattened."""
        rows = self.scorer.probabilities([text for texts in requests for text in texts]).tolist()  # n x N
        answers, start = [], 0
        for texts in requests:
            answers.append(
                [prediction(self.scorer.task, p, self.threshold) for p in rows[start : start + len(texts)]]
            )
            start += len(texts)
        return answers

    def answer_alone(self, texts: list[str]) -> list[dict] | Failed:
        try:
            return self.answer([texts])[0]
        except Exception:
            logger.exception("a request failed on its own")  # the why stays in the server's log
            return Failed("the model could not classify these texts; the server's log says why")

    def encode_response(self, output: list[dict] | Failed) -> Any:
        if isinstance(output, Failed):  # this request's own error; the batch's others got their answers
            return JSONResponse({"detail": output.detail}, status_code=500)
        return {"predictions": output}


async def one_line_validation_error(request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's validation error (a list of dicts) as one line: where, what, and what to send."""
    assert isinstance(exc, RequestValidationError)
    first = exc.errors()[0]
    inside = first["loc"][1:] if first["type"] != "json_invalid" else ()  # not JSON: loc is a char offset
    where = ".".join(str(part) for part in inside) or "body"
    return JSONResponse({"detail": f"{where}: {first['msg']}; {USAGE}"}, status_code=422)


async def one_line_http_error(request: Request, exc: Exception) -> Response:
    """LitServe's 413 ("Payload too large") with the limit and the fix; FastAPI's 400 for a body it could
    not read (bytes that are not UTF-8) as the 422 every other unreadable body gets; others as FastAPI's."""
    assert isinstance(exc, HTTPException)
    if exc.status_code == 413:
        limit = f"the body is over {MAX_BODY_BYTES} bytes; send fewer or shorter texts per request"
        return JSONResponse({"detail": limit}, status_code=413)
    if exc.status_code == 400:
        return JSONResponse({"detail": f"body: not UTF-8 JSON; {USAGE}"}, status_code=422)
    return await http_exception_handler(request, exc)


def build_server(api: ClassifyAPI) -> ls.LitServer:
    """One CPU worker behind LitServe's HTTP process, bodies over MAX_BODY_BYTES refused with 413."""
    server = ls.LitServer(
        api, accelerator="cpu", devices=1, workers_per_device=1, max_payload_size=MAX_BODY_BYTES
    )
    server.app.add_exception_handler(RequestValidationError, one_line_validation_error)
    server.app.add_exception_handler(HTTPException, one_line_http_error)
    return server
