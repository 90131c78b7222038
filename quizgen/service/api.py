"""The JSON API under /api/v1 (docs/api.md): each route parses the request, calls the
library function every front end calls, and returns its data; errors go through
service.errors. Routes never read a key column: the student's view, the submission
(graded from the stored grading key inside the library) and the status are the
same library functions the CLI uses."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

import anyio.to_thread
from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from .. import __version__
from ..classroom import logins
from ..classroom.attempts import AttemptRequest
from ..classroom.students import AuthError
from ..classroom.submissions import quiz_for_student, status
from ..classroom.tlog import consistency, inclusion, latest_checkpoint
from ..clock import now
from ..errors import StoreError
from ..files import DuplicateKey, MalformedJSON, decode_json, unique_keys
from .addresses import client_address
from .context import Context, context
from .errors import ApiError, require_media_type

T = TypeVar("T")
API_PREFIX = "/api/v1"
router = APIRouter(prefix=API_PREFIX)

_KEY_CHARS = frozenset(chr(c) for c in range(0x21, 0x7F))


# ---------------------------------------------------------------- typed bodies (the OpenAPI contract)

class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorBody(BaseModel):
    error: ErrorDetail


class Health(BaseModel):
    status: str
    version: str
    database: str
    server_time: str


class ReceiptKey(BaseModel):
    key_id: str
    algorithm: str
    public_key: str


class SubmissionRequest(BaseModel):
    answers: dict[str, str] = Field(
        description='{"1": "529,441", "4.2": "500000"}: as `quizgen submit --answer` takes them'
    )


class QuestionResult(BaseModel):
    slot: int
    points: int
    score: float
    correct: bool
    misconception: str | None = None
    feedback: str | None = None
    parts: dict[str, Any] | None = None


class SubmissionResponse(BaseModel):
    quiz: int
    student: str
    attempt: int
    language: str
    answers: int
    received_at: str
    received_local: str
    late: bool
    replayed: bool
    graded: bool
    current: str | None = Field(None, description="on a replay: where the current grades are (the replay "
                                "repeats the original answer, with the grades as first given; a regrade since "
                                "then shows there)")
    score: float | None = None
    max_score: int | None = None
    questions: list[QuestionResult] | None = None
    receipt: dict[str, Any] | None = None


ERRORS: dict[int | str, dict[str, Any]] = {code: {"model": ErrorBody} for code in
                                           (400, 401, 403, 404, 409, 413, 415, 422, 429, 503)}


# ---------------------------------------------------------------- authentication

def credentials(authorization: str | None) -> tuple[str, str]:
    """(student id, token) from ``Authorization: Bearer <student id>:<token>``."""
    if not authorization:
        raise ApiError(401, "unauthorized", "send Authorization: Bearer <student id>:<token>")
    try:  # HTTP headers arrive decoded as latin-1: a student id in Hangul was sent as UTF-8 bytes
        authorization = authorization.encode("latin-1").decode("utf-8")
    except UnicodeError:
        raise ApiError(401, "unauthorized", "the Authorization header is not UTF-8 text") from None
    scheme, _, value = authorization.partition(" ")
    student, sep, token = value.strip().rpartition(":")
    if scheme.lower() != "bearer" or not sep or not student or not token:
        raise ApiError(401, "unauthorized", "the Authorization header must be 'Bearer <student id>:<token>'")
    return student, token


def as_student(ctx: Context, request: Request, student: str, call: Callable[[], T]) -> T:
    """Run ``call`` (which authenticates). A right token always goes through; a wrong one
    from a client or for an id that keeps failing is answered 429 instead of 401."""
    try:
        return call()
    except AuthError:
        _throttle(ctx, request, student)
        raise


def _throttle(ctx: Context, request: Request, student: str) -> None:
    """After a wrong token: count the failure, or raise the 429 the client is due."""
    peer = request.client.host if request.client else None
    address = client_address(peer, request.headers.getlist("x-forwarded-for"), ctx.settings.proxies())
    refusal = logins.failed_login(ctx.store, logins.subjects(address, student), ctx.settings.login_throttle)
    if refusal is not None:
        raise refusal from None


# ---------------------------------------------------------------- routes

@router.get("/health", response_model=Health, responses={503: {"model": Health}})
def health(request: Request) -> JSONResponse:
    ctx = context(request)
    database = "ok"
    try:
        ctx.ping()
    except StoreError:
        database = "unavailable"
    body = {"status": "ok" if database == "ok" else "unavailable", "version": __version__, "database": database,
            "server_time": now().isoformat()}
    return JSONResponse(body, status_code=200 if database == "ok" else 503)


@router.get("/receipt-key", response_model=ReceiptKey)
def receipt_key(request: Request) -> dict[str, str]:
    signer = context(request).signer
    return {"key_id": signer.key_id, "algorithm": "ed25519", "public_key": signer.public_b64}


@router.get("/quizzes/{quiz}", responses=ERRORS)
def quiz_view(quiz: str, request: Request, authorization: str | None = Header(None)) -> dict[str, Any]:
    """This student's questions, deadline, attempts left, feedback policy, server time."""
    ctx = context(request)
    student, token = credentials(authorization)
    return as_student(ctx, request, student, lambda: quiz_for_student(ctx.store, quiz, student, token)).to_json()


