"""Before validation: ``${VAR}`` / ``${VAR:-default}`` in string values, and secrets read from files
(``<name>_file: /run/secrets/x`` becomes ``<name>: <the file's content>``).

Neither an environment value nor a file's content ever appears in a problem's message. A secret file
holds one line (a trailing newline is dropped); a second line is an error, since a header or a form
would carry it on (a PEM block, a private key, is the one multi-line secret and is kept whole)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from partnerkpi.config.errors import Problem, YamlPath, format_path
from partnerkpi.config.yamlsource import Document
from partnerkpi.redaction import register_secrets

FILE_SUFFIX = "_file"


class _Unresolved(ValueError):
    pass


def _reference(expr: str, env: Mapping[str, str]) -> str:
    name, sep, default = expr.partition(":-")
    if (
        not name
        or not (name[0].isalpha() or name[0] == "_")
        or not all(c.isalnum() or c == "_" for c in name)
    ):
        raise _Unresolved(f"invalid reference ${{{expr}}} (write $$ for a literal $)")
    value = env.get(name)
    if sep:
        return value if value else default
    if value is None:
        raise _Unresolved(f"environment variable {name} is not set")
    return value


def expand(text: str, env: Mapping[str, str]) -> str:
    """``${VAR}``, ``${VAR:-default}`` (default when unset or empty) and ``$$`` for a literal ``$``."""
    out: list[str] = []
    i = 0
    while (j := text.find("$", i)) >= 0:
        out.append(text[i:j])
        nxt = text[j + 1 : j + 2]
        if nxt == "$":
            out.append("$")
            i = j + 2
        elif nxt == "{":
            end = text.find("}", j + 2)
            if end < 0:
                raise _Unresolved("unterminated ${ (write $$ for a literal $)")
            out.append(_reference(text[j + 2 : end], env))
            i = end + 1
        else:
            out.append("$")
            i = j + 1
    out.append(text[i:])
    return "".join(out)


def interpolate(doc: Document, env: Mapping[str, str]) -> list[Problem]:
    """Expand every string value of ``doc`` in place; the problems found."""
    problems: list[Problem] = []

    def walk(value: Any, path: YamlPath) -> Any:
        if isinstance(value, str):
            try:
                return expand(value, env)
            except _Unresolved as exc:
                problems.append(Problem(format_path(path), str(exc), doc.line_of(path)))
                return value
        if isinstance(value, dict):
            return {k: walk(v, (*path, k)) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v, (*path, i)) for i, v in enumerate(value)]
        return value

    doc.data = walk(doc.data, ())
    return problems


def _read_secret(raw: object, base_dir: Path) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise _Unresolved("must be the path of a file")
    path = Path(raw).expanduser()
    if not path.is_absolute():
        path = base_dir / path
    try:
        content = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise _Unresolved(f"secret file {path} is not UTF-8 text") from None
    except OSError as exc:
        raise _Unresolved(f"cannot read secret file {path}: {exc.strerror or type(exc).__name__}") from None
    content = content.removesuffix("\n").removesuffix("\r")
    if not content.strip():
        raise _Unresolved(f"secret file {path} is empty")
    register_secrets([content])  # masked from here on, even if the config turns out invalid
    if ("\n" in content or "\r" in content) and not _is_pem(content):
        raise _Unresolved(
            f"secret file {path} has more than one line; a secret is one line (content not shown)"
        )
    return content


def _is_pem(content: str) -> bool:
    """A PEM block (RFC 7468): ``-----BEGIN <label>-----`` ... ``-----END <label>-----``."""
    lines = content.strip().splitlines()
    return len(lines) >= 2 and lines[0].startswith("-----BEGIN ") and lines[-1].startswith("-----END ")


def read_secret_files(
    value: Any, path: YamlPath, doc: Document, base_dir: Path, keep: Collection[str]
) -> tuple[Any, list[Problem]]:
    """``value`` with every ``<name>_file`` key (except those in ``keep``, real fields of the models)
    replaced by ``<name>`` holding the file's content, stripped of its trailing newline."""
    problems: list[Problem] = []

    def walk(node: Any, at: YamlPath) -> Any:
        if isinstance(node, list):
            return [walk(v, (*at, i)) for i, v in enumerate(node)]
        if not isinstance(node, dict):
            return node
        out: dict[str, Any] = {}
        for key, item in node.items():
            if not (key.endswith(FILE_SUFFIX) and len(key) > len(FILE_SUFFIX)) or key in keep:
                out[key] = walk(item, (*at, key))
                continue
            name = key[: -len(FILE_SUFFIX)]
            key_path = (*at, key)
            if name in node:
                problems.append(
                    Problem(format_path(key_path), f"give {name} or {key}, not both", doc.line_of(key_path))
                )
                continue
            try:
                out[name] = _read_secret(item, base_dir)
            except _Unresolved as exc:
                problems.append(Problem(format_path(key_path), str(exc), doc.line_of(key_path)))
                continue
            doc.lines[(*at, name)] = doc.line_of(key_path)
        return out

    return walk(value, path), problems
