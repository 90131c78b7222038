"""``quizgen serve`` (the checking service) and ``quizgen audit`` (its hash chain)."""

from __future__ import annotations

import os
import signal
import socket

import click

from .options import emit_json, json_option, key_file_option, open_store, quiz_argument


def _rate(value: str) -> tuple[int, int]:
    count, _, seconds = value.partition("/")
    try:
        n, s = int(count), int(seconds)
    except ValueError:
        raise click.BadParameter("write it as COUNT/SECONDS, e.g. 30/600") from None
    if not (1 <= n <= 100_000 and 1 <= s <= 86_400):
        raise click.BadParameter("COUNT must be 1-100,000 and SECONDS 1-86,400")
    return n, s


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True,
              help="Port to listen on (0: any free port, printed at start).")
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Server processes sharing the port (and the database).")
@key_file_option
@click.option("--lti-key-file", metavar="FILE",
              help="The LTI tool's key file (made on first start, mode 0600) [default: beside the database].")
@click.option("--rate-limit", default="30/600", show_default=True, metavar="COUNT/SECONDS",
              help="Graded submissions a student may make to one quiz within SECONDS.")
@click.option("--ssl-certfile", metavar="FILE", help="TLS certificate (PEM), to serve HTTPS.")
@click.option("--ssl-keyfile", metavar="FILE", help="TLS private key (PEM).")
@click.option("--insecure-http", is_flag=True,
              help="Allow plain HTTP on a non-loopback address (tokens then cross the network unencrypted).")
@click.option("--forwarded-allow-ips", default="", metavar="ADDRESSES",
              help="Reverse proxies (addresses or networks, comma-separated) whose X-Forwarded-For names the "
                   "client [default: none; behind nginx on this machine: 127.0.0.1].")
@click.option("--log-level", type=click.Choice(["critical", "error", "warning", "info"]), default="info",
              show_default=True, help="How much the server logs (info includes the access log).")
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, workers: int, key_file: str | None, lti_key_file: str | None,
          rate_limit: str, ssl_certfile: str | None, ssl_keyfile: str | None, insecure_http: bool,
          forwarded_allow_ips: str, log_level: str) -> None:
    """Serve the checking service: students submit over HTTP and are graded on arrival.

    It never creates or migrates a database: run 'quizgen db upgrade' first. Put it
    behind a TLS reverse proxy (or give --ssl-certfile/--ssl-keyfile) before
    students connect from other machines.

    \b
    Example:
      quizgen --db class.db serve --port 8080 --workers 2
    """
    from ..classroom.attempts import RateLimit
    from ..classroom.keys import default_key_file, load_signer, register_key
    from ..service.addresses import TrustedProxies
    from ..service.settings import ENV, ServiceSettings

    if (ssl_certfile is None) != (ssl_keyfile is None):
        raise click.UsageError("give both --ssl-certfile and --ssl-keyfile, or neither")
    tls = ssl_certfile is not None
    from ..servers import is_loopback

    if not is_loopback(host) and not tls and not insecure_http:
        raise click.UsageError(
            f"listening on {host} without TLS would send every student's token over the network in clear text; "
            "give --ssl-certfile/--ssl-keyfile, or keep quizgen on 127.0.0.1 behind a TLS reverse proxy, "
            "or pass --insecure-http if the network is trusted")
    db = ctx.find_root().obj["db"]
    count, seconds = _rate(rate_limit)
    proxies = TrustedProxies.parse(forwarded_allow_ips)  # a bad entry: one line, before anything starts
    from ..classroom.lti.keys import default_key_file as default_lti_key_file
    from ..classroom.lti.keys import load_keys

    lti_key_file = lti_key_file or default_lti_key_file(db)
    settings = ServiceSettings(db=db, key_file=key_file or default_key_file(db), rate_limit=RateLimit(count, seconds),
                               lti_key_file=lti_key_file, forwarded_allow_ips=tuple(proxies.as_text()))
    store = open_store(ctx)  # refuses a missing, empty or outdated database now, in one line
    register_key(store, load_signer(settings.key_file))
    load_keys(lti_key_file)  # made once, before the workers start (they would race to make it)
    store.dispose()
    os.environ[ENV] = settings.to_env()
    sock = _bind(host, port)
    scheme = "https" if tls else "http"
    bound_host, bound_port = sock.getsockname()[:2]
    shown = f"[{bound_host}]" if ":" in bound_host else bound_host
    click.echo(f"quizgen serving {scheme}://{shown}:{bound_port}/ ({workers} worker(s)); Ctrl-C stops it", err=True)
    _run(sock, workers, log_level, ssl_certfile, ssl_keyfile)


