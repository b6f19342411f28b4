"""YAML to plain data, keeping where each value was written: the node tree (yaml.compose with the safe
loader) gives every key and item its line, so that a validation error can point at it. Duplicate keys,
which PyYAML would silently resolve to the last one, are errors.

A config is small, so the composer refuses what only an attack or an accident would write, before
anything is expanded: more than MAX_ALIASES alias uses, aliases that would expand to more than
MAX_EXPANDED nodes (the "billion laughs"), and nesting deeper than MAX_DEPTH (which would otherwise end
in a RecursionError). Each is one problem with its line, found in milliseconds."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.events import AliasEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from partnerkpi.config.errors import Problem, YamlPath, format_path

MERGE_TAG = "tag:yaml.org,2002:merge"
MAX_DEPTH = 50
"""Nesting levels (collections and the scalar inside them); a real config uses fewer than ten."""
MAX_ALIASES = 100
"""Alias uses (``*name``, ``<<: *name``) in one document."""
MAX_EXPANDED = 10_000
"""Nodes that all alias uses together stand for, once expanded."""


class TooLarge(yaml.MarkedYAMLError):
    """The document is beyond a bound above; ``problem`` says which, ``problem_mark`` where."""


class _BoundedLoader(yaml.SafeLoader):
    """The safe loader, counting while it composes: the depth it is at, the aliases it has met and what
    they expand to (each node's expanded size and height are kept, so an alias costs what its target
    would cost expanded, without expanding it)."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self._depth = 0
        self._aliases = 0
        self._expanded = 0
        self._size: dict[int, int] = {}
        self._height: dict[int, int] = {}

    def fetch_flow_collection_start(self, TokenClass: Any) -> None:
        """``[[[[...`` is refused by the scanner already: it would otherwise keep every ``[`` as a
        possible key and scan the whole line, in quadratic time, before the composer sees the first."""
        super().fetch_flow_collection_start(TokenClass)
        if self.flow_level > MAX_DEPTH:
            raise _too_large(f"nested deeper than {MAX_DEPTH} levels", self.get_mark())

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        event: Any = self.peek_event()  # type: ignore[no-untyped-call]
        if isinstance(event, AliasEvent):
            node = super().compose_node(parent, index)
            self._aliases += 1
            self._expanded += self._size.get(id(node), 1)  # its own node when it is still being composed
            if self._aliases > MAX_ALIASES:
                raise _too_large(f"more than {MAX_ALIASES} aliases", event.start_mark)
            if self._expanded > MAX_EXPANDED:
                raise _too_large(
                    f"aliases that expand to more than {MAX_EXPANDED:,} values", event.start_mark
                )
            return node
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _too_large(f"nested deeper than {MAX_DEPTH} levels", event.start_mark)
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        children = _children(node)
        self._size[id(node)] = 1 + sum(self._size.get(id(c), 1) for c in children)
        height = 1 + max((self._height.get(id(c), 0) for c in children), default=0)
        if height > MAX_DEPTH:  # deep only through aliases
            raise _too_large(f"nested deeper than {MAX_DEPTH} levels", event.start_mark)
        self._height[id(node)] = height
        return node


def _too_large(problem: str, mark: Any) -> TooLarge:
    return TooLarge(problem=problem, problem_mark=mark)


def _children(node: Node | None) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [n for pair in node.value for n in pair]
    return []


@dataclass
class Document:
    """Parsed YAML: ``data`` and, per path, the line (1-based) of the key or sequence item. ``source``
    keeps the data as written (``data`` is replaced by its interpolated copy)."""

    data: Any
    lines: dict[YamlPath, int] = field(default_factory=dict)
    source: Any = None

    def __post_init__(self) -> None:
        if self.source is None:
            self.source = self.data

    def written(self, path: YamlPath) -> Any:
        """The value at ``path`` as the file wrote it (before ``${VAR}`` and secret files), or None."""
        node = self.source
        for key in path:
            if isinstance(node, dict) and isinstance(key, str):
                node = node.get(key)
            elif isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
                node = node[key]
            else:
                return None
        return node

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
        loader = _BoundedLoader(text)
    except yaml.reader.ReaderError as exc:  # a control character: PyYAML refuses the text before parsing
        line = text.count("\n", 0, exc.position) + 1
        return Document({}), [Problem("", f"YAML: character #x{exc.character:04x} is not allowed", line)]
    try:
        try:
            root = loader.get_single_node()
        except TooLarge as exc:
            at = exc.problem_mark.line + 1 if exc.problem_mark is not None else None
            return Document({}), [Problem("", f"YAML: {exc.problem}; a config needs far fewer", at)]
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
