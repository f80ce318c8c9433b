"""Reading scenario files: TOML in, a validated section tree out, or one line of error."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from nksim._io import missing_file
from nksim.config._errors import user_error
from nksim.errors import UserError

MAX_FILE_BYTES = 10_000_000  # a scenario is a few kB; refuse anything absurd
T = TypeVar("T", bound=BaseModel)


def read_toml(path: str | Path) -> dict[str, Any]:
    """The raw contents of a TOML scenario file, or a one-line :class:`UserError`.

    A UTF-8 byte-order mark is accepted. Errors name the file, never its content.
    """
    path = Path(path)
    if not path.is_file():
        raise UserError(missing_file(path), field="scenario")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise UserError(f"{path} is larger than {MAX_FILE_BYTES // 1_000_000} MB",
                        field="scenario")
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UserError(f"{path} is not UTF-8 text", field="scenario") from None
    return parse_toml(text, str(path))


def parse_toml(text: str, name: str = "scenario") -> dict[str, Any]:
    """Parse TOML text (one-line errors; nesting too deep is an error, not a crash)."""
    try:
        return tomllib.loads(text.removeprefix("\ufeff"))
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"malformed TOML in {name}: {exc}", field="scenario") from None
    except RecursionError:
        raise UserError(f"malformed TOML in {name}: nested too deeply", field="scenario") \
            from None


def validate(schema: type[T], raw: Any, prefix: str = "") -> T:
    """Validate ``raw`` against ``schema``; the first problem becomes a one-line error."""
    if not isinstance(raw, dict):
        raise UserError(f"must be a table (got {type(raw).__name__})", field=prefix or None)
    try:
        return schema.model_validate(raw)
    except ValidationError as exc:
        raise user_error(schema, exc, prefix) from None
    except RecursionError:
        raise UserError("nested too deeply", field=prefix or "scenario") from None
