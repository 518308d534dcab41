"""Pages of a list: limit, opaque cursor, next."""

from __future__ import annotations

import pytest

from ensemble.core import BadRequest
from ensemble.transport.pagination import page_params, paginate


def pages(items: list[str], limit: int) -> list[list[str]]:
    out, after = [], None
    while True:
        page, cursor = paginate(items, lambda x: x, limit, after)
        out.append(page)
        if cursor is None:
            return out
        after = page_params({"limit": str(limit), "cursor": cursor})[1]


def test_every_item_once_in_order_and_no_next_on_the_last_page():
    assert pages(["c", "a", "b", "e", "d"], 2) == [["a", "b"], ["c", "d"], ["e"]]
    assert pages(["a", "b"], 2) == [["a", "b"]]
    assert pages([], 50) == [[]]


def test_limits_and_cursors_are_checked():
    assert page_params({}) == (50, None)
    for bad in ({"limit": "0"}, {"limit": "201"}, {"limit": "-1"}, {"limit": "2.5"},
                {"cursor": "%%%"}, {"cursor": "abc!"}):
        with pytest.raises(BadRequest):
            page_params(bad)
