"""docker-compose.yml, Dockerfile and deploy/nginx.conf, checked statically
(Docker cannot run here; test_balancer.py runs the same topology for real)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]


def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def upstream_servers(conf: str) -> list[str]:
    block = re.search(r"upstream\s+ensemble\s*\{(.*?)\}", conf, re.S)
    assert block, "nginx.conf has no `upstream ensemble` block"
    return re.findall(r"^\s*server\s+([^\s;]+)", block.group(1), re.M)


def replicas(services: dict[str, Any]) -> dict[str, Any]:
    return {name: s for name, s in services.items() if name.startswith("ensemble-")}


def test_compose_has_redis_three_replicas_and_nginx():
    services = compose()["services"]
    assert {"redis", "nginx"} <= set(services)
    apps = replicas(services)
    assert sorted(apps) == ["ensemble-1", "ensemble-2", "ensemble-3"]
    assert "appendonly" in " ".join(services["redis"]["command"])


def test_replicas_share_redis_and_secret_and_have_own_node_ids():
    apps = replicas(compose()["services"])
    envs = [app["environment"] for app in apps.values()]
    assert {e["ENSEMBLE_REDIS_URL"] for e in envs} == {"redis://redis:6379/0"}
    assert len({e["ENSEMBLE_SECRET"] for e in envs}) == 1  # tokens work on every replica
    assert len({e["ENSEMBLE_NODE_ID"] for e in envs}) == 3
    for app in apps.values():
        assert app["build"] == "."
        assert app["depends_on"]["redis"]["condition"] == "service_healthy"
        assert app["expose"] == ["8000"] and "ports" not in app  # only nginx is published
        assert all(e["ENSEMBLE_PORT"] == "8000" for e in envs)


def test_nginx_publishes_localhost_8000_and_balances_every_replica():
    services = compose()["services"]
    nginx = services["nginx"]
    assert nginx["ports"] == ["127.0.0.1:8000:80"]
    assert "./deploy/nginx.conf:/etc/nginx/nginx.conf:ro" in nginx["volumes"]
    assert set(nginx["depends_on"]) == set(replicas(services))

    conf = (ROOT / "deploy" / "nginx.conf").read_text()
    assert sorted(upstream_servers(conf)) == [f"{name}:8000" for name in sorted(replicas(services))]
    assert re.search(r"listen\s+80;", conf)


def test_nginx_passes_websocket_upgrades_and_keeps_sockets_open():
    conf = (ROOT / "deploy" / "nginx.conf").read_text()
    ws = re.search(r"location\s+/ws\s*\{(.*?)\}", conf, re.S)
    assert ws, "nginx.conf has no `location /ws`"
    body = ws.group(1)
    assert "proxy_http_version 1.1;" in body
    assert "proxy_set_header Upgrade $http_upgrade;" in body
    assert "proxy_set_header Connection $connection_upgrade;" in body
    assert re.search(r"proxy_read_timeout\s+\d+h;", body)
    assert re.search(r"map\s+\$http_upgrade\s+\$connection_upgrade", conf)


def test_dockerfile_serves_on_the_port_compose_expects():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^EXPOSE 8000$", dockerfile, re.M)
    assert '"ensemble", "serve"' in dockerfile
    assert "ENSEMBLE_HOST=0.0.0.0" in dockerfile
    assert "node_modules" in dockerfile  # the web client's msgpack module


def test_replicas_share_one_postgresql_for_people_and_history():
    services = compose()["services"]
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    for app in replicas(services).values():
        assert app["environment"]["ENSEMBLE_DATABASE_URL"].startswith("postgresql://")
        assert app["depends_on"]["postgres"]["condition"] == "service_healthy"
