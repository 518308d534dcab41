"""Hypothesis strategies for protocol requests, built from protocol/schema.json.

hypothesis-jsonschema would be the library for this, but its last release
(0.23.1) no longer runs on current Hypothesis. This covers the keywords our
request schemas use; what it cannot aim at (patterns, `not`, `oneOf` between
required fields, `dependentRequired`, `if`/`then`, unique items) it generates
loosely and leaves to the server's validator, so cases the schema accepts and
cases it refuses are both drawn. Strings are drawn from an alphabet that mixes
ordinary letters with what breaks encoders and renderers: lone surrogates,
control and bidi characters, invisible characters, astral emoji, markup.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from ensemble.wire.schema import _inline, load_schema

NASTY = (
    "\ud800", "\udfff", "\x00", "\x07", "\n", "\x7f", "\x85", "\u202e", "\u2066", "\u200b",
    "\ufeff", "\u3164", "😀", "<", ">", "&", '"', "\\", "é",
)
PLAIN_CHARS = st.sampled_from("abcdefghijklmnopqrstuvwxyz ABC0123456789.,!?-")
TEXT_CHARS = st.one_of(PLAIN_CHARS, st.sampled_from(NASTY), st.characters())


def texts(low: int, high: int) -> Any:
    """Plain text; plain text with one nasty character in it; any text."""
    side = st.text(PLAIN_CHARS, max_size=max(0, (high - 1) // 2))
    one_nasty = st.builds(lambda a, c, b: a + c + b, side, st.sampled_from(NASTY), side)
    return st.one_of(st.text(PLAIN_CHARS, min_size=max(low, 1), max_size=high),
                     one_nasty if high >= 1 else st.nothing(),
                     st.text(TEXT_CHARS, min_size=low, max_size=high))


def request_schema(type_: str) -> dict[str, Any]:
    schema = load_schema()
    return dict(_inline(schema["requests"][type_], schema, ()))


def strategy(node: Any, names: dict[str, st.SearchStrategy[Any]], prop: str = "") -> Any:
    """Values for one schema node. `names` overrides the values of properties by
    name (e.g. member ids drawn from a room's members, so requests can succeed)."""
    if prop in names:
        return names[prop]
    if not isinstance(node, dict):
        return st.none()
    if "const" in node:
        return st.just(node["const"])
    if "enum" in node:
        return st.sampled_from(node["enum"])
    if "anyOf" in node:
        return st.one_of([strategy(alt, names, prop) for alt in node["anyOf"]])
    if "allOf" in node:
        merged = {k: v for k, v in node.items() if k != "allOf"}
        for part in node["allOf"]:
            merged = {**part, **merged}
        return strategy(merged, names, prop)
    kind = node.get("type")
    if kind == "string":
        low, high = node.get("minLength", 0), node.get("maxLength", 80)
        return st.one_of(
            texts(low, min(high, low + 40)),
            texts(low, min(high, low + 40)),
            st.text(PLAIN_CHARS, min_size=high, max_size=high + 1),  # at the limit and past it
        )
    if kind == "integer":
        low, high = node.get("minimum", -(2**53)), node.get("maximum", 2**53)
        edges = st.sampled_from([low, high, low - 1, high + 1])
        valid = st.integers(low, high)
        return st.one_of(valid, valid, valid, edges, edges.map(float))
    if kind == "number":
        return st.floats(allow_nan=True, allow_infinity=True) | st.integers(-(2**60), 2**60)
    if kind == "boolean":
        return st.booleans()
    if kind == "null":
        return st.none()
    if kind == "array":
        items = strategy(node.get("items", {}), names, prop)
        low, high = node.get("minItems", 0), node.get("maxItems", 5)
        return st.lists(items, min_size=low, max_size=min(high, low + 4))
    if kind == "object" or "properties" in node:
        props = node.get("properties", {})
        required = set(node.get("required", ()))
        return st.fixed_dictionaries(
            {k: strategy(v, names, k) for k, v in props.items() if k in required},
            optional={k: strategy(v, names, k) for k, v in props.items() if k not in required},
        )
    return st.none() | st.booleans() | st.integers() | st.text(TEXT_CHARS, max_size=5)


def requests(types: list[str], names: dict[str, st.SearchStrategy[Any]] | None = None) -> Any:
    """Requests of the given types, mostly valid, some not."""
    return st.one_of([strategy(request_schema(t), names or {}) for t in types])
