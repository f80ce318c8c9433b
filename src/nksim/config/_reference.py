"""The published schema: JSON Schema of each scenario kind and a Markdown reference page
generated from it (``docs/schema.md``, kept in step by ``tests/test_config.py``)."""

from __future__ import annotations

import json
from typing import Any

KINDS = ("simulate", "trial")


def schema_model(kind: str):
    """The pydantic model of a scenario kind (``"simulate"`` or ``"trial"``)."""
    if kind == "simulate":
        from nksim.config._simulate import Scenario

        return Scenario
    if kind == "trial":
        from nksim.config._trial import TrialScenario

        return TrialScenario
    from nksim.errors import UserError

    raise UserError(f"must be one of {', '.join(KINDS)} (got {kind!r})", field="kind")


def json_schema(kind: str) -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of a scenario file of ``kind``."""
    schema = schema_model(kind).model_json_schema(mode="validation")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": f"nksim {kind} scenario", **{k: v for k, v in schema.items()
                                                   if k != "title"}}


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    return schema["$defs"][ref.rsplit("/", 1)[-1]] if ref else node


def _type(schema: dict[str, Any], node: dict[str, Any]) -> str:
    """A short description of a property's accepted values."""
    if "$ref" in node:
        return "table"
    if "const" in node:
        return json.dumps(node["const"])
    if "enum" in node:
        return " or ".join(json.dumps(v) for v in node["enum"])
    if "x-unit" in node:
        bounds = f", {node['x-bounds']}" if node.get("x-bounds") else ""
        return f"quantity ({node['x-unit']}{bounds})"
    if "anyOf" in node:
        parts = [_type(schema, n) for n in node["anyOf"] if n.get("type") != "null"]
        if any(n.get("type") == "string" and "pattern" in n for n in node["anyOf"]):
            parts = [p for p in parts if p != "string"] + ["'VALUE UNIT'"]
        return " or ".join(dict.fromkeys(parts))
    kind = node.get("type")
    if kind == "array":
        return f"list of {_type(schema, node.get('items', {}))}"
    if kind == "object":
        extra = node.get("additionalProperties")
        return f"table of {_type(schema, extra)}" if isinstance(extra, dict) else "table"
    text = {"number": "number", "integer": "integer", "string": "string",
            "boolean": "true/false"}.get(kind, "any")
    bounds = [f"{s} {node[k]:g}" for k, s in (("minimum", ">="), ("exclusiveMinimum", ">"),
                                            ("maximum", "<="), ("exclusiveMaximum", "<"))
              if k in node]
    return f"{text} ({', '.join(bounds)})" if bounds else text


def _sections(schema: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """``(TOML section header, object schema)`` for the root and every nested table."""
    out: list[tuple[str, dict[str, Any]]] = []

    def visit(header: str, node: dict[str, Any]) -> None:
        out.append((header, node))
        for name, prop in node.get("properties", {}).items():
            options = prop.get("anyOf", [prop])
            for option in options:
                if "$ref" in option:
                    sub = header.strip("[]") + "." + name if header else name
                    visit(f"[{sub}]", _resolve(schema, option))
                elif option.get("type") == "array" and "$ref" in option.get("items", {}):
                    sub = header.strip("[]") + "." + name if header else name
                    visit(f"[[{sub}]]", _resolve(schema, option["items"]))
                elif option.get("type") == "object" and "properties" in option:
                    sub = header.strip("[]") + "." + name if header else name
                    visit(f"[{sub}]", option)

    visit("", schema)
    for condition in schema.get("allOf", []):  # tables whose fields depend on another field
        for name, node in condition.get("then", {}).get("properties", {}).items():
            if name == "arms":  # each arm's setting-specific [arms.regimen]
                name, node = "arms.regimen", node["items"]["properties"]["regimen"]
            if "properties" in node:
                out.append((f"[{name}] ({condition.get('description', '')})", node))
    return out


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def reference_markdown() -> str:
    """The field reference of every scenario kind, as Markdown."""
    lines = [
        "# Scenario schema reference",
        "",
        "Generated from the code (`nksim.config` and the disease settings' tables): do not",
        "edit; run `python -m nksim.config > docs/schema.md` after changing a section",
        "(`tests/test_config.py` checks that this page is current). The same schema is",
        "printed as JSON Schema by `nksim schema simulate` and `nksim schema trial`.",
        "How to write scenarios, with examples: [scenarios.md](scenarios.md) and",
        "[trials.md](trials.md).",
        "",
        "Quantities are a number in the unit stated (or the model's unit), or a",
        "`'VALUE UNIT'` string such as `\"12 hour\"` or `\"1e6 cell/kg\"`; no arithmetic is",
        "evaluated. Numbers are strict: `true` is not a number and `\"10\"` is not an integer.",
    ]
    for kind in KINDS:
        schema = json_schema(kind)
        lines += ["", f"## `nksim {kind}`", ""]
        for header, node in _sections(schema):
            props = node.get("properties", {})
            if not props:
                continue
            required = set(node.get("required", []))
            lines += ["", f"### {header or 'top level'}", ""]
            if node.get("description") and header:
                lines += [_cell(node["description"]).replace("``", "`"), ""]
            lines += ["| field | accepts | default | description |", "|---|---|---|---|"]
            for name, prop in props.items():
                default = "required" if name in required else \
                    _cell(json.dumps(prop.get("default"))) if "default" in prop else ""
                default = "optional" if default == "null" else default
                if isinstance(prop.get("default"), dict) and prop["default"]:
                    default = "see section"
                text = prop.get("description", "")
                text = "" if text.startswith("a number in") else text
                lines.append(f"| `{name}` | {_cell(_type(schema, prop))} | {default} | "
                             f"{_cell(text).replace('``', '`')} |")
    return "\n".join(lines) + "\n"
