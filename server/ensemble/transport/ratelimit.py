"""Token buckets: one per member, shared by all of its sockets in this process."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable


class TokenBucket:
    def __init__(
        self, rate: float, burst: int, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self._rate = rate
        self._burst = float(burst)
        self._tokens = float(burst)
        self._monotonic = monotonic
        self._stamp = monotonic()

    def take(self) -> bool:
        now = self._monotonic()
        self._tokens = min(self._burst, self._tokens + (now - self._stamp) * self._rate)
        self._stamp = now
        if self._tokens >= 1:
            self._tokens -= 1
            return True
        return False


class MemberBuckets:
    """The bucket of each member with a socket in this process, counted by sockets,
    so a member opening more tabs does not get more requests."""

    def __init__(self, rate: float, burst: int) -> None:
        self._rate = rate
        self._burst = burst
        self._buckets: dict[str, tuple[TokenBucket, int]] = {}

    def acquire(self, key: str) -> TokenBucket:
        bucket, users = self._buckets.get(key, (None, 0))
        if bucket is None:
            bucket = TokenBucket(self._rate, self._burst)
        self._buckets[key] = (bucket, users + 1)
        return bucket

    def release(self, key: str) -> None:
        bucket, users = self._buckets.get(key, (None, 0))
        if bucket is None:
            return
        if users <= 1:
            del self._buckets[key]
        else:
            self._buckets[key] = (bucket, users - 1)

    def __len__(self) -> int:
        return len(self._buckets)


class AddressBuckets:
    """A bucket per client address for costly actions (creating rooms).

    At most `max_addresses` are remembered: the least recently seen is
    forgotten first, so a flood of addresses cannot grow this without bound.
    """

    def __init__(self, per_minute: float, burst: int, max_addresses: int = 10_000) -> None:
        self._rate = per_minute / 60
        self._burst = burst
        self._max = max_addresses
        self._buckets: OrderedDict[str, TokenBucket] = OrderedDict()

    def take(self, address: str) -> bool:
        bucket = self._buckets.pop(address, None)
        if bucket is None:
            bucket = TokenBucket(self._rate, self._burst)
        self._buckets[address] = bucket
        while len(self._buckets) > self._max:
            self._buckets.popitem(last=False)
        return bucket.take()

    def retry_after(self) -> int:
        """Seconds until one more action is allowed, for the Retry-After header."""
        return max(1, round(1 / self._rate)) if self._rate > 0 else 60
