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

AIMS = {"sqlite": 200.0, "postgresql": 150.0}  # #9's fixed aims, for --no-floor
P99_AIM_MS = 250.0
FLOOR_RATIO_AIM = 0.5  # #17: at least half the floor's submits/s
CPU_AIM_MS = 2.5  # #17: server CPU per graded, signed submit
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
    """A server (``quizgen serve``, or the floor app) in its own session, on a port the OS
    chose; stopped with SIGTERM."""

    def __init__(self, command: list[str], tmp: Path, what: str, tag: str):
        self.what, self.tag = what, tag
        self.log = tmp / f"serve-{time.monotonic_ns()}.log"
        env = {**os.environ, "PYTHONPATH": str(ROOT)}  # the checkout this script sits in
        with open(self.log, "w") as handle:
            self.proc = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT, env=env,
                                         start_new_session=True)
        deadline = time.monotonic() + 60
        port = None
        while time.monotonic() < deadline and port is None:
            m = _LISTENING.search(self.log.read_text())
            if m:
                port = int(m.group(1))
            elif self.proc.poll() is not None:
                raise SystemExit(f"{what} exited at start: {self.log.read_text()[-2000:]}")
            else:
                time.sleep(0.05)
        if port is None:
            self.stop()
            raise SystemExit(f"{what} did not start within 60 s")
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
            raise SystemExit(f"{what} never became healthy: {self.log.read_text()[-2000:]}")

    @classmethod
    def quizgen(cls, db: str, tmp: Path, workers: int, rate_limit: str) -> Served:
        return cls([sys.executable, "-m", "quizgen", "--db", db, "serve", "--port", "0", "--workers", str(workers),
                    "--rate-limit", rate_limit, "--log-level", "warning", "--key-file", str(tmp / "receipt.key")],
                   tmp, "quizgen serve", "quizgen")

    @classmethod
    def floor(cls, db: str, tmp: Path, workers: int) -> Served:
        return cls([sys.executable, str(ROOT / "bench" / "floor_app.py"), "--db", db, "--port", "0", "--workers",
                    str(workers)], tmp, "the floor app", "floor")

    def workers(self) -> list[psutil.Process]:
        """The worker processes (uvicorn's supervisor's children; the one process with --workers 1)."""
        root = psutil.Process(self.proc.pid)
        children = [c for c in root.children() if "resource_tracker" not in " ".join(c.cmdline())]
        return children or [root]

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


# ---------------------------------------------------------------- profiling (--profile)

@dataclass
class Spy:
    """py-spy recording one worker's stacks while the load runs: only the thread holding
    Python's GIL is sampled (py-spy's own idle detection counts threads waiting on a
    queue or a socket as busy), so C code that releases the GIL (SQLite's fsync, psycopg
    waiting for the server) is left out, as the wait it mostly is."""

    worker: int
    out: Path
    proc: subprocess.Popen
    process: psutil.Process | None


