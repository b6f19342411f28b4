"""config_json_schema: the JSON Schema of the config file, for editor completion
(``partnerkpi config schema``). Connector items are a oneOf over the registered types, told apart by
``type``; a secret may be given as ``<name>_file`` instead."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from connectors import registry
from connectors.base import ConnectorConfig
from partnerkpi.config.interpolate import FILE_SUFFIX
from partnerkpi.config.models import AppConfig

REF_TEMPLATE = "#/$defs/{model}"


def _connector_models() -> tuple[dict[str, type[ConnectorConfig]], list[str]]:
    models: dict[str, type[ConnectorConfig]] = {}
    broken: list[str] = []
    for type_name in sorted(registry.available()):
        try:
            models[type_name] = registry.get(type_name).config_model
        except Exception:  # a registered type whose module cannot be imported: leave it out, say so
            broken.append(type_name)
    return models, broken


def _allow_secret_files(node: Any) -> None:
    """Beside every secret property ``x`` (format: password), accept ``x_file``; either satisfies
    ``required``."""
    if isinstance(node, list):
        for item in node:
            _allow_secret_files(item)
        return
    if not isinstance(node, dict):
        return
    for value in node.values():
        _allow_secret_files(value)
    properties = node.get("properties")
    if not isinstance(properties, dict):
        return
    secrets = [name for name, prop in properties.items() if _is_secret(prop)]
    for name in secrets:
        properties[name + FILE_SUFFIX] = {
            "type": "string",
            "title": f"{name} from a file",
            "description": f"Path of a file holding {name} (trailing newline stripped). Give {name} or this.",
        }
    required = node.get("required")
    if isinstance(required, list) and any(n in secrets for n in required):
        node["required"] = [n for n in required if n not in secrets]
        node.setdefault("allOf", []).extend(
            {"anyOf": [{"required": [n]}, {"required": [n + FILE_SUFFIX]}]} for n in secrets if n in required
        )


def _is_secret(prop: Any) -> bool:
    if not isinstance(prop, dict):
        return False
    if prop.get("format") == "password":
        return True
    options = prop.get("anyOf")
    return isinstance(options, list) and any(
        isinstance(o, dict) and o.get("format") == "password" for o in options
    )


def config_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of the whole config file."""
    connectors, broken = _connector_models()
    mode: JsonSchemaMode = "validation"
    entries: list[tuple[type[BaseModel], JsonSchemaMode]] = [(AppConfig, mode)]
    entries += [(model, mode) for model in connectors.values()]
    refs, combined = models_json_schema(entries, ref_template=REF_TEMPLATE)
    defs: dict[str, Any] = combined.get("$defs", {})
    app_key = refs[(AppConfig, mode)]["$ref"].rsplit("/", 1)[-1]
    schema: dict[str, Any] = defs.pop(app_key)
    mapping: dict[str, str] = {}
    for type_name, model in connectors.items():
        ref = refs[(model, mode)]["$ref"]
        mapping[type_name] = ref
        target = defs[ref.rsplit("/", 1)[-1]]
        target.setdefault("properties", {})["type"] = {"const": type_name, "title": "Type"}
        if "type" not in target.setdefault("required", []):
            target["required"].append("type")
    items: dict[str, Any] = {"type": "object", "required": ["name", "type"]}
    if mapping:
        items = {
            "oneOf": [{"$ref": ref} for ref in mapping.values()],
            "discriminator": {"propertyName": "type", "mapping": mapping},
        }
    schema["properties"]["connectors"] = {
        "type": "array",
        "title": "Connectors",
        "description": "The CRMs and files to read; the fields depend on type.",
        "items": items,
    }
    if broken:
        schema["$comment"] = (
            f"connector types left out (their modules could not be imported): {', '.join(broken)}"
        )
    if not any(ref.endswith("/ConnectorConfig") for ref in mapping.values()):
        defs.pop("ConnectorConfig", None)
    _allow_secret_files(defs)
    _allow_secret_files(schema)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://partnerkpi.invalid/config.schema.json",
        **schema,
        "$defs": defs,
    }
