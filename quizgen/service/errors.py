"""The library's exceptions as HTTP answers, in one place (as the CLI turns them into
``Error: …`` lines): a stable code, one human sentence, the right status."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..classroom.attempts import IdempotencyConflict, RateLimited, SubmissionTooLarge
from ..classroom.policies import AttemptsExhausted, NotOnQuiz, QuizArchived, QuizClosed, SubmissionRefused
from ..classroom.students import AuthError
from ..classroom.tlog import ProofError
from ..errors import BusyError, NotFoundError, QuizgenError, StoreError, UnstorableText, one_line
from ..grading.answers import AnswerError

log = logging.getLogger("quizgen.service")


def require_media_type(content_type: str | None, expected: str, hint: str) -> None:
    """415 unless ``content_type`` is ``expected`` in UTF-8: a ``charset`` parameter other
    than UTF-8 is refused rather than guessed at (bodies are always read as UTF-8)."""
    media, *params = (content_type or "").split(";")
    if media.strip().lower() != expected:
        raise ApiError(415, "unsupported_media_type", hint)
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"').lower() not in ("utf-8", "utf8"):
            raise ApiError(415, "unsupported_media_type",
                           f"the body must be UTF-8; charset={one_line(value.strip(), 30)} is not accepted")


class ApiError(Exception):
    """An error the service raises itself (bad headers, bodies, content types)."""

    def __init__(self, status: int, code: str, message: str, retry_after: int | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.retry_after = status, code, message, retry_after


@dataclass(frozen=True)
class Mapped:
    status: int
    code: str


# Most specific first: the first class an exception is an instance of decides.
_MAPPING: tuple[tuple[type[BaseException], Mapped], ...] = (
    (AuthError, Mapped(401, "unauthorized")),
    (NotFoundError, Mapped(404, "not_found")),
    (ProofError, Mapped(404, "no_such_proof")),
    (NotOnQuiz, Mapped(403, "not_on_quiz")),
    (QuizClosed, Mapped(409, "quiz_closed")),
    (QuizArchived, Mapped(409, "quiz_archived")),
    (AttemptsExhausted, Mapped(409, "attempts_exhausted")),
    (SubmissionRefused, Mapped(409, "refused")),
    (AnswerError, Mapped(422, "invalid_answers")),
    (SubmissionTooLarge, Mapped(422, "invalid_answers")),
    (IdempotencyConflict, Mapped(422, "idempotency_key_reused")),
    (RateLimited, Mapped(429, "rate_limited")),
    (BusyError, Mapped(503, "database_busy")),
    (StoreError, Mapped(503, "database_unavailable")),
    (UnstorableText, Mapped(400, "unstorable_text")),
    (QuizgenError, Mapped(400, "bad_request")),
)


def describe(exc: BaseException) -> tuple[int, str, str, int | None]:
    """(status, code, message, Retry-After seconds) for an exception a route let through."""
    if isinstance(exc, ApiError):
        return exc.status, exc.code, exc.message, exc.retry_after
    for cls, mapped in _MAPPING:
        if isinstance(exc, cls):
            retry = getattr(exc, "retry_after", None)
            if mapped.status == 503 and retry is None:
                retry = 1
            return mapped.status, mapped.code, str(exc), retry
    return 500, "internal", "the server could not handle this request; it has been logged", None


def error_response(exc: BaseException) -> JSONResponse:
    status, code, message, retry = describe(exc)
    headers = {"Retry-After": str(retry)} if retry is not None else None
    return JSONResponse({"error": {"code": code, "message": one_line(message)}}, status_code=status, headers=headers)


def install(app: FastAPI) -> None:
    """Route every failure through error_response."""

    @app.exception_handler(QuizgenError)
    async def _quizgen(request: Request, exc: QuizgenError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(ApiError)
    async def _api(request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        return error_response(ApiError(400, "bad_request", f"{where or 'request'}: {first.get('msg', 'invalid')}"))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "bad_request")
        message = {404: "no such endpoint", 405: "method not allowed here"}.get(exc.status_code, str(exc.detail))
        return error_response(ApiError(exc.status_code, code, message))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return error_response(exc)
