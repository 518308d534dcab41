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
    return Draft202012Validator(dict(schema, **{"$ref": f"#/{kind}/{type_}"}))


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
