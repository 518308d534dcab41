"""A real Redis Cluster for tests: N masters with a replica each, on free
loopback ports in their own directories, created with `redis-cli --cluster`.

Supports the faults the tests need: kill a master (its replica takes over),
and move a slot from one master to another while it is in use.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import time
from collections.abc import Iterator

from ensemble.backends.redis_keys import Keys
from tests.support.redis_server import RedisServer, free_cluster_port

REDIS_CLI = shutil.which("redis-cli") or "/usr/bin/redis-cli"


class RedisCluster:
    def __init__(self, masters: int = 3, replicas: int = 1, node_timeout_ms: int = 1000) -> None:
        self.size = masters * (1 + replicas)
        self.masters = masters
        self.replicas = replicas
        args = ("--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                "--cluster-node-timeout", str(node_timeout_ms),
                "--cluster-require-full-coverage", "no")
        self.nodes = [RedisServer(args=args, pick_port=free_cluster_port) for _ in range(self.size)]

    @property
    def url(self) -> str:
        """The URL Ensemble takes: every node, so any may be the way in."""
        hosts = ",".join(f"127.0.0.1:{node.port}" for node in self.nodes)
        return f"redis+cluster://{hosts}"

    def cli(self, port: int, *args: str, timeout: float = 30) -> str:
        done = subprocess.run(
            [REDIS_CLI, "-h", "127.0.0.1", "-p", str(port), *args],
            capture_output=True, text=True, timeout=timeout, check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"redis-cli {' '.join(args)}: {done.stderr or done.stdout}")
        return done.stdout

    def start(self, timeout: float = 30) -> None:
        for node in self.nodes:
            node.start()
        hosts = [f"127.0.0.1:{node.port}" for node in self.nodes]
        self.cli(self.nodes[0].port, "--cluster", "create", *hosts,
                 "--cluster-replicas", str(self.replicas), "--cluster-yes")
        self.wait_ok(timeout)

    def wait_ok(self, timeout: float = 30) -> None:
        """Until every live node says the cluster is ok and agrees on the masters."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            live = [n for n in self.nodes if n.process and n.process.poll() is None]
            if (all("cluster_state:ok" in self.cli(n.port, "cluster", "info") for n in live)
                    and len(self.master_ports()) == self.masters
                    and all(self._in_sync(n.port) for n in live)):
                return
            time.sleep(0.1)
        raise TimeoutError("the Redis Cluster did not settle")

    def _in_sync(self, port: int) -> bool:
        """A replica whose link to its master is up (it may take over); masters are."""
        info = self.cli(port, "info", "replication")
        return "role:master" in info or "master_link_status:up" in info

    def master_ports(self) -> list[int]:
        """Ports of the masters that own slots, as the first live node sees them."""
        for node in self.nodes:
            if node.process is None or node.process.poll() is not None:
                continue
            ports = []
            for line in self.cli(node.port, "cluster", "nodes").splitlines():
                fields = line.split()
                flags = fields[2].split(",")
                if "master" in flags and "fail" not in flags and len(fields) > 8:
                    ports.append(int(fields[1].split(":")[1].split("@")[0]))
            return sorted(ports)
        return []

    def owner_of(self, key: str) -> int:
        """The port of the master that owns `key`'s slot."""
        slot = int(self.cli(self.master_ports()[0], "cluster", "keyslot", key))
        return self.owner_of_slot(slot)

    def owner_of_room(self, room_id: str) -> int:
        """The port of the master that owns a room's slot (all its keys share it)."""
        return self.owner_of(Keys("ensemble").room(room_id, "state"))

    def owner_of_slot(self, slot: int) -> int:
        for port in self.master_ports():
            for line in self.cli(port, "cluster", "nodes").splitlines():
                fields = line.split()
                if "myself" not in fields[2]:
                    continue
                for span in fields[8:]:
                    if span.startswith("["):
                        continue
                    low, _, high = span.partition("-")
                    if int(low) <= slot <= int(high or low):
                        return port
        raise LookupError(f"no master owns slot {slot}")

    def node(self, port: int) -> RedisServer:
        return next(n for n in self.nodes if n.port == port)

    def replica_of(self, port: int) -> RedisServer:
        """The (first) replica of the master on `port`."""
        master_id = self.cli(port, "cluster", "myid").strip()
        for line in self.cli(port, "cluster", "nodes").splitlines():
            fields = line.split()
            if fields[3] == master_id:
                return self.node(int(fields[1].split(":")[1].split("@")[0]))
        raise LookupError(f"the master on {port} has no replica")

    def kill_master(self, port: int, timeout: float = 30) -> None:
        """SIGKILL a master and wait for its replica to take its slots over."""
        self.node(port).kill()
        self.wait_takeover(port, timeout)

    def wait_takeover(self, port: int, timeout: float = 30) -> None:
        """Until another master serves the slots of the (dead) master on `port`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if port not in self.master_ports() and len(self.master_ports()) == self.masters:
                self.wait_ok(timeout)
                return
            time.sleep(0.1)
        raise TimeoutError(f"no replica took over from {port}")

    def move_slot(self, slot: int, to_port: int) -> None:
        """Migrate one slot, keys and all, to the master on `to_port`."""
        source = self.owner_of_slot(slot)
        if source == to_port:
            return
        source_id = self.cli(source, "cluster", "myid").strip()
        target_id = self.cli(to_port, "cluster", "myid").strip()
        self.cli(to_port, "cluster", "setslot", str(slot), "importing", source_id)
        self.cli(source, "cluster", "setslot", str(slot), "migrating", target_id)
        while True:
            keys = self.cli(source, "cluster", "getkeysinslot", str(slot), "100").split()
            if not keys:
                break
            self.cli(source, "migrate", "127.0.0.1", str(to_port), "", "0", "5000",
                     "keys", *keys)
        for port in self.master_ports():
            self.cli(port, "cluster", "setslot", str(slot), "node", target_id)
        self.wait_ok()

    def stop(self) -> None:
        for node in self.nodes:
            node.cleanup()


@contextlib.contextmanager
def running_cluster(masters: int = 3, replicas: int = 1) -> Iterator[RedisCluster]:
    cluster = RedisCluster(masters, replicas)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
