"""Benchmark for issue #9: the checking service under load, on SQLite and PostgreSQL.

A real ``quizgen serve --workers 2`` on 127.0.0.1 (as ``tests/server.py`` starts it)
over a class of several hundred students and one quiz whose feedback policy is
``full``, so every submission is graded on arrival and its receipt signed. A
bounded load generator (asyncio, a fixed number of submissions and a time limit,
whichever ends first) keeps ``--clients`` requests in flight over keep-alive
connections; its HTTP client is a minimal one, because it shares the two cores with
the server it measures and httpx spends ~5 ms of CPU per request (``--client httpx``
uses httpx all the same). A few
submissions are sent twice with the same Idempotency-Key, concurrently, the way a
client retries after a lost response; the second must be answered as a replay.

Each round runs two loads on a fresh class: a closed loop (every client sends its next
submission as soon as the last is answered: the most the server can do, and, with all
64 clients always waiting, a mean latency of 64 / submits/s by Little's law), then a
paced run offering the aim's rate (200/s, 150/s) spread over the clients, its latency
counted from when each submission was due, so that a server falling behind cannot hide
its queue.

Reported per run: graded submits/s, p50/p99 latency, errors (any answer but 201 to a
new submission or 200 to a replay, and any transport failure), duplicates (an
Idempotency-Key stored twice, a replay answered 201, or more attempts stored than
submissions sent), acknowledged submissions lost (every 201 the clients saw must
have its attempt in the database afterwards, with the same signed receipt, read
after the server stopped; ``quizgen audit`` must find the chain intact and a sample
of receipts must verify), CPU per submit of the server processes (psutil; for
PostgreSQL also of the database server's processes), and the CPU that other
processes on the machine used meanwhile (the figures mean little when it is high).
The script exits 1 on any error, duplicate or loss. Aims on the 2-core
machine with 2 workers: >= 200 submits/s on SQLite and >= 150/s on PostgreSQL at
64 clients, p99 <= 250 ms, 0 errors, 0 duplicates, 0 lost; each figure is printed
with its ratio to the aim.

PostgreSQL is a throwaway server (Debian's binaries, as tests/pgserver.py finds
them) started with its durable defaults (fsync and synchronous_commit on), so both
backends acknowledge only what is on disk. This machine's timings drift: runs
alternate between the backends, and the summary gives the range.

    python bench/bench_service.py                     # both backends, 3 rounds
    python bench/bench_service.py --backend sqlite --rounds 1 --seconds 10 --no-paced
    python bench/bench_service.py --quick             # seconds: what make test runs
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import psutil  # noqa: E402

AIMS = {"sqlite": 200.0, "postgresql": 150.0}
P99_AIM_MS = 250.0
KINDS = ("total-params", "layer-params", "output-shape", "weight-shapes", "summary", "trainable-split")
_LISTENING = re.compile(r"serving http://127\.0\.0\.1:(\d+)/")


# ---------------------------------------------------------------- the class

@dataclass(frozen=True)
class Student:
    id: str
    token: str
    answers: dict[str, str]  # mostly right, some slips: grading does real work


def _as_text(part: dict) -> str:
    from quizgen.nn.shapes import format_shape

    return format_shape(part["value"]) if part["type"] == "shape" else f"{part['value']:,}"


def _answers(entries, rng: random.Random) -> dict[str, str]:
    out = {}
    for e in entries:
        parts = e.answer["parts"] if e.answer["type"] == "parts" else [dict(e.answer, key=None)]
        for n, part in enumerate(parts, start=1):
            key = str(e.slot) if part["key"] is None else f"{e.slot}.{n}"
            text = _as_text(part)
            if rng.random() < 0.2 and part["type"] == "count":
                text = f"{part['value'] + rng.choice((1, 100, 1000)):,}"
            out[key] = text
    return out


def build_class(db: str, students: int, attempts: int) -> tuple[int, list[Student]]:
    """A roster, one quiz (feedback full: graded on arrival), and each student's answers."""
    from quizgen.classroom.quizzes import QuizPlan, create_quiz, quiz_key
    from quizgen.classroom.roster import RosterEntry
    from quizgen.classroom.students import add_students
    from quizgen.store.db import open_store

    store = open_store(db)
    try:
        roster = [RosterEntry(f"b{i:05d}", f"student {i}") for i in range(students)]
        tokens = {t.student: t.token for t in add_students(store, roster)}
        plan = QuizPlan(title="bench", seed=9, count=len(KINDS), kinds=KINDS, difficulty="medium",
                        attempt_limit=attempts, feedback="full")
        quiz_id = create_quiz(store, plan, roster, verify=False).quiz_id
        _, variants = quiz_key(store, quiz_id, all_variants=True)
    finally:
        store.dispose()
    rng = random.Random(9)
    out = [Student(v.student, tokens[v.student], _answers(v.entries, rng)) for v in variants if v.student]
    return quiz_id, out