@router.get("/quizzes/{quiz}/submissions", responses=ERRORS)
def my_submissions(quiz: str, request: Request, authorization: str | None = Header(None)) -> dict[str, Any]:
    """The student's own attempts, receipts and results, as the quiz's feedback policy allows."""
    ctx = context(request)
    student, token = credentials(authorization)
    return as_student(ctx, request, student, lambda: status(ctx.store, quiz, student, token)).to_json()


@router.post("/quizzes/{quiz}/submissions", status_code=201, response_model=SubmissionResponse,
             responses={200: {"model": SubmissionResponse, "description": "a replay of an earlier request"},
                        **ERRORS},
             openapi_extra={"requestBody": {"required": True, "content": {
                 "application/json": {"schema": SubmissionRequest.model_json_schema()}}}})
async def submit(quiz: str, request: Request, authorization: str | None = Header(None),
                 idempotency_key: str | None = Header(None)) -> Response:
    """Record one attempt (graded on arrival where the policy shows scores) and sign its receipt."""
    ctx = context(request)
    student, token = credentials(authorization)
    key = _idempotency_key(idempotency_key)
    answers = _answers(request.headers.get("content-type"), await request.body())
    try:
        done = await ctx.recorder.record(AttemptRequest(quiz, student, token, answers, "http", idempotency_key=key,
                                                        grade_on_arrival=True, rate_limit=ctx.settings.rate_limit))
    except AuthError:
        await anyio.to_thread.run_sync(_throttle, ctx, request, student)
        raise
    if done.replayed:  # the original answer, and where the current grades are (a regrade may have changed them)
        current = f"{API_PREFIX}/quizzes/{done.receipt.quiz_id}/submissions"
        body = json.dumps({**done.response, "current": current}, ensure_ascii=False, separators=(",", ":"))
        return Response(body, status_code=200, headers={"Idempotent-Replayed": "true"},
                        media_type="application/json")
    # the body as stored for replays: encoded once
    return Response(done.json_text(), status_code=201, media_type="application/json")


# ---------------------------------------------------------------- the transparency log (public: anyone may check)

_HEX64 = frozenset("0123456789abcdef")


@router.get("/quizzes/{quiz}/checkpoint", responses=ERRORS)
def checkpoint(quiz: str, request: Request) -> dict[str, Any]:
    """The quiz's latest signed checkpoint of its log of attempts (size, root, time, signed note)."""
    return latest_checkpoint(context(request).store, quiz).to_json()


@router.get("/quizzes/{quiz}/proof", responses=ERRORS)
def proof(quiz: str, request: Request, leaf: str | None = None, size: int | None = None,
          old: int | None = Query(None, alias="from"), new: int | None = Query(None, alias="to")) -> dict[str, Any]:
    """``?leaf=HEX[&size=N]``: the inclusion proof of a receipt's leaf in a checkpoint (the latest
    by default); ``?from=M&to=N``: the consistency proof between two checkpoints (RFC 9162)."""
    store = context(request).store
    if leaf is not None and old is None and new is None:
        if len(leaf) != 64 or not set(leaf.lower()) <= _HEX64:
            raise ApiError(400, "bad_request", "leaf must be a SHA-256 leaf hash in hex (64 characters)")
        return inclusion(store, quiz, leaf, size).to_json()
    if leaf is None and size is None and old is not None and new is not None:
        return {"from": old, "to": new, "path": consistency(store, quiz, old, new)}
    raise ApiError(400, "bad_request", "ask for ?leaf=HEX[&size=N] (inclusion) or ?from=M&to=N (consistency)")


def idempotency_key_ok(value: str) -> bool:
    """Whether ``value`` can be an idempotency key: 1 to 200 printable ASCII characters."""
    return 0 < len(value) <= 200 and set(value) <= _KEY_CHARS


def _idempotency_key(value: str | None) -> str:
    if value is None or not value:
        raise ApiError(400, "idempotency_key_required", "send an Idempotency-Key header: one value per submission, "
                       "reused when the same submission is sent again")
    if not idempotency_key_ok(value):
        raise ApiError(400, "bad_request", "the Idempotency-Key must be 1 to 200 printable ASCII characters")
    return value


def _answers(content_type: str | None, body: bytes) -> dict[str, str]:
    require_media_type(content_type, "application/json", "send the answers as application/json")
    try:
        data = decode_json(body.decode("utf-8"), unique_keys)  # a key given twice is refused, as in a file
    except UnicodeDecodeError:
        raise ApiError(400, "bad_request", "the body is not UTF-8 text") from None
    except DuplicateKey as exc:
        if exc.key == "answers":
            raise ApiError(400, "bad_request", 'the body gives "answers" twice; send one object of answers') from None
        raise ApiError(422, "invalid_answers", f"the answer to {json.dumps(exc.key)[:30]} is given twice") from None
    except MalformedJSON as exc:
        raise ApiError(400, "bad_request", f"malformed JSON: {exc}") from None
    answers = data.get("answers") if isinstance(data, dict) else None
    if not isinstance(answers, dict) or not answers:
        raise ApiError(
            400, "bad_request", 'the body must be {"answers": {"1": "529,441", ...}} with at least one answer'
        )
    for k, v in answers.items():  # a JSON number is refused: 1e3, -0 and 673155.0 would each read as another text
        if not isinstance(v, str):
            raise ApiError(422, "invalid_answers", f"the answer to {json.dumps(k)[:30]} must be a JSON string "
                           f'such as "529,441", not {_json_kind(v)}')
    return answers


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, (int, float)):
        return "a number"
    return "null" if value is None else "an array" if isinstance(value, list) else "an object"
