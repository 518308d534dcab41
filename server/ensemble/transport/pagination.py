"""Pages of a growing list: `limit` (default 50, at most 200) and an opaque
`cursor` in, the page and the `next` cursor (None on the last page) out."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping, Sequence
from typing import TypeVar

from ensemble.core import BadRequest

DEFAULT_LIMIT = 50
MAX_LIMIT = 200

T = TypeVar("T")


def page_params(query: Mapping[str, str]) -> tuple[int, str | None]:
    """(limit, position after which the page starts) from a query string."""
    raw = query.get("limit", str(DEFAULT_LIMIT))
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise BadRequest(f"limit is a whole number from 1 to {MAX_LIMIT}")
    cursor = query.get("cursor")
    if not cursor:
        return int(raw), None
    try:
        padded = cursor.encode() + b"=" * (-len(cursor) % 4)
        after = base64.b64decode(padded, altchars=b"-_", validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise BadRequest("cursor is not one this server gave out") from None
    return int(raw), after


def paginate(
    items: Sequence[T], key: Callable[[T], str], limit: int, after: str | None
) -> tuple[list[T], str | None]:
    """The page of `items` (ordered by `key`) after position `after`."""
    ordered = sorted(items, key=key)
    if after is not None:
        ordered = [item for item in ordered if key(item) > after]
    page = ordered[:limit]
    if len(ordered) <= limit:
        return page, None
    return page, cursor_for(key(page[-1]))


def cursor_for(position: str) -> str:
    """The opaque cursor of a page that starts after `position`."""
    return base64.urlsafe_b64encode(position.encode()).rstrip(b"=").decode()
