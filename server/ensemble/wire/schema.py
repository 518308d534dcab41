"""Request validation against protocol/schema.json, the one machine-readable spec.

Two validators of the same schema: jsonschema-rs (compiled, well under a
microsecond for a typical request) says whether a message is valid; only when
it is not, or when the message holds a float, does the Python `jsonschema`
validator run, to name the problem and to apply our strict numbers (JSON
Schema counts 1.0 as an integer and knows no NaN; on our wire an integer is
written as one and every number is finite). A test keeps the two in
agreement over the vectors and fuzzed requests.
"""

from __future__ import annotations

import json
import math
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema_rs
from jsonschema import Draft202012Validator, validators

SCHEMA_PATH = Path(__file__).resolve().parents[3] / "protocol" / "schema.json"


class SchemaError(ValueError):
    """The request does not match its schema; the message says where."""


def _is_integer(checker: Any, value: Any) -> bool:
    # JSON Schema counts 1.0 as an integer; on our wire an integer is written as one.
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(checker: Any, value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return isinstance(value, int) or math.isfinite(value)


# The validator the server uses: the 2020-12 rules with strict numbers.
StrictValidator = validators.extend(
    Draft202012Validator,
    type_checker=Draft202012Validator.TYPE_CHECKER.redefine_many(
        {"integer": _is_integer, "number": _is_number}
    ),
)


@cache
def load_schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text())


@cache
def _validator(kind: str, type_: str) -> Any:
    schema = load_schema()
    if type_ not in schema[kind]:
        raise KeyError(type_)
    # References are resolved once here: validating against the inlined schema
    # takes half the time of following `$ref`s through the whole document.
    return StrictValidator(_inline(schema[kind][type_], schema, ()))


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


@cache
def _fast(kind: str, type_: str) -> tuple[Any, frozenset[str]]:
    """The compiled validator of one message, and its top-level fields that may
    hold a float (type `number`)."""
    schema = load_schema()
    if type_ not in schema[kind]:
        raise KeyError(type_)
    inlined = _inline(schema[kind][type_], schema, ())
    floats = frozenset(
        field for field, rule in inlined.get("properties", {}).items()
        if isinstance(rule, dict) and "number" in _types(rule)
    )
    return jsonschema_rs.Draft202012Validator(inlined), floats


def _types(rule: dict[str, Any]) -> list[Any]:
    kind = rule.get("type")
    return kind if isinstance(kind, list) else [kind]


def _plain(value: Any, floats: frozenset[str]) -> bool:
    """No float in `value`, but finite ones in the top-level `floats` fields."""
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, float):
                if key not in floats or not math.isfinite(item):
                    return False
            elif isinstance(item, (dict, list)) and not _plain(item, frozenset()):
                return False
        return True
    if isinstance(value, list):
        return all(not isinstance(i, float) and (not isinstance(i, (dict, list))
                                                 or _plain(i, frozenset())) for i in value)
    return not isinstance(value, float)


def known_request(type_: str) -> bool:
    return type_ in load_schema()["requests"]


def is_valid(message: Any, kind: str = "requests", name: str | None = None) -> bool:
    """The fast answer: whether `message` passes (same answer as `validate`)."""
    fast, floats = _fast(kind, name if name is not None else message["type"])
    try:
        valid = fast.is_valid(message)
    except (ValueError, TypeError, OverflowError):  # text it cannot take (a lone surrogate)
        return False
    return bool(valid) and _plain(message, floats)


def validate(message: Any, kind: str = "requests", name: str | None = None) -> None:
    """Raise SchemaError naming the first problem with `message` (a frame of
    `kind`, by its type, or the schema `name` of that kind, e.g. an HTTP body)."""
    schema_name = name if name is not None else message["type"]
    if is_valid(message, kind, schema_name):
        return
    error = next(iter(_validator(kind, schema_name).iter_errors(message)), None)
    if error is None:
        return
    error = _cause_beside_null(error)
    where = "/".join(str(p) for p in error.absolute_path) or "the message"
    raise SchemaError(f"{where}: {_explain(error)}")


NULL = {"type": "null"}


def _cause_beside_null(error: Any) -> Any:
    """For a value that may be null or one other form (a group's `program`),
    the reason a non-null value fails that form, rather than "none of the forms"."""
    while error.validator == "anyOf" and error.instance is not None and NULL in (
            error.validator_value):
        causes = [e for e in error.context if error.validator_value[e.relative_schema_path[0]]
                  != NULL]
        if not causes:
            break
        error = causes[0]
    return error


def _explain(error: Any) -> str:
    """Say what is wrong without echoing the (possibly huge or secret) value back."""
    rule, limit = error.validator, error.validator_value
    if rule == "maxLength":
        return f"is longer than {limit} characters"
    if rule == "minLength":
        return f"is shorter than {limit} characters" if limit > 1 else "is empty"
    if rule == "maxItems":
        return f"has more than {limit} items"
    if rule == "minItems":
        return f"has fewer than {limit} items"
    if rule == "maximum":
        return f"is more than {limit}"
    if rule == "minimum":
        return f"is less than {limit}"
    if rule == "type":
        if limit == "number" and isinstance(error.instance, float):
            return "should be a finite number"
        if isinstance(limit, list):
            limit = " or ".join(limit)
        return f"should be of type {limit}"
    if rule == "enum":
        return "should be one of " + ", ".join(map(str, limit))
    if rule == "const":
        return f"should be {limit}"
    if rule == "pattern":
        return "is blank or malformed"
    if rule == "not":
        return "contains a control, bidi or other forbidden character"
    if rule == "required":
        missing = [k for k in limit if isinstance(error.instance, dict) and k not in error.instance]
        return "is missing " + ", ".join(missing or limit)
    if rule in ("additionalProperties", "unevaluatedProperties"):
        known = error.schema.get("properties", {})
        extra = [k for k in error.instance if k not in known] if isinstance(
            error.instance, dict) else []
        if rule == "additionalProperties" and extra:
            return f"has a field that is not allowed here: {str(extra[0])[:40]}"
        return "has a field that is not allowed here"
    if rule == "minProperties":
        return "is empty: send at least one field" if limit == 1 else (
            f"has fewer than {limit} fields")
    if rule == "uniqueItems":
        return "has duplicate items"
    if rule == "dependentRequired":
        return "has a field that needs another: " + "; ".join(
            f"{k} needs {', '.join(v)}" for k, v in limit.items()
        )
    if rule == "oneOf" and all(set(alt) == {"required"} for alt in limit):
        return "needs exactly one of " + ", ".join(k for alt in limit for k in alt["required"])
    if rule in ("oneOf", "anyOf"):
        return "matches none or more than one of the allowed forms"
    return f"breaks the rule {rule!r}"