def _bind(host: str, port: int) -> socket.socket:
    from ..errors import QuizgenError

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise QuizgenError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _exit_cleanly(signum: int, frame: object) -> None:
    raise SystemExit(0)


def _run(sock: socket.socket, workers: int, log_level: str, certfile: str | None, keyfile: str | None) -> None:
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    config = uvicorn.Config("quizgen.service.app:app_from_env", factory=True, workers=workers, log_level=log_level,
                            ssl_certfile=certfile, ssl_keyfile=keyfile,
                            # the client's address is read by quizgen itself (service.addresses), from
                            # the proxies --forwarded-allow-ips names; uvicorn's reading trusted loopback
                            proxy_headers=False, timeout_graceful_shutdown=10, server_header=False)
    server = uvicorn.Server(config)
    # uvicorn shuts down gracefully on SIGTERM/SIGINT, then raises the signal again with the
    # handlers it found installed: these make that a normal exit (status 0), not a kill.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _exit_cleanly)
    if workers > 1:
        Multiprocess(config, sockets=[sock]).run()
    else:
        server.run(sockets=[sock])


@click.command()
@quiz_argument
@key_file_option
@json_option
@click.pass_context
def audit(ctx: click.Context, quiz: str, key_file: str | None, as_json: bool) -> None:
    """Rebuild a quiz's transparency log from its rows; check every checkpoint and receipt.

    Names each attempt changed, removed, inserted, reordered or relabelled since it was
    logged, every attempt without a valid signature, and every checkpoint the server
    signed that is gone; lists attempts not yet in a checkpoint as pending. Signatures
    are checked against the server's key file (--key-file), not the database's keys.
    Exit 1 when anything is found.

    \b
    Example:
      quizgen audit 1 --key-file /srv/quizgen/class.key
    """
    from ..classroom.audit import audit_quiz, trust_for

    store = open_store(ctx)
    report = audit_quiz(store, quiz, trust_for(store, ctx.find_root().obj["db"], key_file))
    if as_json:
        emit_json(report.to_json())
    else:
        for problem in report.problems:
            click.echo(f"quiz {report.quiz_id}, {problem}")
        for waiting in report.pending:
            click.echo(f"quiz {report.quiz_id}, pending: {waiting}")
        verdict = "intact" if report.intact else f"BROKEN ({len(report.problems)} problem(s))"
        click.echo(f"Quiz {report.quiz_id}: {report.attempts} attempt(s), {report.signed} signed receipt(s) and "
                   f"{report.checkpoints} signed checkpoint(s) checked against {report.trust}; log {verdict}; "
                   f"{len(report.pending)} pending; latest checkpoint: size {report.size}, root {report.head[:16]}…",
                   err=True)
    if not report.intact:
        ctx.exit(1)


@click.command()
@quiz_argument
@json_option
@click.pass_context
def checkpoints(ctx: click.Context, quiz: str, as_json: bool) -> None:
    """Print a quiz's signed checkpoints, for publishing.

    Anyone holding a published checkpoint can later ask the server for a consistency
    proof (GET /api/v1/quizzes/QUIZ/proof?from=M&to=N): a log rewritten under it shows.

    
    Example:
      quizgen checkpoints 1 --json > quiz1-checkpoints.json
    """
    from ..classroom.tlog import checkpoints as quiz_checkpoints

    found = quiz_checkpoints(open_store(ctx), quiz)
    if as_json:
        emit_json([c.to_json() for c in found])
        return
    for c in found:
        click.echo(c.note.rstrip("\n") + "\n" if c.note else
                   f"(size {c.size}, root {c.root}: the upgrade's base, signed when the server next starts)\n")
