"""Start a real `ensemble serve` process on a free loopback port; stop it by pid."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ServerProcess:
    port: int
    args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    module: str = "ensemble"  # what `python -m` runs: `ensemble`, or a test's wrapper of it

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def start(self, timeout: float = 15.0) -> ServerProcess:
        if "ENSEMBLE_DATA_DIR" not in self.env:
            # Each server its own SQLite file, kept across its restarts.
            self.env["ENSEMBLE_DATA_DIR"] = tempfile.mkdtemp(prefix="ensemble-data-")
        # Tests create many rooms from one address: the creation limit is
        # raised unless a test sets it (the limit itself has its own test).
        env = {**os.environ, "ENSEMBLE_SECRET": "test-secret",
               "ENSEMBLE_ROOMS_PER_MINUTE": "100000", "ENSEMBLE_ROOMS_BURST": "100000",
               **self.env}
        self.log_path = self.log_path or Path(tempfile.gettempdir()) / f"ensemble-{self.port}.log"
        log = open(self.log_path, "ab")  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "-m", self.module, "serve", "--host", "127.0.0.1",
             "--port", str(self.port), "--log-level", "warning", *self.args],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}")
            try:
                with urllib.request.urlopen(f"{self.http}/healthz", timeout=1) as reply:
                    if reply.status == 200:
                        return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise TimeoutError("server did not become healthy")

    def kill(self) -> None:
        """SIGKILL: the process dies without a goodbye."""
        if self.process and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


def start_server(*args: str, env: dict[str, str] | None = None) -> ServerProcess:
    return ServerProcess(free_port(), list(args), env or {}).start()
