"""The system's nginx, run with deploy/nginx.conf in front of local processes."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from tests.support.server import free_port

ROOT = Path(__file__).resolve().parents[2]
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)


def local_config(upstreams: list[int], port: int, prefix: Path) -> str:
    """deploy/nginx.conf with the replicas and the listen port made local."""
    conf = (ROOT / "deploy" / "nginx.conf").read_text()
    servers = "".join(
        f"        server 127.0.0.1:{p} max_fails=1 fail_timeout=5s;\n" for p in upstreams
    )
    conf, found = re.subn(
        r"(upstream\s+ensemble\s*\{\s*\n\s*least_conn;\n)(?:\s*server [^\n]*\n)+",
        lambda m: m.group(1) + servers,
        conf,
    )
    assert found == 1, "could not find the upstream servers in deploy/nginx.conf"
    conf = conf.replace("listen 80;", f"listen 127.0.0.1:{port};")
    conf = conf.replace("worker_processes auto;", "worker_processes 1;")
    conf = conf.replace("worker_connections 16384;", "worker_connections 1024;")
    temp = "".join(
        f"    {kind}_temp_path {prefix / kind};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    conf = conf.replace("/var/log/nginx/access.log", str(prefix / "access.log"))
    return conf.replace("http {\n", f"http {{\n{temp}", 1)


class Nginx:
    def __init__(self, upstreams: list[int]) -> None:
        self.port = free_port()
        self.prefix = Path(tempfile.mkdtemp(prefix="ensemble-nginx-"))
        self.prefix.chmod(0o777)
        (self.prefix / "nginx.conf").write_text(local_config(upstreams, self.port, self.prefix))
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 10.0) -> Nginx:
        assert NGINX, "nginx is not installed"
        directives = f"daemon off; pid {self.prefix}/nginx.pid; error_log {self.prefix}/error.log;"
        self.process = subprocess.Popen(
            [
                NGINX,
                "-p",
                str(self.prefix),
                "-c",
                str(self.prefix / "nginx.conf"),
                "-g",
                directives,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                log = (self.prefix / "error.log").read_text(errors="replace")
                raise RuntimeError(f"nginx exited with {self.process.returncode}: {log}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise TimeoutError("nginx did not listen in time")

    @property
    def access_log(self) -> Path:
        return self.prefix / "access.log"

    def stop(self) -> None:
        self.halt()
        shutil.rmtree(self.prefix, ignore_errors=True)

    def halt(self) -> None:
        """Stop nginx and keep its files (the access log) until `stop`."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
