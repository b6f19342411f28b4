"""YAML to plain data, keeping where each value was written: the node tree (yaml.compose with the safe
loader) gives every key and item its line, so that a validation error can point at it. Duplicate keys,
which PyYAML would silently resolve to the last one, are errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from partnerkpi.config.errors import Problem, YamlPath, format_path

MERGE_TAG = "tag:yaml.org,2002:merge"


@dataclass
class Document:
    """Parsed YAML: ``data`` and, per path, the line (1-based) of the key or sequence item."""

    data: Any
    lines: dict[YamlPath, int] = field(default_factory=dict)

    def line_of(self, path: YamlPath) -> int:
        """The line of ``path``, or of its nearest ancestor that was written (a missing key: its parent)."""
        for end in range(len(path), -1, -1):
            line = self.lines.get(path[:end])
            if line is not None:
                return line
        return 1


class _Builder:
    def __init__(self, loader: yaml.SafeLoader) -> None:
        self.loader = loader
        self.lines: dict[YamlPath, int] = {}
        self.problems: list[Problem] = []
        self._active: set[int] = set()

    def problem(self, path: YamlPath, message: str, node: Node) -> None:
        self.problems.append(Problem(format_path(path), message, node.start_mark.line + 1))

    def build(self, node: Node, path: YamlPath) -> Any:
        if id(node) in self._active:
            self.problem(path, "an alias refers to itself", node)
            return None
        self._active.add(id(node))
        try:
            if isinstance(node, MappingNode):
                return self._mapping(node, path)
            if isinstance(node, SequenceNode):
                return self._sequence(node, path)
            return self._scalar(node, path)
        finally:
            self._active.discard(id(node))

    def _mapping(self, node: MappingNode, path: YamlPath) -> dict[str, Any]:
        first_seen: dict[str, int] = {}
        for key_node, _value in node.value:
            if key_node.tag == MERGE_TAG:
                continue
            if not isinstance(key_node, ScalarNode):
                self.problem(path, "a key must be a plain name, not a list or mapping", key_node)
                continue
            line = key_node.start_mark.line + 1
            if key_node.value in first_seen:
                key_path = (*path, str(key_node.value))
                self.problem(
                    key_path, f"duplicate key, first given on line {first_seen[key_node.value]}", key_node
                )
            else:
                first_seen[key_node.value] = line
        try:
            self.loader.flatten_mapping(node)  # resolves ``<<: *anchor``; explicit keys come last and win
        except yaml.MarkedYAMLError as exc:
            self.problem(path, f"YAML: {exc.problem}", node)
            return {}
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                continue
            key = str(key_node.value)
            self.lines[(*path, key)] = key_node.start_mark.line + 1
            result[key] = self.build(value_node, (*path, key))
        return result

    def _sequence(self, node: SequenceNode, path: YamlPath) -> list[Any]:
        items = []
        for i, item in enumerate(node.value):
            self.lines[(*path, i)] = item.start_mark.line + 1
            items.append(self.build(item, (*path, i)))
        return items

    def _scalar(self, node: Node, path: YamlPath) -> Any:
        try:
            return self.loader.construct_object(node, deep=True)
        except yaml.MarkedYAMLError as exc:
            self.problem(path, f"YAML: {exc.problem}", node)
        except ValueError as exc:  # e.g. a date like 2026-02-30
            self.problem(path, f"cannot read this value: {exc}", node)
        return None


def parse_yaml(text: str) -> tuple[Document, list[Problem]]:
    """The document and the problems found; a syntax error is one problem and no data."""
    try:
        loader = yaml.SafeLoader(text)
    except yaml.reader.ReaderError as exc:  # a control character: PyYAML refuses the text before parsing
        line = text.count("\n", 0, exc.position) + 1
        return Document({}), [Problem("", f"YAML: character #x{exc.character:04x} is not allowed", line)]
    try:
        try:
            root = loader.get_single_node()
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            at = mark.line + 1 if mark is not None else None
            return Document({}), [Problem("", f"YAML syntax error: {exc.problem or exc.context}", at)]
        if root is None:
            return Document({}, {(): 1}), []
        builder = _Builder(loader)
        builder.lines[()] = root.start_mark.line + 1
        data = builder.build(root, ())
        return Document(data, builder.lines), builder.problems
    finally:
        loader.dispose()
