"""Write vectors.json and invalid.json from the messages in source.py.

    python protocol/vectors/generate.py          # rewrite the files
    python protocol/vectors/generate.py --check  # exit 1 if they are stale

Each vector holds a message as JSON and as msgpack (hex of
``msgpack.packb(message, use_bin_type=True)``). Output is deterministic: the
messages keep the key order written in source.py and nothing else varies.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

import msgpack

HERE = Path(__file__).resolve().parent
KINDS = ("request", "event", "reply")


def load_source() -> Any:
    spec = importlib.util.spec_from_file_location("ensemble_vector_source", HERE / "source.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def check_plain(value: Any, where: str) -> None:
    """Only values that JSON and msgpack both carry unchanged."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return
    if isinstance(value, list):
        for i, item in enumerate(value):
            check_plain(item, f"{where}[{i}]")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"{where}: key {key!r} is not a string")
            check_plain(item, f"{where}.{key}")
        return
    raise TypeError(f"{where}: {type(value).__name__} is not a JSON value")


def dump(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def build() -> dict[str, str]:
    source = load_source()
    vectors = []
    names = set()
    for name, kind, message in source.VECTORS:
        if kind not in KINDS:
            raise ValueError(f"{name}: kind {kind!r} not in {KINDS}")
        if name in names:
            raise ValueError(f"duplicate vector name {name!r}")
        names.add(name)
        check_plain(message, name)
        packed = msgpack.packb(message, use_bin_type=True)
        vectors.append({"name": name, "kind": kind, "json": message, "msgpack_hex": packed.hex()})
    invalid = []
    for name, message in source.INVALID_REQUESTS:
        check_plain(message, name)
        invalid.append({"name": name, "json": message, "error": "bad_request"})
    return {"vectors.json": dump(vectors), "invalid.json": dump(invalid)}


def main(argv: list[str]) -> int:
    outputs = build()
    if "--check" in argv:
        stale = [
            n
            for n, text in outputs.items()
            if not (HERE / n).exists() or (HERE / n).read_text(encoding="utf-8") != text
        ]
        for n in stale:
            print(f"{n} is stale: run python protocol/vectors/generate.py", file=sys.stderr)
        return 1 if stale else 0
    for n, text in outputs.items():
        (HERE / n).write_text(text, encoding="utf-8")
        print(f"wrote {HERE / n}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