# ---------------------------------------------------------------- servers

class Served:
    """``quizgen serve`` in its own session, on a port the OS chose; stopped with SIGTERM."""

    def __init__(self, db: str, tmp: Path, workers: int, rate_limit: str):
        self.log = tmp / f"serve-{time.monotonic_ns()}.log"
        env = {**os.environ, "PYTHONPATH": str(ROOT)}  # the checkout this script sits in
        with open(self.log, "w") as handle:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "quizgen", "--db", db, "serve", "--port", "0", "--workers", str(workers),
                 "--rate-limit", rate_limit, "--log-level", "warning", "--key-file", str(tmp / "receipt.key")],
                stdout=handle, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        deadline = time.monotonic() + 60
        port = None
        while time.monotonic() < deadline and port is None:
            m = _LISTENING.search(self.log.read_text())
            if m:
                port = int(m.group(1))
            elif self.proc.poll() is not None:
                raise SystemExit(f"quizgen serve exited at start: {self.log.read_text()[-2000:]}")
            else:
                time.sleep(0.05)
        if port is None:
            self.stop()
            raise SystemExit("quizgen serve did not start within 60 s")
        self.url = f"http://127.0.0.1:{port}"
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/api/v1/health", timeout=2, trust_env=False).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        else:
            self.stop()
            raise SystemExit(f"quizgen serve never became healthy: {self.log.read_text()[-2000:]}")

    def processes(self) -> list[psutil.Process]:
        root = psutil.Process(self.proc.pid)
        return [root, *root.children(recursive=True)]

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


