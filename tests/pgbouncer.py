"""A throwaway PgBouncer (Debian's ``pgbouncer`` package) in front of the tests' PostgreSQL
server, in transaction mode, on 127.0.0.1 and a port of its own; the tests that need it
are skipped, saying so, when it is not installed."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from .pgserver import PgServer, _free_port


def pgbouncer_bin() -> str | None:
    return shutil.which("pgbouncer") or next((p for p in ("/usr/sbin/pgbouncer",) if Path(p).exists()), None)


class PgBouncer:
    """``pool_mode = transaction``: each transaction may run on any of the pool's server
    connections, as in a deployment with several quizgen servers on one PostgreSQL."""

    def __init__(self, server: PgServer, pool_size: int = 10):
        binary = pgbouncer_bin()
        if binary is None:
            raise FileNotFoundError("pgbouncer is not installed (Debian package 'pgbouncer')")
        self.binary, self.server = binary, server
        self.root = Path(tempfile.mkdtemp(prefix="quizgen-pgbouncer-"))
        self.port = _free_port()
        (self.root / "users.txt").write_text('"postgres" ""\n')
        (self.root / "pgbouncer.ini").write_text(
            "[databases]\n"
            f"* = host=127.0.0.1 port={server.port}\n"
            "[pgbouncer]\n"
            f"listen_addr = 127.0.0.1\nlisten_port = {self.port}\nunix_socket_dir =\n"
            f"auth_type = trust\nauth_file = {self.root / 'users.txt'}\n"
            f"pool_mode = transaction\ndefault_pool_size = {pool_size}\nmax_client_conn = 1000\n"
            f"logfile = {self.root / 'pgbouncer.log'}\npidfile = {self.root / 'pgbouncer.pid'}\n"
            "ignore_startup_parameters = extra_float_digits,options\n")
        if server.as_user:  # it refuses to run as root: as the server's own user
            shutil.chown(self.root, "postgres")
            for f in self.root.iterdir():
                shutil.chown(f, "postgres")
        self.proc: subprocess.Popen | None = None

    def start(self) -> PgBouncer:
        self.proc = subprocess.Popen([*self.server.as_user, self.binary, str(self.root / "pgbouncer.ini")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        import psycopg

        deadline = time.monotonic() + 30
        while True:
            try:
                with psycopg.connect(self.url("postgres"), connect_timeout=2, prepare_threshold=None) as con:
                    con.execute("SELECT 1")
                return self
            except psycopg.OperationalError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    log = (self.root / "pgbouncer.log").read_text() if (self.root / "pgbouncer.log").exists() else ""
                    self.stop()
                    raise RuntimeError(f"pgbouncer did not start: {log[-2000:]}") from None
                time.sleep(0.1)

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.root, ignore_errors=True)
