"""`ensemble serve`: options, environment variables and --help."""

from __future__ import annotations

import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from ensemble.cli import build_parser, main
from ensemble.settings import Settings, SettingsError
from tests.support.server import start_server

pytestmark = pytest.mark.timeout(60)


def test_help_describes_every_option_and_its_variable():
    out = subprocess.run([sys.executable, "-m", "ensemble", "serve", "--help"],
                         capture_output=True, text=True, check=True).stdout
    for flag, env in (("--host", "ENSEMBLE_HOST"), ("--port", "ENSEMBLE_PORT"),
                      ("--redis", "ENSEMBLE_REDIS_URL"), ("--grace-ms", "ENSEMBLE_GRACE_MS")):
        assert flag in out and env in out


def test_flags_beat_environment_beats_defaults():
    args = build_parser().parse_args(["serve", "--port", "9100"])
    settings = Settings.from_env({"ENSEMBLE_PORT": "9000", "ENSEMBLE_GRACE_MS": "2500"},
                                 port=args.port, grace_ms=args.grace_ms)
    assert (settings.port, settings.grace_ms, settings.host) == (9100, 2500, "127.0.0.1")


def test_bad_environment_values_say_what_is_wrong(monkeypatch):
    with pytest.raises(SettingsError, match="ENSEMBLE_PORT must be an integer"):
        Settings.from_env({"ENSEMBLE_PORT": "eighty"})
    # The command says it and exits; the library only raises.
    monkeypatch.setenv("ENSEMBLE_PORT", "eighty")
    with pytest.raises(SystemExit, match="ENSEMBLE_PORT must be an integer"):
        main(["serve"])


def test_port_from_environment_and_python_dash_m():
    server = start_server(env={"ENSEMBLE_GRACE_MS": "2000"})
    try:
        with urllib.request.urlopen(f"{server.http}/healthz", timeout=5) as reply:
            assert reply.status == 200
    finally:
        server.stop()


def test_console_script_is_installed():
    script = Path(sys.executable).parent / "ensemble"
    out = subprocess.run([str(script), "--help"],
                         capture_output=True, text=True, check=True).stdout
    assert "serve" in out