class DurablePg:
    """A throwaway PostgreSQL server like tests/pgserver.py's, but with the durable
    defaults (fsync, synchronous_commit, full_page_writes on): an acknowledged
    submission is on disk, as on SQLite with synchronous=FULL."""

    def __init__(self) -> None:
        from tests.pgserver import PgServer

        self.inner = PgServer()

    def start(self) -> DurablePg:
        pg = self.inner
        pg._run(str(pg.bindir / "initdb"), "-D", str(pg.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        options = f"-p {pg.port} -k {pg.root} -c listen_addresses=127.0.0.1 -c max_connections=200"
        pg._run(str(pg.bindir / "pg_ctl"), "-D", str(pg.data), "-o", options, "-l", str(pg.root / "log"), "-w",
                "start")
        return self

    def processes(self) -> list[psutil.Process]:
        pid = int((self.inner.data / "postmaster.pid").read_text().split()[0])
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]

    def new_database(self) -> str:
        return self.inner.new_database()

    def stop(self) -> None:
        self.inner.stop()


def _cpu(processes: list[psutil.Process]) -> dict[int, float]:
    out = {}
    for p in processes:
        try:
            t = p.cpu_times()
            out[p.pid] = t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return out


def _busy() -> float:
    """CPU seconds the whole machine has spent busy (every process, user and system)."""
    t = psutil.cpu_times()
    return sum(t) - t.idle - getattr(t, "iowait", 0.0)


def _cpu_spent(before: dict[int, float], processes: list[psutil.Process]) -> float:
    """CPU seconds since ``before`` of these processes (a process started meanwhile counts whole)."""
    after = _cpu(processes)
    return sum(after[pid] - before.get(pid, 0.0) for pid in after)


# ---------------------------------------------------------------- the load

@dataclass
class Load:
    acked: list[tuple[str, int, str, dict]] = field(default_factory=list)  # student, attempt, key, receipt
    latencies: list[float] = field(default_factory=list)  # seconds, new submissions answered 201
    errors: dict[str, int] = field(default_factory=dict)
    sent_keys: set[tuple[str, str]] = field(default_factory=set)
    replays: int = 0
    replay_duplicates: int = 0  # a resent key answered 201 (a second attempt), or with another attempt
    elapsed: float = 0.0

    def error(self, what: str) -> None:
        self.errors[what] = self.errors.get(what, 0) + 1


@dataclass(frozen=True)
class Reply:
    status_code: int
    headers: dict[str, str]
    content: bytes

    def json(self) -> dict:
        return json.loads(self.content)


class RawHttp:
    """HTTP/1.1 keep-alive POSTs over asyncio streams: what the load needs and no more.

    The load generator shares the machine's two cores with the server it measures;
    httpx spends several milliseconds of CPU per request, this about a tenth of that
    (``--client httpx`` shows the difference)."""

    def __init__(self, url: str):
        host_port = url.split("://", 1)[1]
        self.host, port = host_port.rsplit(":", 1)
        self.port = int(port)
        self.idle: list[tuple[tuple[asyncio.StreamReader, asyncio.StreamWriter], float]] = []

    async def post(self, path: str, body: dict, headers: dict[str, str]) -> Reply:
        data = json.dumps(body, ensure_ascii=False).encode()
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        request = (f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nContent-Type: application/json\r\n"
                   f"Content-Length: {len(data)}\r\n{head}\r\n").encode() + data
        conn = None
        while self.idle and conn is None:
            conn, since = self.idle.pop()
            if time.monotonic() - since > 2 or conn[0].at_eof():  # the server closes idle ones after 5 s
                conn[1].close()
                conn = None
        if conn is None:
            conn = await asyncio.open_connection(self.host, self.port)
        reader, writer = conn
        try:
            writer.write(request)
            status_line, *lines = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
            fields = {}
            for line in lines:
                name, sep, value = line.partition(":")
                if sep:
                    fields[name.strip().lower()] = value.strip()
            content = await reader.readexactly(int(fields["content-length"]))
        except BaseException:
            writer.close()
            raise
        if fields.get("connection", "").lower() == "close":
            writer.close()
        else:
            self.idle.append((conn, time.monotonic()))
        return Reply(int(status_line.split(" ", 2)[1]), fields, content)

    async def aclose(self) -> None:
        for (_, writer), _ in self.idle:
            writer.close()


class HttpxClient:
    """The same calls through httpx.AsyncClient, for comparison."""

    def __init__(self, url: str, clients: int):
        limits = httpx.Limits(max_connections=2 * clients, max_keepalive_connections=2 * clients)
        self.client = httpx.AsyncClient(base_url=url, limits=limits, timeout=30, trust_env=False)

    async def post(self, path: str, body: dict, headers: dict[str, str]) -> httpx.Response:
        return await self.client.post(path, json=body, headers=headers)

    async def aclose(self) -> None:
        await self.client.aclose()


TRANSPORT_ERRORS = (httpx.HTTPError, OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError,
                    asyncio.TimeoutError, KeyError, ValueError)


async def _post(client, quiz: int, s: Student, key: str):
    return await asyncio.wait_for(client.post(
        f"/api/v1/quizzes/{quiz}/submissions", {"answers": s.answers},
        {"Authorization": f"Bearer {s.id}:{s.token}", "Idempotency-Key": key}), 30)


async def _one(client, quiz: int, s: Student, load: Load, replay: bool, measured: bool,
               scheduled: float | None = None) -> None:
    key = uuid.uuid4().hex
    load.sent_keys.add((s.id, key))
    # paced: from when the request was due, so a slow server cannot hide its queue by
    # delaying the requests it has not yet been sent (coordinated omission)
    t = time.perf_counter() if scheduled is None else scheduled
    try:
        if replay:  # the same submission twice at once: one attempt, one 201, one replay
            first, second = await asyncio.gather(_post(client, quiz, s, key), _post(client, quiz, s, key))
        else:
            first, second = await _post(client, quiz, s, key), None
    except TRANSPORT_ERRORS as exc:
        load.error(type(exc).__name__)
        return
    dt = time.perf_counter() - t
    responses = [r for r in (first, second) if r is not None]
    created = [r for r in responses if r.status_code == 201]
    for r in responses:
        if r.status_code not in (200, 201):
            code = r.json().get("error", {}).get("code", "?") if r.headers.get("content-type", "").startswith(
                "application/json") else "?"
            load.error(f"{r.status_code} {code}")
    if replay:
        load.replays += 1
        bodies = [r.json() for r in responses if r.status_code in (200, 201)]
        if len(created) > 1 or len({b["attempt"] for b in bodies}) > 1:
            load.replay_duplicates += 1
    if created:
        body = created[0].json()
        load.acked.append((s.id, body["attempt"], key, body["receipt"]))
        if measured and not replay:
            load.latencies.append(dt)


async def _drive(url: str, quiz: int, students: list[Student], clients: int, count: int, seconds: float,
                 replay_every: int, load: Load, measured: bool, kind: str = "raw", rate: float = 0) -> None:
    client = RawHttp(url) if kind == "raw" else HttpxClient(url, clients)
    next_job = 0
    start = time.perf_counter()

    async def worker() -> None:
        nonlocal next_job
        while next_job < count and time.perf_counter() - start < seconds:
            job = next_job
            next_job += 1
            s = students[job % len(students)]
            due = None
            if rate:  # open loop: submission n is due n/rate seconds after the start
                due = start + job / rate
                if due > time.perf_counter():
                    await asyncio.sleep(due - time.perf_counter())
            await _one(client, quiz, s, load, replay_every > 0 and job % replay_every == replay_every - 1, measured,
                       due)

    try:
        await asyncio.gather(*(worker() for _ in range(clients)))
    finally:
        await client.aclose()
    if measured:
        load.elapsed = time.perf_counter() - start


# ---------------------------------------------------------------- checking the database afterwards

@dataclass(frozen=True)
class Check:
    stored: int
    duplicate_keys: int
    unknown_keys: int
    lost: int
    chain_intact: bool
    audit_problems: tuple[str, ...]
    bad_signatures: int


def check_database(db: str, quiz: int, load: Load, public_key: str) -> Check:
    """Read every attempt back (after the server stopped) and hold it against what the clients were told."""
    from sqlalchemy import select

    from quizgen.classroom.audit import audit_quiz, trust_from_database
    from quizgen.receipts import verify_receipt
    from quizgen.store.db import open_store
    from quizgen.store.tables import Attempt
    from quizgen.store.tables import Student as StudentRow

    store = open_store(db, create=False)
    try:
        with store.read() as session:
            rows = session.execute(select(StudentRow.external_id, Attempt.attempt, Attempt.idempotency_key,
                                          Attempt.receipt).join(StudentRow, StudentRow.id == Attempt.student_id)
                                   .where(Attempt.quiz_id == quiz)).all()
        report = audit_quiz(store, quiz, trust_from_database(store))
    finally:
        store.dispose()
    by_key: dict[tuple[str, str | None], int] = {}
    receipts = {}
    for student, attempt, key, receipt in rows:
        by_key[(student, key)] = by_key.get((student, key), 0) + 1
        receipts[(student, attempt)] = json.loads(receipt) if receipt else None
    duplicate_keys = sum(n - 1 for n in by_key.values())
    unknown = sum(1 for k in by_key if k not in load.sent_keys)
    lost = sum(1 for student, attempt, _, receipt in load.acked if receipts.get((student, attempt)) != receipt)
    sample = random.Random(1).sample(load.acked, min(200, len(load.acked)))
    bad = sum(1 for *_, receipt in sample if not verify_receipt(receipt, public_key))
    return Check(len(rows), duplicate_keys, unknown, lost, report.intact, tuple(str(p) for p in report.problems), bad)


# ---------------------------------------------------------------- one run

@dataclass(frozen=True)
class Result:
    backend: str
    paced: float  # the offered rate of an open-loop run (submits/s); 0: closed loop, each client sends again at once
    submits: int
    rate: float
    p50_ms: float
    p99_ms: float
    errors: dict[str, int]
    duplicates: int
    lost: int
    replays: int
    server_cpu_ms: float
    db_cpu_ms: float | None
    client_cpu_ms: float
    others_cores: float  # CPU the rest of the machine used meanwhile (other people's jobs), in cores
    check: Check

    def line(self) -> str:
        aim = AIMS[self.backend]
        db_cpu = f" + PostgreSQL {self.db_cpu_ms:.1f} ms" if self.db_cpu_ms is not None else ""
        mode = f"paced {self.paced:.0f}/s" if self.paced else "closed loop"
        return (f"  {self.backend:<10} {mode:<12} {self.rate:6.1f} submits/s ({self.rate / aim:.2f}x of {aim:.0f}); "
                f"p50 {self.p50_ms:5.1f} ms, p99 {self.p99_ms:6.1f} ms ({P99_AIM_MS / self.p99_ms:.2f}x of "
                f"<= {P99_AIM_MS:.0f}); errors {sum(self.errors.values())}"
                f"{' ' + json.dumps(self.errors) if self.errors else ''}; duplicates {self.duplicates}; "
                f"lost {self.lost}; CPU per submit: server {self.server_cpu_ms:.1f} ms{db_cpu}, "
                f"load generator {self.client_cpu_ms:.1f} ms; other processes kept {self.others_cores:.1f} of "
                f"{os.cpu_count()} CPUs busy")


def run_once(backend: str, args: argparse.Namespace, tmp: Path, pg: DurablePg | None, rate: float = 0) -> Result:
    db = str(tmp / f"bench-{time.monotonic_ns()}.db") if backend == "sqlite" else pg.new_database()  # type: ignore[union-attr]
    quiz, students = build_class(db, args.students, args.attempts)
    server = Served(db, tmp, args.workers, args.rate_limit)
    try:
        public_key = httpx.get(f"{server.url}/api/v1/receipt-key", trust_env=False).json()["public_key"]
        load = Load()
        # warm-up (every worker's imports, pools, caches): checked afterwards, not timed
        asyncio.run(_drive(server.url, quiz, students[::-1], args.clients, 2 * args.clients, 60, 0, load, False))
        procs = server.processes()
        db_procs = pg.processes() if pg is not None and backend == "postgresql" else []
        before, db_before = _cpu(procs), _cpu(db_procs)
        me = psutil.Process()
        mine = me.cpu_times()
        machine = _busy()
        acked_before = len(load.acked)
        asyncio.run(_drive(server.url, quiz, students, args.clients, args.count, args.seconds, args.replay_every,
                           load, True, args.client, rate))
        server_cpu = _cpu_spent(before, server.processes())
        db_cpu = _cpu_spent(db_before, pg.processes()) if pg is not None and backend == "postgresql" else None
        mine_after = me.cpu_times()
        client_cpu = mine_after.user + mine_after.system - mine.user - mine.system
        others = _busy() - machine - server_cpu - (db_cpu or 0.0) - client_cpu
    finally:
        code = server.stop()
    if code != 0:
        print(f"  (quizgen serve exited {code}: {server.log.read_text()[-1000:]})")
    check = check_database(db, quiz, load, public_key)
    if backend == "sqlite":
        for suffix in ("", "-wal", "-shm", ".receipt-key"):
            Path(db + suffix).unlink(missing_ok=True)
    submits = len(load.acked) - acked_before
    lat = sorted(load.latencies) or [float("nan")]
    p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000  # noqa: E731
    duplicates = (check.duplicate_keys + check.unknown_keys + load.replay_duplicates
                  + max(0, check.stored - len(load.sent_keys)))
    errors = dict(load.errors)
    if not check.chain_intact:
        errors["audit: chain broken"] = 1
        print(f"  quizgen audit: {len(check.audit_problems)} problem(s), e.g. {check.audit_problems[:3]}")
    if check.bad_signatures:
        errors["bad receipt signature"] = check.bad_signatures
    return Result(backend, rate, submits, submits / load.elapsed, p(0.50), p(0.99), errors, duplicates, check.lost,
                  load.replays, server_cpu / submits * 1000, (db_cpu / submits * 1000) if db_cpu is not None else None,
                  client_cpu / submits * 1000, max(0.0, others / load.elapsed), check)


def _postgresql_missing() -> str | None:
    from tests.pgserver import server_bin

    if server_bin() is None:
        return "its server binaries (initdb, pg_ctl) are not installed: Debian's postgresql package"
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed: pip install 'quizgen[postgres]'"
    return None


def _range(values: list[float], fmt: str = "{:.1f}") -> str:
    lo, hi, med = min(values), max(values), statistics.median(values)
    return f"{fmt.format(med)} (range {fmt.format(lo)}-{fmt.format(hi)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--rounds", type=int, default=3, help="runs per backend, alternating backends")
    parser.add_argument("--clients", type=int, default=64, help="requests kept in flight")
    parser.add_argument("--count", type=int, default=4000, help="at most this many submissions per run")
    parser.add_argument("--seconds", type=float, default=15, help="and at most this long per run")
    parser.add_argument("--students", type=int, default=1000, help="the class size")
    parser.add_argument("--attempts", type=int, default=30, help="the quiz's attempt limit")
    parser.add_argument("--workers", type=int, default=2, help="quizgen serve --workers")
    parser.add_argument("--rate-limit", default="30/600", help="quizgen serve --rate-limit (its default)")
    parser.add_argument("--client", choices=["raw", "httpx"], default="raw",
                        help="the load generator's HTTP client: a minimal keep-alive one, or httpx (more CPU)")
    parser.add_argument("--no-paced", action="store_true", help="only the closed-loop run (the most the server does)")
    parser.add_argument("--replay-every", type=int, default=50,
                        help="every Nth submission is sent twice at once with the same key (0: never)")
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run of seconds: one closed-loop run of about 2 s per backend, 16 clients, "
                             "100 students (PostgreSQL too when its server is installed)")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.seconds, args.count, args.clients, args.students = 1, 2.0, 400, 16, 100
        args.no_paced = True
    count = args.rate_limit.partition("/")[0]
    per_student = -(-(args.count + 2 * args.clients) // args.students)
    if per_student > min(args.attempts, int(count)):
        parser.error(f"{args.count:,} submissions over {args.students} students is {per_student} each: more than "
                     "the attempt limit or the rate limit lets through; give more --students")
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    missing = _postgresql_missing()
    if "postgresql" in backends and missing:
        print(f"PostgreSQL: not measured ({missing})")
        backends.remove("postgresql")
    print(f"quizgen serve --workers {args.workers} on 127.0.0.1, {os.cpu_count()} CPUs; {args.clients} clients; "
          f"{args.students} students, one quiz of {len(KINDS)} questions, feedback full (graded on arrival, "
          f"signed receipts); up to {args.count:,} submissions or {args.seconds:.0f} s per run; "
          f"every {args.replay_every}th sent twice at once with one Idempotency-Key. Each round: a closed loop "
          f"(every client sends again as soon as it is answered: the most the server does)"
          + ("" if args.no_paced else ", then a paced run offering the aim's rate (latency from when each was due)"))
    results: dict[str, list[Result]] = {b: [] for b in backends}
    with tempfile.TemporaryDirectory(prefix="quizgen-bench-") as tmp:
        pg = DurablePg().start() if "postgresql" in backends else None
        try:
            for n in range(args.rounds):
                for backend in (backends if n % 2 == 0 else backends[::-1]):
                    for rate in ([0.0] if args.no_paced else [0.0, AIMS[backend]]):
                        r = run_once(backend, args, Path(tmp), pg, rate)
                        results[backend].append(r)
                        print(r.line(), flush=True)
        finally:
            if pg is not None:
                pg.stop()
    print("summary (median, range over the runs):")
    ok = True
    for backend, runs in results.items():
        aim = AIMS[backend]
        closed = [r for r in runs if not r.paced]
        paced = [r for r in runs if r.paced]
        rates = [r.rate for r in closed]
        p99 = [r.p99_ms for r in closed]
        errors = sum(sum(r.errors.values()) for r in runs)
        duplicates = sum(r.duplicates for r in runs)
        lost = sum(r.lost for r in runs)
        print(f"  {backend}, closed loop: {_range(rates)} submits/s, aim >= {aim:.0f}: "
              f"{statistics.median(rates) / aim:.2f}x (range {min(rates) / aim:.2f}-{max(rates) / aim:.2f}x); "
              f"p50 {_range([r.p50_ms for r in closed])} ms, p99 {_range(p99)} ms (aim <= {P99_AIM_MS:.0f}: "
              f"{P99_AIM_MS / statistics.median(p99):.2f}x; with {args.clients} clients always waiting, the mean "
              f"latency is {args.clients} / submits/s = {args.clients / statistics.median(rates) * 1000:.0f} ms)")
        if paced:
            pp99 = [r.p99_ms for r in paced]
            print(f"  {backend}, paced at {aim:.0f}/s: served {_range([r.rate for r in paced])} submits/s; p50 "
                  f"{_range([r.p50_ms for r in paced])} ms, p99 {_range(pp99)} ms, aim <= {P99_AIM_MS:.0f}: "
                  f"{P99_AIM_MS / statistics.median(pp99):.2f}x")
        print(f"  {backend}: errors {errors}, duplicates {duplicates}, acknowledged submissions lost {lost} (aims 0) "
              f"over {sum(r.submits for r in runs):,} measured submits and {sum(r.check.stored for r in runs):,} "
              f"stored attempts; server CPU per submit {_range([r.server_cpu_ms for r in runs])} ms"
              + (f" + PostgreSQL {_range([r.db_cpu_ms for r in runs if r.db_cpu_ms is not None])} ms"
                 if backend == "postgresql" else "")
              + f"; other processes kept {_range([r.others_cores for r in runs])} CPUs busy meanwhile")
        ok = ok and errors == 0 and duplicates == 0 and lost == 0
    if not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