def start_profilers(server: Served, folder: Path) -> list[Spy]:
    """One ``py-spy record`` per worker process, writing collapsed stacks to ``folder``."""
    import shutil

    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    folder.mkdir(parents=True, exist_ok=True)
    spies = []
    for worker in server.workers():
        out = folder / f"{server.tag}-{worker.pid}.txt"
        proc = subprocess.Popen([spy, "record", "--pid", str(worker.pid), "--rate", "250", "--gil", "--format", "raw",
                                 "--output", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            process = psutil.Process(proc.pid)
        except psutil.NoSuchProcess:
            process = None
        spies.append(Spy(worker.pid, out, proc, process))
    time.sleep(0.5)  # py-spy attaches
    return spies


def stop_profilers(spies: list[Spy]) -> None:
    for s in spies:
        s.proc.send_signal(signal.SIGINT)  # py-spy writes what it has and exits
    for s in spies:
        try:
            _, err = s.proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            s.proc.kill()
            _, err = s.proc.communicate()
        if not s.out.exists():
            print(f"  (py-spy wrote no profile of worker {s.worker}: {err.decode(errors='replace')[-500:]})")


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
        load.acked.append((s.id, body.get("attempt"), key, body.get("receipt")))  # the floor's have neither
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


def check_floor(db: str, load: Load) -> tuple[int, int]:
    """The floor's stored rows, read after it stopped: (stored, acknowledged but missing)."""
    stored = _count_rows(db, "SELECT count(*) FROM submissions")
    return stored, max(0, len(load.acked) - stored)


def _count_rows(db: str, sql: str) -> int:
    if db.startswith("postgresql"):
        import psycopg

        with psycopg.connect(db) as pcon:
            return int(pcon.execute(sql).fetchone()[0])  # type: ignore[index]  # a count has one row
    import sqlite3

    con = sqlite3.connect(db)
    try:
        return int(con.execute(sql).fetchone()[0])
    finally:
        con.close()


# ---------------------------------------------------------------- one run

@dataclass(frozen=True)
class Result:
    app: str  # "quizgen" or "floor"
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
    stored: int

    def line(self) -> str:
        db_cpu = f" + PostgreSQL {self.db_cpu_ms:.2f} ms" if self.db_cpu_ms is not None else ""
        mode = f"paced {self.paced:.0f}/s" if self.paced else "closed loop"
        return (f"  {self.backend:<10} {self.app:<7} {mode:<12} {self.rate:6.1f} submits/s; p50 {self.p50_ms:5.1f} ms, "
                f"p99 {self.p99_ms:6.1f} ms; errors {sum(self.errors.values())}"
                f"{' ' + json.dumps(self.errors) if self.errors else ''}; duplicates {self.duplicates}; "
                f"lost {self.lost}; CPU per submit: server {self.server_cpu_ms:.2f} ms{db_cpu}, "
                f"load generator {self.client_cpu_ms:.2f} ms; other processes kept {self.others_cores:.1f} of "
                f"{os.cpu_count()} CPUs busy")


def ratio_line(q: Result, floor: Result) -> str:
    """quizgen's closed-loop figures against the floor's of the same round."""
    with_db = (q.server_cpu_ms + (q.db_cpu_ms or 0)) / (floor.server_cpu_ms + (floor.db_cpu_ms or 0))
    db = f", with PostgreSQL's {with_db:.2f}x" if q.db_cpu_ms is not None and floor.db_cpu_ms is not None else ""
    return (f"  {q.backend:<10} quizgen / floor: submits/s {q.rate / floor.rate:.2f}x (aim >= {FLOOR_RATIO_AIM}x), "
            f"p50 {q.p50_ms / floor.p50_ms:.2f}x, p99 {q.p99_ms / floor.p99_ms:.2f}x, server CPU per submit "
            f"{q.server_cpu_ms / floor.server_cpu_ms:.2f}x{db} ({q.server_cpu_ms:.2f} ms, aim <= {CPU_AIM_MS} ms: "
            f"{CPU_AIM_MS / q.server_cpu_ms:.2f}x)")


def _measure(app: str, backend: str, server: Served, pg: DurablePg | None, quiz: int, students: list[Student],
             args: argparse.Namespace, rate: float, replay_every: int,
             profile: Path | None = None) -> tuple[Load, dict[str, float]]:
    """Warm the server up, then drive the measured load; the load and its CPU figures."""
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
    spies = start_profilers(server, profile) if profile is not None else []
    try:
        asyncio.run(_drive(server.url, quiz, students, args.clients, args.count, args.seconds, replay_every,
                           load, True, args.client, rate))
    finally:
        stop_profilers(spies)
    server_cpu = _cpu_spent(before, server.processes())
    db_cpu = _cpu_spent(db_before, pg.processes()) if pg is not None and db_procs else None
    mine_after = me.cpu_times()
    client_cpu = mine_after.user + mine_after.system - mine.user - mine.system
    spy_cpu = sum(_cpu_spent({}, [s.process]) for s in spies if s.process is not None)
    others = _busy() - machine - server_cpu - (db_cpu or 0.0) - client_cpu - spy_cpu
    figures = {"acked_before": acked_before, "server": server_cpu, "client": client_cpu, "others": others}
    if db_cpu is not None:
        figures["db"] = db_cpu
    return load, figures


def _result(app: str, backend: str, rate: float, load: Load, figures: dict[str, float], errors: dict[str, int],
            duplicates: int, lost: int, stored: int) -> Result:
    submits = len(load.acked) - int(figures["acked_before"])
    lat = sorted(load.latencies) or [float("nan")]
    p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000  # noqa: E731
    per = lambda seconds: seconds / max(1, submits) * 1000  # noqa: E731
    return Result(app, backend, rate, submits, submits / load.elapsed, p(0.50), p(0.99), errors, duplicates, lost,
                  load.replays, per(figures["server"]), per(figures["db"]) if "db" in figures else None,
                  per(figures["client"]), max(0.0, figures["others"] / load.elapsed), stored)


def _fresh_db(backend: str, tmp: Path, pg: DurablePg | None, what: str) -> str:
    return str(tmp / f"{what}-{time.monotonic_ns()}.db") if backend == "sqlite" else pg.new_database()  # type: ignore[union-attr]


def _drop_sqlite(backend: str, db: str) -> None:
    if backend == "sqlite":
        for suffix in ("", "-wal", "-shm", ".receipt-key", ".lti-key"):
            Path(db + suffix).unlink(missing_ok=True)


def run_once(backend: str, args: argparse.Namespace, tmp: Path, pg: DurablePg | None, rate: float = 0,
             profile: Path | None = None) -> Result:
    """quizgen serve on a fresh class: one load, then every attempt checked against what the clients were told."""
    db = _fresh_db(backend, tmp, pg, "bench")
    quiz, students = build_class(db, args.students, args.attempts)
    server = Served.quizgen(db, tmp, args.workers, args.rate_limit)
    try:
        public_key = httpx.get(f"{server.url}/api/v1/receipt-key", trust_env=False).json()["public_key"]
        load, figures = _measure("quizgen", backend, server, pg, quiz, students, args, rate, args.replay_every,
                                 profile)
    finally:
        code = server.stop()
    if code != 0:
        print(f"  (quizgen serve exited {code}: {server.log.read_text()[-1000:]})")
    check = check_database(db, quiz, load, public_key)
    _drop_sqlite(backend, db)
    duplicates = (check.duplicate_keys + check.unknown_keys + load.replay_duplicates
                  + max(0, check.stored - len(load.sent_keys)))
    errors = dict(load.errors)
    if not check.chain_intact:
        errors["audit: log not intact"] = 1
        print(f"  quizgen audit: {len(check.audit_problems)} problem(s), e.g. {check.audit_problems[:3]}")
    if check.bad_signatures:
        errors["bad receipt signature"] = check.bad_signatures
    return _result("quizgen", backend, rate, load, figures, errors, duplicates, check.lost, check.stored)


def run_floor(backend: str, args: argparse.Namespace, tmp: Path, pg: DurablePg | None,
              profile: Path | None = None) -> Result:
    """The floor app (bench/floor_app.py) under the same load, with the same students and tokens."""
    from floor_app import make_floor_db

    db = _fresh_db(backend, tmp, pg, "floor")
    _, students = class_for(args)
    make_floor_db(db, [(s.id, s.token) for s in students])
    server = Served.floor(db, tmp, args.workers)
    try:
        load, figures = _measure("floor", backend, server, pg, 1, students, args, 0.0, 0, profile)
    finally:
        code = server.stop()
    if code != 0:
        print(f"  (the floor app exited {code}: {server.log.read_text()[-1000:]})")
    stored, lost = check_floor(db, load)
    _drop_sqlite(backend, db)
    return _result("floor", backend, 0.0, load, figures, dict(load.errors),
                   max(0, stored - len(load.sent_keys)), lost, stored)


_CLASS: dict[tuple[int, int], tuple[int, list[Student]]] = {}


def class_for(args: argparse.Namespace) -> tuple[int, list[Student]]:
    """The students (ids, tokens, answers) of the bench's class, made once per run of the script
    in a scratch database: the floor is loaded with the same requests quizgen gets."""
    key = (args.students, args.attempts)
    if key not in _CLASS:
        with tempfile.TemporaryDirectory(prefix="quizgen-bench-class-") as tmp:
            _CLASS[key] = build_class(str(Path(tmp) / "class.db"), args.students, args.attempts)
    return _CLASS[key]


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
    parser.add_argument("--count", type=int, default=8000, help="at most this many submissions per run")
    parser.add_argument("--seconds", type=float, default=15, help="and at most this long per run")
    parser.add_argument("--students", type=int, default=1000, help="the class size")
    parser.add_argument("--attempts", type=int, default=30, help="the quiz's attempt limit")
    parser.add_argument("--workers", type=int, default=2, help="quizgen serve --workers (and the floor's)")
    parser.add_argument("--rate-limit", default="30/600", help="quizgen serve --rate-limit (its default)")
    parser.add_argument("--client", choices=["raw", "httpx"], default="raw",
                        help="the load generator's HTTP client: a minimal keep-alive one, or httpx (more CPU)")
    parser.add_argument("--floor", action=argparse.BooleanOptionalAction, default=True,
                        help="measure the floor (bench/floor_app.py) in each round too, and print quizgen's ratios "
                             "to it; the paced run offers half the floor's rate (--no-floor: the fixed aims)")
    parser.add_argument("--no-paced", action="store_true", help="only the closed-loop run (the most the server does)")
    parser.add_argument("--replay-every", type=int, default=50,
                        help="every Nth submission is sent twice at once with the same key (0: never)")
    parser.add_argument("--profile", type=Path, metavar="DIR",
                        help="record each quizgen worker's stacks with py-spy during the closed-loop runs, write "
                             "them to DIR and print where the CPU went (bench/profile_stacks.py)")
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run of seconds: per backend, the floor and quizgen, one closed-loop run of "
                             "about 2 s each, 16 clients, 100 students (PostgreSQL too when its server is installed)")
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
    print(f"quizgen serve --workers {args.workers} on 127.0.0.1, {os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.2f} at the start; {args.clients} clients; {args.students} students, one quiz of "
          f"{len(KINDS)} questions, feedback full (graded on arrival, signed receipts); up to {args.count:,} "
          f"submissions or {args.seconds:.0f} s per run; every {args.replay_every}th sent twice at once with one "
          f"Idempotency-Key. Each round: "
          + ("the floor (bench/floor_app.py: FastAPI + uvicorn, --workers the same, token checked against a table, "
             "one durable insert) in a closed loop, then " if args.floor else "")
          + "quizgen in a closed loop (every client sends again as soon as it is answered: the most the server does)"
          + ("" if args.no_paced else ", then quizgen paced at "
             + ("half the floor's rate" if args.floor else "the aim's rate") + " (latency from when each was due)"))
    results: dict[str, list[Result]] = {b: [] for b in backends}
    floors: dict[str, list[Result]] = {b: [] for b in backends}
    ratios: dict[str, list[float]] = {b: [] for b in backends}
    with tempfile.TemporaryDirectory(prefix="quizgen-bench-") as tmp:
        pg = DurablePg().start() if "postgresql" in backends else None
        try:
            for n in range(args.rounds):
                for backend in (backends if n % 2 == 0 else backends[::-1]):
                    profile = args.profile / f"{backend}-{n}" if args.profile is not None else None
                    floor = run_floor(backend, args, Path(tmp), pg, profile) if args.floor else None
                    if floor is not None:
                        floors[backend].append(floor)
                        print(floor.line(), flush=True)
                        if profile is not None:
                            from profile_stacks import summary

                            print(summary(sorted(profile.glob("floor-*.txt")), indent="    "), flush=True)
                    closed_run = run_once(backend, args, Path(tmp), pg, 0.0, profile)
                    results[backend].append(closed_run)
                    print(closed_run.line(), flush=True)
                    if floor is not None:
                        ratios[backend].append(closed_run.rate / floor.rate)
                        print(ratio_line(closed_run, floor), flush=True)
                    if profile is not None:
                        from profile_stacks import summary

                        print(summary(sorted(profile.glob("quizgen-*.txt")), indent="    "), flush=True)
                    if not args.no_paced:
                        rate = floor.rate / 2 if floor is not None else AIMS[backend]
                        paced_run = run_once(backend, args, Path(tmp), pg, rate)
                        results[backend].append(paced_run)
                        print(paced_run.line(), flush=True)
        finally:
            if pg is not None:
                pg.stop()
    print(f"summary (median, range over the runs; load average {os.getloadavg()[0]:.2f} at the end):")
    ok = True
    for backend, runs in results.items():
        closed = [r for r in runs if not r.paced]
        paced = [r for r in runs if r.paced]
        rates = [r.rate for r in closed]
        p99 = [r.p99_ms for r in closed]
        cpu = [r.server_cpu_ms for r in closed]
        if floors[backend]:
            fl = floors[backend]
            print(f"  {backend}, floor, closed loop: {_range([r.rate for r in fl])} submits/s; p50 "
                  f"{_range([r.p50_ms for r in fl])} ms, p99 {_range([r.p99_ms for r in fl])} ms; server CPU per "
                  f"submit {_range([r.server_cpu_ms for r in fl], '{:.2f}')} ms"
                  + (f" + PostgreSQL {_range([r.db_cpu_ms for r in fl if r.db_cpu_ms is not None], '{:.2f}')} ms"
                     if backend == "postgresql" else "")
                  + f"; errors {sum(sum(r.errors.values()) for r in fl)}, lost {sum(r.lost for r in fl)}")
            q = ratios[backend]
            print(f"  {backend}, quizgen, closed loop: {_range(rates)} submits/s = {_range(q, '{:.2f}')}x the floor "
                  f"of the same round (aim >= {FLOOR_RATIO_AIM}x: {statistics.median(q) / FLOOR_RATIO_AIM:.2f}x)")
        else:
            aim = AIMS[backend]
            print(f"  {backend}, quizgen, closed loop: {_range(rates)} submits/s, aim >= {aim:.0f}: "
                  f"{statistics.median(rates) / aim:.2f}x (range {min(rates) / aim:.2f}-{max(rates) / aim:.2f}x)")
        print(f"  {backend}, quizgen, closed loop: p50 {_range([r.p50_ms for r in closed])} ms, p99 {_range(p99)} ms "
              f"(with {args.clients} clients always waiting, the mean latency is {args.clients} / submits/s = "
              f"{args.clients / statistics.median(rates) * 1000:.0f} ms); server CPU per graded, signed submit "
              f"{_range(cpu, '{:.2f}')} ms (aim <= {CPU_AIM_MS}: {CPU_AIM_MS / statistics.median(cpu):.2f}x)"
              + (f" + PostgreSQL {_range([r.db_cpu_ms for r in closed if r.db_cpu_ms is not None], '{:.2f}')} ms"
                 if backend == "postgresql" else ""))
        if paced:
            pp99 = [r.p99_ms for r in paced]
            print(f"  {backend}, quizgen, paced at {_range([r.paced for r in paced], '{:.0f}')}/s: served "
                  f"{_range([r.rate for r in paced])} submits/s; p50 {_range([r.p50_ms for r in paced])} ms, p99 "
                  f"{_range(pp99)} ms, aim <= {P99_AIM_MS:.0f}: {P99_AIM_MS / statistics.median(pp99):.2f}x")
        errors = sum(sum(r.errors.values()) for r in runs + floors[backend])
        duplicates = sum(r.duplicates for r in runs)
        lost = sum(r.lost for r in runs + floors[backend])
        print(f"  {backend}: errors {errors}, duplicates {duplicates}, acknowledged submissions lost {lost} (aims 0) "
              f"over {sum(r.submits for r in runs):,} measured submits and {sum(r.stored for r in runs):,} "
              f"stored attempts; other processes kept {_range([r.others_cores for r in runs])} CPUs busy meanwhile")
        ok = ok and errors == 0 and duplicates == 0 and lost == 0
    if not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
