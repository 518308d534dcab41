"""A real PostgreSQL server for tests: its own cluster in a temp dir, a free loopback port.

initdb + postgres from /usr/local/bin (or PATH). As root, the server runs as
the `postgres` system user (PostgreSQL refuses root). Started and stopped by
pid; `kill()` is SIGKILL. Every test gets a database of its own (`new_database`).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from typing import Any

from tests.support.redis_server import free_port


def _program(name: str) -> str:
    for candidate in (f"/usr/local/bin/{name}", shutil.which(name)):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise FileNotFoundError(f"{name} not found: run scripts/system-packages.sh")


class PostgresServer:
    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self._port_fixed = False
        self._dir = tempfile.mkdtemp(prefix="ensemble-pg-")
        self.data = os.path.join(self._dir, "data")
        self._user: dict[str, Any] = {}
        if os.geteuid() == 0:
            entry = pwd.getpwnam("postgres")
            os.chown(self._dir, entry.pw_uid, entry.pw_gid)
            self._user = {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}
        subprocess.run(
            [_program("initdb"), "-D", self.data, "-U", "postgres", "--auth=trust",
             "-E", "UTF8", "--no-sync", "--locale=C"],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **self._user,
        )  # fmt: skip

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    @property
    def pid(self) -> int:
        assert self.process is not None, "postgres is not running"
        return self.process.pid

    def start(self, timeout: float = 20.0) -> None:
        """Start; a first start moves to another port when the picked one was
        taken meanwhile, a restart keeps its port (clients reconnect to it)."""
        for _ in range(5):
            self.process = subprocess.Popen(
                [_program("postgres"), "-D", self.data, "-p", str(self.port),
                 "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={self._dir}",
                 "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "max_connections=200"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **self._user,
            )  # fmt: skip
            if self._wait_ready(timeout):
                self._port_fixed = True
                return
            if self._port_fixed:
                raise RuntimeError(f"postgres could not start again on port {self.port}")
            self.port = free_port()  # the port was taken meanwhile
        raise RuntimeError("postgres found no free port")

    def _wait_ready(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                return False
            if self._accepts():
                return True
            time.sleep(0.05)
        raise TimeoutError(f"postgres on port {self.port} not ready in {timeout}s")

    def _accepts(self) -> bool:
        result = subprocess.run(
            [_program("pg_isready"), "-h", "127.0.0.1", "-p", str(self.port), "-t", "1"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False,
        )
        return result.returncode == 0

    def new_database(self) -> str:
        """A fresh, empty database; returns its postgresql:// URL."""
        name = f"t_{secrets.token_hex(6)}"
        subprocess.run(
            [_program("psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
             "-q", "-c", f"CREATE DATABASE {name}"],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        return self.url(name)

    def stop(self) -> None:
        """Fast shutdown (SIGINT), then SIGKILL if it lingers."""
        if self.process is None or self.process.poll() is not None:
            return
        os.kill(self.process.pid, signal.SIGINT)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self._dir, ignore_errors=True)


@contextlib.contextmanager
def running_postgres() -> Iterator[PostgresServer]:
    server = PostgresServer()
    try:
        server.start()
        yield server
    finally:
        server.cleanup()
