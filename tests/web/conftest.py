"""Browser tests: a real `ensemble serve` process and Debian's chromium, headless.

Every page opened through `open_page` records console errors and uncaught
exceptions; a test fails if any page logged one.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.server import ServerProcess, start_server

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
]
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 812}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: drives a real browser against a real server")


@pytest.fixture(scope="session")
def web_server() -> Iterator[ServerProcess]:
    process = start_server("--grace-ms", "2000")
    yield process
    process.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.skip("chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@dataclass
class PageLog:
    name: str
    problems: list[str] = field(default_factory=list)


@pytest.fixture
def open_page(browser) -> Iterator[Callable[..., object]]:  # type: ignore[no-untyped-def]
    """open_page(name, viewport=DESKTOP) -> a Page in its own browser context."""
    contexts = []
    logs: list[PageLog] = []

    def make(name: str, viewport: dict[str, int] | None = None):  # type: ignore[no-untyped-def]
        context = browser.new_context(viewport=viewport or DESKTOP)
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        log = PageLog(name)
        logs.append(log)
        page.on(
            "console",
            lambda msg: (
                log.problems.append(f"console {msg.type}: {msg.text}")
                if msg.type in ("error", "assert")
                else None
            ),
        )
        page.on("pageerror", lambda err: log.problems.append(f"uncaught: {err}"))
        return page

    yield make
    problems = [f"{log.name}: {p}" for log in logs for p in log.problems]
    for context in contexts:
        context.close()
    assert not problems, "pages logged errors:\n" + "\n".join(problems)


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
