"""Request validation against protocol/schema.json, the one machine-readable spec."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

SCHEMA_PATH = Path(__file__).resolve().parents[3] / "protocol" / "schema.json"


class SchemaError(ValueError):
    """The request does not match its schema; the message says where."""


@cache
def load_schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text())


@cache
def _validator(kind: str, type_: str) -> Draft202012Validator:
    schema = load_schema()
    if type_ not in schema[kind]:
        raise KeyError(type_)
    # References are resolved once here: validating against the inlined schema
    # takes half the time of following `$ref`s through the whole document.
    return Draft202012Validator(_inline(schema[kind][type_], schema, ()))


def _inline(node: Any, root: dict[str, Any], seen: tuple[str, ...]) -> Any:
    """`node` with every local `$ref` replaced by what it points to."""
    if isinstance(node, list):
        return [_inline(item, root, seen) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if not isinstance(ref, str) or not ref.startswith("#/"):
        return {key: _inline(value, root, seen) for key, value in node.items()}
    if ref in seen:
        raise ValueError(f"schema reference cycle through {ref}")
    target: Any = root
    for part in ref[2:].split("/"):
        target = target[part]
    resolved = _inline(target, root, (*seen, ref))
    rest = {key: _inline(value, root, seen) for key, value in node.items() if key != "$ref"}
    if not rest:
        return resolved
    # Keywords beside a `$ref` stay at this level, where `unevaluatedProperties`
    # sees what the referenced schema evaluated (through allOf, as through $ref).
    rest["allOf"] = [resolved, *rest.get("allOf", [])]
    return rest


def known_request(type_: str) -> bool:
    return type_ in load_schema()["requests"]


def validate(message: Any, kind: str = "requests", name: str | None = None) -> None:
    """Raise SchemaError naming the first problem with `message` (a frame of
    `kind`, by its type, or the schema `name` of that kind, e.g. an HTTP body)."""
    schema_name = name if name is not None else message["type"]
    error = next(iter(_validator(kind, schema_name).iter_errors(message)), None)
    if error is None:
        return
    where = "/".join(str(p) for p in error.absolute_path) or "the message"
    raise SchemaError(f"{where}: {_explain(error)}")


def _explain(error: Any) -> str:
    """Say what is wrong without echoing the (possibly huge) value back."""
    rule, limit = error.validator, error.validator_value
    if rule == "maxLength":
        return f"is longer than {limit} characters"
    if rule == "minLength":
        return f"is shorter than {limit} characters" if limit > 1 else "is empty"
    if rule == "maxItems":
        return f"has more than {limit} items"
    if rule == "maximum":
        return f"is more than {limit}"
    if rule == "minimum":
        return f"is less than {limit}"
    if rule == "type":
        return f"should be of type {limit}"
    if rule == "enum":
        return "should be one of " + ", ".join(map(str, limit))
    if rule == "pattern":
        return "is blank or malformed"
    return str(error.message)
