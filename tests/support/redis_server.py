"""A real redis-server for tests: own process, free loopback port, no persistence.

Never the shared one on 6379. Supports the failures the tests need: kill
(SIGKILL), pause (SIGSTOP) / resume (SIGCONT), and restart on the same port.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


CLUSTER_BUS_OFFSET = 10000  # a cluster node also listens on its port + 10000


def _bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def free_cluster_port() -> int:
    """A free port whose cluster bus port is free too: at most 55535, since
    the bus port must fit in 16 bits (a quarter of the kernel's picks do not)."""
    while True:
        port = free_port()
        if port + CLUSTER_BUS_OFFSET <= 65535 and _bindable(port + CLUSTER_BUS_OFFSET):
            return port


class PortTaken(RuntimeError):
    """redis-server exited at start (most likely its port was taken)."""


class RedisServer:
    def __init__(
        self,
        port: int | None = None,
        *,
        persist: bool = False,
        args: tuple[str, ...] = (),
        pick_port: Callable[[], int] = free_port,
    ) -> None:
        """`persist`: an append-only file fsynced on every write, so the data
        survives kill + restart (the default keeps nothing). `args`: more
        redis-server options (a cluster node's, for one); `pick_port` finds a
        port when none is given (a cluster node's needs a free bus port too)."""
        self._pick_port = pick_port
        self.port = port or pick_port()
        self.args = args
        self._port_chosen = port is not None
        self.persist = persist
        self.process: subprocess.Popen[bytes] | None = None
        self._dir = tempfile.mkdtemp(prefix="ensemble-redis-")
        self.paused = False

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def pid(self) -> int:
        assert self.process is not None, "redis-server is not running"
        return self.process.pid

    def start(self, timeout: float = 10.0) -> None:
        """Start; a first start on a port picked here moves to another port when
        the picked one was taken meanwhile (other test runs pick ports too)."""
        for _ in range(5):
            try:
                self._spawn(timeout)
                break
            except PortTaken:
                if self._port_chosen:
                    raise
                self.port = self._pick_port()
        else:
            raise RuntimeError("redis-server found no free port")
        self._port_chosen = True  # restarts keep this port: clients reconnect to it

    def _spawn(self, timeout: float) -> None:
        assert self.process is None or self.process.poll() is not None, "already running"
        self.process = subprocess.Popen(
            [
                REDIS_SERVER,
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--save", "",
                "--appendonly", "yes" if self.persist else "no",
                "--appendfsync", "always",
                "--dir", self._dir,
                "--loglevel", "warning",
                *self.args,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        self.paused = False
        try:
            self.wait_ready(timeout)
        except TimeoutError:
            self.kill()  # never leave behind a server nobody will stop
            raise

    def wait_ready(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise PortTaken(f"redis-server exited with {self.process.returncode}")
            if self.ping():
                return
            time.sleep(0.02)
        raise TimeoutError(f"redis-server on port {self.port} not ready in {timeout}s")

    def ping(self, timeout: float = 0.5) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as sock:
                sock.sendall(b"PING\r\n")
                # A server with a password answers NOAUTH: up all the same.
                return sock.recv(16).startswith((b"+PONG", b"-NOAUTH"))
        except OSError:
            return False

    def kill(self) -> None:
        """SIGKILL and reap; the data is gone (no persistence)."""
        if self.process is None or self.process.poll() is not None:
            return
        if self.paused:
            os.kill(self.process.pid, signal.SIGCONT)
            self.paused = False
        self.process.kill()
        self.process.wait(timeout=10)

    def stop(self) -> None:
        self.kill()
        self.process = None

    def restart(self, timeout: float = 10.0) -> None:
        self.kill()
        self.start(timeout)

    def pause(self) -> None:
        os.kill(self.pid, signal.SIGSTOP)
        self.paused = True

    def resume(self) -> None:
        os.kill(self.pid, signal.SIGCONT)
        self.paused = False

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self._dir, ignore_errors=True)


@contextlib.contextmanager
def running_redis(*, persist: bool = False) -> Iterator[RedisServer]:
    server = RedisServer(persist=persist)
    try:
        server.start()
        yield server
    finally:
        server.cleanup()
