"""One error format for every scenario problem: ``FIELD: problem (got VALUE)``.

pydantic's errors are rewritten into one line: the location becomes the scenario's field
path (``doses[0].amount``; no validator or union-branch names), the message a short
phrase, an unknown key names the closest valid key (``did you mean 'rtol'?``), and the
offending value is shown cut to a few dozen characters (a file's content is never echoed).
"""

from __future__ import annotations

import contextlib
import types
import typing
from collections.abc import Iterator, Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from nksim._spec import unknown_field_message
from nksim.errors import UserError

_MESSAGES = {
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "int_type": "must be an integer",
    "int_parsing": "must be an integer",
    "int_from_float": "must be an integer",
    "bool_type": "must be true or false",
    "string_type": "must be a string",
    "finite_number": "must be a finite number",
    "model_type": "must be a table",
    "model_attributes_type": "must be a table",
    "dict_type": "must be a table",
    "list_type": "must be a list",
    "missing": "required field is missing",
}


def short(value: Any, limit: int = 60) -> str:
    """``repr(value)`` cut to ``limit`` characters."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 5] + "...'"


def _unwrap(tp: Any) -> list[Any]:
    """The concrete types inside ``Annotated``/``Optional``/union annotations."""
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(tp)[0])
    if origin in (typing.Union, types.UnionType):
        return [t for a in typing.get_args(tp) for t in _unwrap(a)]
    return [tp]


def _step(current: list[Any], part: str | int) -> tuple[list[Any], bool]:
    """Follow one location part; returns the next candidate types and whether the part is a
    real field/key/index (``False`` for pydantic's union-branch labels)."""
    if len(current) > 1 and isinstance(part, str) and _is_branch_label(part, current):
        return [t for t in current if _branch_matches(t, part)] or current, False
    nxt: list[Any] = []
    real = False
    for tp in current:
        origin = typing.get_origin(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel) and isinstance(part, str) \
                and part in tp.model_fields:
            nxt += _unwrap(tp.model_fields[part].annotation)
            real = True
        elif origin in (list, tuple) and isinstance(part, int):
            nxt += _unwrap(typing.get_args(tp)[0])
            real = True
        elif origin is dict and isinstance(part, str):
            nxt += _unwrap(typing.get_args(tp)[1])
            real = True
        elif tp in (dict, Any) and isinstance(part, str | int):
            nxt.append(Any)
            real = True
    if not real and isinstance(part, int):
        return current, True
    return (nxt if real else current), real


def _label(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return tp.__name__
    return getattr(origin or tp, "__name__", str(tp)).lower()


def _is_branch_label(part: str, current: list[Any]) -> bool:
    """Whether ``part`` is pydantic's name of a union branch (``'dict[str,float]'``,
    ``'constrained-float'``, ``'literal[False]'``, a model's name), not a key."""
    if any(c in part for c in "[]-,") or part in {"float", "int", "str", "bool"}:
        return True
    return any(_label(t) == part for t in current)


def _branch_matches(tp: Any, part: str) -> bool:
    label = part.split("[", 1)[0].removeprefix("constrained-")
    return _label(tp) == label or (isinstance(tp, type) and label == tp.__name__.lower())


def _models(current: list[Any]) -> list[type[BaseModel]]:
    return [t for t in current if isinstance(t, type) and issubclass(t, BaseModel)]


def format_error(schema: type[BaseModel], err: dict[str, Any], prefix: str = "") -> UserError:
    """One pydantic error as a :class:`UserError` naming the scenario field."""
    current: list[Any] = [schema]
    path = prefix
    parent: list[Any] = current
    loc = list(err["loc"])
    for i, part in enumerate(loc):
        before = current
        current, real = _step(current, part)
        if not real and err["type"] == "extra_forbidden" and i == len(loc) - 1:
            real = True  # the unknown key itself
        if not real:
            continue
        parent = before
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    kind = err["type"]
    if kind == "extra_forbidden":
        key = str(loc[-1])
        fields = sorted({f for m in _models(parent) for f in m.model_fields})
        message = unknown_field_message(key, fields) if fields else "unknown field"
        return UserError(message, field=path or None)
    ctx = err.get("ctx") or {}
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        sign = {"greater_than_equal": ">=", "greater_than": ">", "less_than_equal": "<=",
                "less_than": "<"}[kind]
        bound = next(iter(ctx.values()))
        message = f"must be {sign} {bound}"
    elif kind in _MESSAGES:
        message = _MESSAGES[kind]
    else:
        message = str(err["msg"]).removeprefix("Value error, ").replace(
            "Input should be", "must be")
        message = message[:1].lower() + message[1:] if message[:2] != message[:2].upper() \
            else message
    got = err.get("input")
    if kind not in ("missing",) and not isinstance(got, dict | list) and \
            not (isinstance(got, str) and short(got) in message):
        message = f"{message} (got {short(got)})"
    return UserError(message, field=path or None)


def user_error(schema: type[BaseModel], exc: ValidationError, prefix: str = "") -> UserError:
    """The first problem of a validation error, as one line."""
    errors = exc.errors()
    # a union reports one error per branch: prefer one that is not a branch mismatch
    mismatch = ("literal_error", "model_type", "dict_type", "model_attributes_type",
                "float_type", "int_type", "string_type", "list_type", "nksim_type")
    best = next((e for e in errors if e["type"] not in mismatch), errors[0])
    if best["type"] == "missing":  # a misspelt key is why a field is missing: name it
        best = next((e for e in errors if e["type"] == "extra_forbidden"), best)
    return format_error(schema, best, prefix)


@contextlib.contextmanager
def fields_of(paths: Mapping[str, str]) -> Iterator[None]:
    """Name the scenario field of an engine or model error raised inside.

    The engine, the models and the population and dosing modules name their own
    arguments (``rtol``, ``atol.B``, ``size``); ``paths`` maps an argument to the scenario's
    field (``{"rtol": "simulation.rtol"}``; ``atol.B`` follows ``atol``). Other errors pass
    unchanged.
    """
    try:
        yield
    except UserError as exc:
        head, dot, rest = (exc.field or "").partition(".")
        if head not in paths:
            raise
        raise type(exc)(exc.message, field=paths[head] + dot + rest) from None
