"""YAML text → plain data, remembering where every key and value stood.

We walk PyYAML's node tree instead of its constructed objects so that every error can say
`file:line:col`, duplicate keys are caught (PyYAML silently keeps the last), and YAML 1.1's
surprises never reach the model: keys are always text (`on:` is not `True`, `0:` is not `0`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from ivr.errors import FlowInvalid, Problem

Path = tuple[str | int, ...]
_NULL = "tag:yaml.org,2002:null"


@dataclass(frozen=True, slots=True)
class Position:
    line: int  # 1-based, as editors count
    col: int


@dataclass
class Source:
    """Parsed YAML plus the position of each key and value, by path."""

    file: str
    data: Any
    keys: dict[Path, Position] = field(default_factory=dict)
    values: dict[Path, Position] = field(default_factory=dict)

    def where(self, path: Path, *, key: bool = False) -> Position:
        """The position of `path`, or of its nearest ancestor that has one."""
        table = self.keys if key else self.values
        while path:
            if path in table:
                return table[path]
            if path in self.values:
                return self.values[path]
            path = path[:-1]
        return self.values.get((), Position(1, 1))

    def problem(
        self, path: Path, message: str, *, key: bool = False, warn: bool = False
    ) -> Problem:
        pos = self.where(path, key=key)
        return Problem(self.file, pos.line, pos.col, message, "warning" if warn else "error")


def _pos(node: yaml.Node) -> Position:
    return Position(node.start_mark.line + 1, node.start_mark.column + 1)


def parse(text: str, file: str) -> Source:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise FlowInvalid([Problem(file, line, col, _yaml_message(exc, text))]) from None
    except yaml.YAMLError as exc:
        raise FlowInvalid([Problem(file, 1, 1, f"YAML: {exc}")]) from None
    source = Source(file, None)
    if root is None:
        raise FlowInvalid([Problem(file, 1, 1, "the file is empty")])
    problems: list[Problem] = []
    source.data = _walk(root, (), source, problems)
    if problems:
        raise FlowInvalid(problems)
    return source


def _yaml_message(exc: yaml.MarkedYAMLError, text: str) -> str:
    """PyYAML's complaint, with what an admin needs to find the real mistake."""
    mark, context = exc.problem_mark, exc.context_mark
    if mark is not None and _char_at(text, mark.line, mark.column) == "\t":
        return "YAML: a tab is used for indentation; indent with spaces only"
    message = f"YAML: {exc.problem or exc}"
    if exc.context and context is not None and (mark is None or context.line != mark.line):
        message += f" ({exc.context} at line {context.line + 1}, column {context.column + 1})"
    return message


def _char_at(text: str, line: int, col: int) -> str:
    lines = text.splitlines()
    return lines[line][col : col + 1] if line < len(lines) else ""


def _walk(node: yaml.Node, path: Path, source: Source, problems: list[Problem]) -> Any:
    source.values[path] = _pos(node)
    if isinstance(node, yaml.ScalarNode):
        return None if node.tag == _NULL else node.value
    if isinstance(node, yaml.SequenceNode):
        return [_walk(item, (*path, i), source, problems) for i, item in enumerate(node.value)]
    result: dict[str, Any] = {}
    for key_node, value_node in node.value:
        if not isinstance(key_node, yaml.ScalarNode):
            problems.append(Problem(source.file, *_astuple(key_node), "a key must be plain text"))
            continue
        key = key_node.value
        if key in result:
            first = source.keys[(*path, key)]
            problems.append(
                Problem(
                    source.file,
                    *_astuple(key_node),
                    f"duplicate key '{key}' (first at line {first.line})",
                )
            )
            continue
        source.keys[(*path, key)] = _pos(key_node)
        result[key] = _walk(value_node, (*path, key), source, problems)
    return result


def _astuple(node: yaml.Node) -> tuple[int, int]:
    pos = _pos(node)
    return pos.line, pos.col
