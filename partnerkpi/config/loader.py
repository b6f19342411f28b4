"""load_config: read, interpolate, validate; every problem named by YAML path and line.

Stages, each raising ConfigError with all it found: YAML (syntax, duplicate keys), then ``${VAR}``
interpolation, then secret files and validation (each connector by its own type's model, the rest by
AppConfig), then the cross-checks (unique connector names, writeback of known connectors, and the writeback
mappings against the connectors and the kpi section: partnerkpi.config.references).

A loaded config's secrets are registered for redaction at once. Warnings, which do not stop the load,
are logged on ``partnerkpi.config``: a secret written into the file as plain text (the docs ask for
``${VAR}`` or ``<name>_file``), and one too short to be masked."""

from __future__ import annotations

import logging
import os
from collections.abc import Collection, Iterator, Mapping
from pathlib import Path
from typing import Any, get_args, get_origin

from pydantic import BaseModel, SecretStr, ValidationError

from connectors import registry
from connectors.base import ConnectorConfig
from partnerkpi.config.errors import ConfigError, Problem, YamlPath, format_path
from partnerkpi.config.interpolate import FILE_SUFFIX, interpolate, read_secret_files
from partnerkpi.config.models import CONFIG_DIR, AppConfig
from partnerkpi.config.references import writeback_problems
from partnerkpi.config.validation import problems_from, unwrap_type
from partnerkpi.config.yamlsource import Document, parse_yaml
from partnerkpi.redaction import MIN_LENGTH, register_secrets, secrets_of

log = logging.getLogger("partnerkpi.config")


def file_fields(model: type[BaseModel], seen: set[type[BaseModel]] | None = None) -> set[str]:
    """Field names ending in ``_file`` that a model (or a model inside it) declares: real fields, which
    the secret-file rule must leave alone."""
    seen = seen if seen is not None else set()
    if model in seen:
        return set()
    seen.add(model)
    names = {n for n in model.model_fields if n.endswith(FILE_SUFFIX)}
    for field in model.model_fields.values():
        stack = [field.annotation]
        while stack:
            tp = stack.pop()
            for option in unwrap_type(tp):
                if isinstance(option, type) and issubclass(option, BaseModel):
                    names |= file_fields(option, seen)
                elif get_origin(option) is not None:
                    stack.extend(get_args(option))
    return names


def _problem(doc: Document, path: YamlPath, message: str) -> Problem:
    return Problem(format_path(path), message, doc.line_of(path))


def _connector_model(doc: Document, item: Any, path: YamlPath) -> type[ConnectorConfig] | Problem:
    if not isinstance(item, dict):
        return _problem(doc, path, "must be a mapping with at least name and type")
    type_name = item.get("type")
    if type_name is None:
        return _problem(
            doc, (*path, "type"), f"field required (one of: {', '.join(sorted(registry.available()))})"
        )
    if not isinstance(type_name, str):
        return _problem(doc, (*path, "type"), "must be a connector type name")
    try:
        return registry.get(type_name).config_model
    except registry.UnknownConnectorType as exc:
        return _problem(doc, (*path, "type"), str(exc))
    except Exception as exc:  # a registered connector whose module is broken or missing
        return _problem(
            doc,
            (*path, "type"),
            f"connector type {type_name!r} cannot be loaded: {type(exc).__name__}: {exc}",
        )


def _connectors(
    doc: Document, items: Any, base_dir: Path, context: dict[str, Any]
) -> tuple[list[ConnectorConfig], list[Problem]]:
    if items is None:
        return [], []
    if not isinstance(items, list):
        return [], [_problem(doc, ("connectors",), "must be a list of connectors")]
    configs: list[ConnectorConfig] = []
    problems: list[Problem] = []
    first_index: dict[str, int] = {}
    for i, item in enumerate(items):
        path: YamlPath = ("connectors", i)
        model = _connector_model(doc, item, path)
        if isinstance(model, Problem):
            problems.append(model)
            continue
        data, secret_problems = read_secret_files(item, path, doc, base_dir, file_fields(model))
        if secret_problems:
            problems.extend(secret_problems)
            continue
        try:
            config = model.model_validate(data, context=context)
        except ValidationError as exc:
            problems.extend(problems_from(exc, model, data, path, doc))
            continue
        if config.name in first_index:
            problems.append(
                _problem(
                    doc,
                    (*path, "name"),
                    f"duplicate connector name {config.name!r} (also connectors[{first_index[config.name]}])",
                )
            )
            continue
        first_index[config.name] = i
        configs.append(config)
    return configs, problems


