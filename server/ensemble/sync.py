"""The estimate of the server clock from ping/pong samples (pure: times are inputs).

The same algorithm as the web client's `client-web/js/clock.js`; see there
and PROTOCOL.md (`ping`) for the reasoning. In short:

- a sample (t0 sent, server stamped, t1 received; client ms) bounds the
  offset (server - client) to [server - t1, server + TICK_MS - t0] (the
  server's stamp is floored to whole ms);
- drift: the window is cut into segments of equal counts; in each, the
  fastest trip up and the fastest trip down give an offset point; a weighted
  least-squares line through the points since the path last changed gives the
  drift, shrunk towards 0 when within three standard errors of it;
- offset: the middle of the interval every sample allows once corrected for
  the drift (the fastest trip each way, found independently); queued samples
  never set a bound;
- error: half that interval plus what the drift's uncertainty adds over the
  window and since the last sample;
- steps: STEP_AFTER samples in a row that miss the estimate start it over.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

TICK_MS = 1.0  # server_time is the server clock floored to whole ms
WINDOW = 128
MAX_AGE_MS = 300_000
SEGMENTS = 6
MIN_PER_SEGMENT = 3
MIN_FIT_SPAN_MS = 10_000
MAX_DRIFT = 0.001
ASSUMED_DRIFT = 100e-6
MIN_DRIFT_ERROR = 1e-6
SIGNIFICANCE = 3.0
PATH_TOLERANCE_MS = 3.0
PATH_TOLERANCE = 0.25
STEP_AFTER = 3
STEP_MARGIN_MS = 0.5


@dataclass(frozen=True, slots=True)
class Sample:
    t0: float
    t1: float
    server: float

    @property
    def rtt(self) -> float:
        return max(0.0, self.t1 - self.t0)

    @property
    def mid(self) -> float:
        return (self.t0 + self.t1) / 2

    @property
    def offset(self) -> float:
        return self.server - self.mid


@dataclass(frozen=True, slots=True)
class Estimate:
    offset: float  # server - client at tref
    drift: float  # per client ms
    drift_error: float
    half_width: float
    span: float  # client ms from the oldest sample to tref
    tref: float


Bounds = tuple[float, float, float, float]


def _bounds(samples: Sequence[Sample], tref: float, drift: float) -> Bounds:
    """(lo, hi, time of the fastest trip up, time of the fastest trip down)."""
    hi, lo, tu, td = math.inf, -math.inf, tref, tref
    for s in samples:
        shift = drift * (s.mid - tref)
        up = s.server + TICK_MS - s.t0 - shift
        down = s.server - s.t1 - shift
        if up < hi:
            hi, tu = up, s.mid
        if down > lo:
            lo, td = down, s.mid
    return lo, hi, tu, td


def fit_drift(samples: Sequence[Sample]) -> tuple[float, float]:
    """(drift, its standard error); (0, ASSUMED_DRIFT) until it can be measured."""
    unknown = (0.0, ASSUMED_DRIFT)
    n = len(samples)
    if n < 8 or samples[-1].mid - samples[0].mid < MIN_FIT_SPAN_MS:
        return unknown
    groups: list[list[Sample]] = [[] for _ in range(SEGMENTS)]
    for i, s in enumerate(samples):
        groups[i * SEGMENTS // n].append(s)
    points: list[tuple[float, float, float, int]] = []  # t, offset, floor, weight
    for g in groups:
        if len(g) < MIN_PER_SEGMENT:
            continue
        lo, hi, tu, td = _bounds(g, g[0].mid, 0.0)
        points.append(((tu + td) / 2, (lo + hi) / 2, hi - lo, len(g)))
    if not points:
        return unknown
    last_floor = points[-1][2]
    start = len(points) - 1
    tolerance = max(PATH_TOLERANCE_MS, PATH_TOLERANCE * last_floor)
    while start > 0 and abs(points[start - 1][2] - last_floor) <= tolerance:
        start -= 1
    points = points[start:]
    if len(points) < 4:
        return unknown
    sw = sum(p[3] for p in points)
    mt = sum(p[3] * p[0] for p in points) / sw
    mo = sum(p[3] * p[1] for p in points) / sw
    sxx = sum(p[3] * (p[0] - mt) ** 2 for p in points)
    if sxx <= 0:
        return unknown
    slope = sum(p[3] * (p[0] - mt) * (p[1] - mo) for p in points) / sxx
    rss = sum(p[3] * (p[1] - mo - slope * (p[0] - mt)) ** 2 for p in points)
    # The points' own noise shows in how much their fastest round trips vary.
    mf = sum(p[2] for p in points) / len(points)
    sigma = math.sqrt(sum((p[2] - mf) ** 2 for p in points) / (len(points) - 1)) / 2
    tt = sum(p[0] for p in points) / len(points)
    spread = math.sqrt(sum((p[0] - tt) ** 2 for p in points))
    se = max(math.sqrt(rss / (len(points) - 2) / sxx), sigma / spread)
    kept = max(0.0, 1 - (SIGNIFICANCE * se / slope) ** 2) if slope else 0.0
    drift = max(-MAX_DRIFT, min(MAX_DRIFT, slope * kept))
    return drift, min(ASSUMED_DRIFT, max(MIN_DRIFT_ERROR, se)) + abs(slope - drift)


def estimate(samples: Sequence[Sample], tref: float) -> Estimate | None:
    if not samples:
        return None
    drift, drift_error = fit_drift(samples)
    lo, hi, _, _ = _bounds(samples, tref, drift)
    oldest = min(tref, min(s.mid for s in samples))
    return Estimate((lo + hi) / 2, drift, drift_error, abs(hi - lo) / 2, tref - oldest, tref)


@dataclass(slots=True)
class SyncFilter:
    samples: list[Sample] = field(default_factory=list)
    suspects: list[Sample] = field(default_factory=list)
    steps: int = 0
    est: Estimate | None = None

    @property
    def ready(self) -> bool:
        return self.est is not None

    def add(self, t0: float, t1: float, server: float) -> Sample | None:
        """Record one ping/pong; None (ignored) for an answer from the past."""
        if not t1 >= t0:
            return None
        s = Sample(t0, t1, server)
        if self.est is not None and not self.consistent(s):
            self.suspects.append(s)
            if len(self.suspects) < STEP_AFTER:
                return s
            self.samples = self.suspects  # the clock or the path really changed
            self.steps += 1
        else:
            self.samples.append(s)
        self.suspects = []
        cutoff = t1 - MAX_AGE_MS
        while len(self.samples) > WINDOW or (len(self.samples) > 1 and self.samples[0].t1 < cutoff):
            self.samples.pop(0)
        self.est = estimate(self.samples, t1)
        return s

    def consistent(self, s: Sample) -> bool:
        predicted = self.offset_at(s.mid)
        slack = self.error_at(s.mid) + STEP_MARGIN_MS
        return (s.server - s.t1 <= predicted + slack
                and s.server + TICK_MS - s.t0 >= predicted - slack)

    def offset_at(self, client_now: float) -> float:
        """Estimated server - client at client time `client_now` (0 before any sample)."""
        if self.est is None:
            return 0.0
        return self.est.offset + self.est.drift * (client_now - self.est.tref)

    def error_at(self, client_now: float) -> float:
        """The bound on |estimate - truth| (inf before any sample)."""
        e = self.est
        if e is None:
            return math.inf
        return e.half_width + e.drift_error * (e.span + abs(client_now - e.tref))

    def server_now(self, client_now: float) -> float:
        return client_now + self.offset_at(client_now)
