"""The built-in check types of the C++ engine, one function each: ``vitals.checks.postgres(url=...)``,
``redis``, ``http``, ``tcp``, ... with the keys of vitalsd's YAML (docs/checks/). The functions
are made from the engine's own list of types and keys, so they never disagree with it; the stub
(``checks.pyi``) gives editors their signatures, and a test keeps it equal to the list.

    reg.add("db", vitals.checks.postgres(url=os.environ["DATABASE_URL"]), timeout=2)
    reg.add("api", vitals.checks.from_url("https://api.internal/healthz"))

Durations are ``datetime.timedelta`` or seconds. Keys marked secret (passwords, URLs with
userinfo) are never echoed: not in errors, reprs or any output of the check.
"""

from __future__ import annotations

import inspect
from typing import Any

from . import _BuiltinSpec, _vitals

TYPES: dict[str, dict] = {t["name"]: t for t in _vitals.describe_types()}


def from_url(url: str) -> _BuiltinSpec:
    """The check a URL names: postgres://, redis://, https://, tcp://, grpc://, ..."""
    return _BuiltinSpec(_vitals.make_from_url(url).type, url=url)


def _make(type_: str, desc: dict):
    def factory(**kwargs: Any) -> _BuiltinSpec:
        return _BuiltinSpec(type_, kwargs)

    factory.__name__ = factory.__qualname__ = type_
    lines = [desc["summary"], ""]
    params = []
    for k in desc["keys"]:
        flags = [k["kind"]] + (["required"] if k["required"] else []) + (
            ["secret"] if k["secret"] else [])
        choices = f" One of: {', '.join(k['choices'])}." if k["choices"] else ""
        lines.append(f"{k['name']} ({', '.join(flags)}): {k['doc']}{choices}")
        params.append(inspect.Parameter(
            k["name"], inspect.Parameter.KEYWORD_ONLY,
            default=inspect.Parameter.empty if k["required"] else None))
    factory.__doc__ = "\n".join(lines)
    factory.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    return factory


for _name, _desc in TYPES.items():
    globals()[_name] = _make(_name, _desc)

__all__ = ["from_url", "TYPES", *TYPES]
