"""Lists the server and the web client both keep must say the same."""

from __future__ import annotations

import re
from pathlib import Path

from ensemble.service import RECENT_TYPES

CLIENT = Path(__file__).parents[1] / "client-web" / "js"


def test_the_feed_the_client_keeps_is_what_a_welcome_brings_back():
    """A reloaded page shows `snapshot.recent` (RECENT_TYPES) in its feed (FEED_TYPES)."""
    source = (CLIENT / "state.js").read_text()
    found = re.search(r"FEED_TYPES = new Set\(\[([^\]]*)\]\)", source)
    assert found, "state.js no longer declares FEED_TYPES as a Set literal"
    feed = set(re.findall(r'"([^"]+)"', found.group(1)))
    assert feed == set(RECENT_TYPES)
