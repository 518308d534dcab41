"""`ensemble serve` with a clock the test moves: `python -m tests.support.clock_server serve …`.

The server's time is the system time plus an offset (ms) the test writes to
the file named by ENSEMBLE_TEST_CLOCK_FILE, so a test can play out sessions
on different days without waiting for them. The file is re-read when it
changes.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from ensemble.cli import SERVE_OPTIONS, build_parser, serve
from ensemble.settings import Settings

CLOCK_FILE = "ENSEMBLE_TEST_CLOCK_FILE"


class OffsetClock:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._seen: int | None = None
        self.offset_ms = 0

    def now_ms(self) -> int:
        try:
            changed = self.path.stat().st_mtime_ns
        except FileNotFoundError:
            changed = None
        if changed != self._seen:
            self._seen = changed
            text = self.path.read_text().strip() if changed is not None else ""
            self.offset_ms = int(text or 0)
        return time.time_ns() // 1_000_000 + self.offset_ms


def set_offset(path: Path, offset_ms: int) -> None:
    """Move the server's clock (atomically: the server never reads half a number)."""
    temp = path.with_suffix(".tmp")
    temp.write_text(str(offset_ms))
    os.replace(temp, path)


def main() -> None:
    args = build_parser().parse_args(sys.argv[1:])
    settings = Settings.from_env(**{name: getattr(args, name) for name in SERVE_OPTIONS})
    serve(settings, OffsetClock(Path(os.environ[CLOCK_FILE])))


if __name__ == "__main__":
    main()
