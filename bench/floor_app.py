"""The floor quizgen's service is measured against (issue #17): the least a FastAPI +
uvicorn app on this machine must do to take a submission the way quizgen promises to.

Per request it reads ``Authorization: Bearer <student id>:<token>``, looks the student up
in a table and checks the token against its salted SHA-256 (quizgen's token scheme),
parses the JSON body, and inserts one row durably (SQLite in WAL mode with
``synchronous=FULL``, or PostgreSQL with its durable defaults) before answering 201.
No grading, no signing, no attempt limits: whatever quizgen does beyond this is its own
cost, and ``bench_service.py`` prints quizgen's throughput as a ratio to this app's,
measured in the same run on the same machine with the same load generator.

    python bench/floor_app.py --db floor.db --port 0 --workers 2   # prints "serving http://127.0.0.1:PORT/"

The database is made by ``make_floor_db`` (a students table with the same tokens as the
quizgen class the bench builds, and an empty submissions table).
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import socket
import sqlite3
import sys
import threading
from collections.abc import Iterable
from datetime import UTC
from typing import Any

from fastapi import FastAPI, Header, Request
from fastapi.responses import JSONResponse

SCHEMA = ("CREATE TABLE IF NOT EXISTS students (external_id TEXT PRIMARY KEY, token_hash TEXT NOT NULL)",
          "CREATE TABLE IF NOT EXISTS submissions (id {serial} PRIMARY KEY, student TEXT NOT NULL, quiz INTEGER "
          "NOT NULL, body TEXT NOT NULL, received_at TEXT NOT NULL)")


def _hash(token: str) -> str:
    salt = os.urandom(8).hex()
    return f"sha256${salt}${hashlib.sha256((salt + token).encode()).hexdigest()}"


def make_floor_db(url: str, students: Iterable[tuple[str, str]]) -> None:
    """A floor database at ``url`` (a SQLite path or a postgresql:// URL) holding ``students``
    as (id, token) pairs, hashed as quizgen hashes them."""
    rows = [(sid, _hash(token)) for sid, token in students]
    if url.startswith("postgresql"):
        import psycopg

        with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as con:
            for stmt in SCHEMA:
                con.execute(stmt.format(serial="BIGSERIAL"))
            with con.cursor() as cur:
                cur.executemany("INSERT INTO students VALUES (%s, %s)", rows)
        return
    lite = sqlite3.connect(url)
    lite.execute("PRAGMA journal_mode = WAL")
    for stmt in SCHEMA:
        lite.execute(stmt.format(serial="INTEGER"))
    lite.executemany("INSERT INTO students VALUES (?, ?)", rows)
    lite.commit()
    lite.close()


class _Connections(threading.local):
    """One database connection per thread of the worker's pool (sync routes run there)."""

    def __init__(self) -> None:
        self.con: Any = None


def make_app(url: str) -> Any:
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    local = _Connections()
    pg = url.startswith("postgresql")

    def con() -> Any:
        if local.con is None:
            if pg:
                import psycopg

                local.con = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)
            else:
                c = sqlite3.connect(url, isolation_level=None, check_same_thread=False, timeout=15)
                c.execute("PRAGMA journal_mode = WAL")
                c.execute("PRAGMA synchronous = FULL")
                local.con = c
        return local.con

    @app.get("/api/v1/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/api/v1/quizzes/{quiz}/submissions", status_code=201)
    async def submit(quiz: int, request: Request, authorization: str = Header("")) -> Any:
        body = await request.body()
        from starlette.concurrency import run_in_threadpool

        return await run_in_threadpool(_submit, quiz, body, authorization)

    def _submit(quiz: int, body: bytes, authorization: str) -> Any:
        student, _, token = authorization.removeprefix("Bearer ").rpartition(":")
        c = con()
        mark = "%s" if pg else "?"
        row = c.execute(f"SELECT token_hash FROM students WHERE external_id = {mark}", (student,)).fetchone()
        if row is None:
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        _, salt, digest = row[0].split("$")
        if not hmac.compare_digest(hashlib.sha256((salt + token).encode()).hexdigest(), digest):
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        answers = json.loads(body)["answers"]
        from datetime import datetime

        at = datetime.now(UTC).isoformat()
        c.execute(f"INSERT INTO submissions (student, quiz, body, received_at) VALUES ({mark}, {mark}, {mark}, "
                  f"{mark})", (student, quiz, json.dumps(answers), at))  # autocommit: durable when it returns
        return JSONResponse({"quiz": quiz, "student": student, "received_at": at}, status_code=201)

    return app


def app_from_env() -> Any:
    return make_app(os.environ["FLOOR_DB"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    os.environ["FLOOR_DB"] = args.db
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", args.port))
    sock.listen(2048)
    sock.set_inheritable(True)
    print(f"serving http://127.0.0.1:{sock.getsockname()[1]}/", flush=True)
    # as quizgen serve configures uvicorn (cli/serve.py), so the two differ only in the app
    config = uvicorn.Config("floor_app:app_from_env", factory=True, workers=args.workers, log_level="warning",
                            timeout_graceful_shutdown=10, server_header=False)
    server = uvicorn.Server(config)
    if args.workers > 1:
        Multiprocess(config, sockets=[sock]).run()
    else:
        server.run(sockets=[sock])


if __name__ == "__main__":
    main()