def _writeback_targets(doc: Document, data: Mapping[str, Any], names: Collection[str]) -> list[Problem]:
    section = data.get("writeback")
    if not isinstance(section, dict):
        return []
    known = ", ".join(names) or "none"
    return [
        _problem(doc, ("writeback", key), f"no connector named {key!r} (connectors: {known})")
        for key in section
        if key not in names
    ]


def validate_document(doc: Document, base_dir: Path, file_name: str) -> AppConfig:
    """The AppConfig of a parsed, interpolated document; ConfigError with every problem found."""
    if not isinstance(doc.data, dict):
        raise ConfigError(
            file_name, [Problem("", "the config must be a mapping of sections", doc.line_of(()))]
        )
    context: dict[str, Any] = {CONFIG_DIR: base_dir}
    connectors, problems = _connectors(doc, doc.data.get("connectors"), base_dir, context)
    rest, secret_problems = read_secret_files(
        {k: v for k, v in doc.data.items() if k != "connectors"}, (), doc, base_dir, file_fields(AppConfig)
    )
    problems.extend(secret_problems)
    config: AppConfig | None = None
    if not secret_problems:
        try:
            config = AppConfig.model_validate({**rest, "connectors": connectors}, context=context)
        except ValidationError as exc:
            shown = {**rest, "connectors": doc.data.get("connectors")}
            found = list(problems_from(exc, AppConfig, shown, (), doc))
            problems.extend(found or [_problem(doc, ("connectors",), "invalid connectors")])
    items = doc.data.get("connectors")
    names = [c.get("name") for c in items if isinstance(c, dict)] if isinstance(items, list) else []
    problems.extend(_writeback_targets(doc, doc.data, [n for n in names if isinstance(n, str)]))
    if config is not None:
        problems.extend(writeback_problems(doc, config))
    if problems or config is None:
        raise ConfigError(file_name, problems)
    return config


def load_config(path: Path, env: Mapping[str, str] | None = None) -> AppConfig:
    """Load and validate the YAML config at ``path``; ``env`` defaults to the process environment."""
    path = Path(path)
    name = path.name
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(name, [Problem("", f"config file {path} not found", None)]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(name, [Problem("", f"cannot read config file {path}: {exc}", None)]) from None
    return load_config_text(text, name, path.resolve().parent, env)


def load_config_text(
    text: str, name: str = "config.yaml", base_dir: Path | None = None, env: Mapping[str, str] | None = None
) -> AppConfig:
    """Like load_config, from a string (``name`` is shown in the messages)."""
    doc, problems = parse_yaml(text)
    if problems:
        raise ConfigError(name, problems)
    problems = interpolate(doc, os.environ if env is None else env)
    if problems:
        raise ConfigError(name, problems)
    config = validate_document(doc, base_dir if base_dir is not None else Path.cwd(), name)
    register_secrets(secrets_of(config))
    for warning in secret_warnings(config, doc, name):
        log.warning("%s", warning)
    return config


def _secret_fields(value: Any, path: YamlPath) -> Iterator[tuple[YamlPath, SecretStr]]:
    """Each SecretStr of a validated config, with its YAML path (field names are the YAML keys)."""
    if isinstance(value, SecretStr):
        yield path, value
    elif isinstance(value, BaseModel):
        for key in type(value).model_fields:
            yield from _secret_fields(getattr(value, key), (*path, key))
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            yield from _secret_fields(item, (*path, i))
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _secret_fields(item, (*path, str(key)))


def secret_warnings(config: AppConfig, doc: Document, file_name: str) -> list[str]:
    """One line per secret written as plain text in the file, or too short to be masked."""
    warnings = []
    for path, secret in _secret_fields(config, ()):
        value = secret.get_secret_value()
        if not value:
            continue
        where = f"{file_name}:{doc.line_of(path)}"
        written = doc.written(path)
        if isinstance(written, str) and "${" not in written:
            warnings.append(
                f"{format_path(path)}: a secret written into the config file; give it as ${{VAR}} "
                f"or in a file named by {path[-1]}{FILE_SUFFIX} ({where})"
            )
        if len(value) < MIN_LENGTH:
            warnings.append(
                f"{format_path(path)}: a secret shorter than {MIN_LENGTH} characters cannot be masked in "
                f"logs and messages ({where})"
            )
    return warnings
