"""What the soak and flood benchmarks measure the same way: RSS, percentiles, server logs."""

from __future__ import annotations

import math
import os
from collections import Counter
from collections.abc import Sequence
from pathlib import Path


def rss_mb(pid: int | None) -> float | None:
    """Resident set size of a live process in MiB (VmRSS), None when it is gone."""
    if pid is None:
        return None
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return None  # a zombie has no VmRSS


def percentile(ordered: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of an already sorted sequence (nan when empty)."""
    if not ordered:
        return float("nan")
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def summary(values: Sequence[float]) -> str:
    ordered = sorted(values)
    if not ordered:
        return "no samples"
    return (f"p50 {percentile(ordered, 50):.1f}  p99 {percentile(ordered, 99):.1f}  "
            f"max {ordered[-1]:.1f}  (n={len(ordered):,})")


def log_offset(path: Path | None) -> int:
    try:
        return path.stat().st_size if path is not None else 0
    except OSError:
        return 0


def log_problems(path: Path | None, offset: int) -> Counter[str]:
    """What a server wrote to its log since `offset` that looks like trouble:
    each WARNING/ERROR line and the exception line ending each traceback, counted."""
    found: Counter[str] = Counter()
    if path is None:
        return found
    try:
        with open(path, "rb") as log:
            log.seek(offset)
            text = log.read().decode(errors="replace")
    except OSError:
        return found
    in_traceback = False
    for line in text.splitlines():
        if line.startswith("Traceback"):
            in_traceback = True
        elif line.startswith(("WARNING", "ERROR", "CRITICAL")):
            found[line[:160]] += 1
        elif in_traceback and line and not line[0].isspace() and not line.startswith(
            ("During handling", "The above exception")
        ):
            found["exception: " + line[:150]] += 1
            in_traceback = False
    return found


def cpu_seconds(pid: int | None) -> float | None:
    """User + system CPU time a live process has used so far, None when it is gone."""
    if pid is None:
        return None
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()  # after "pid (comm)"
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
