"""Load and validate flow files: YAML → `Flow`, or every problem with its `file:line:col`."""

from __future__ import annotations

import difflib
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from ivr.errors import FlowInvalid, Problem
from ivr.script import model
from ivr.script.checks import check
from ivr.script.model import Flow
from ivr.script.yamlsource import Source, parse


@dataclass(frozen=True)
class LoadedFlow:
    """A flow that passed validation, with what identifies the exact text it came from."""

    flow: Flow
    hash: str  # sha256 of the file's bytes: stamped on every call that runs it
    source: str
    content: str
    warnings: list[Problem] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.flow.flow

    @property
    def version(self) -> str:
        return self.flow.version


def content_hash(content: str) -> str:
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


def load_text(content: str, file: str) -> LoadedFlow:
    """Validate one flow's text; raises FlowInvalid with every problem found."""
    source = parse(content, file)
    if not isinstance(source.data, dict):
        raise FlowInvalid([source.problem((), "a flow file must be a mapping of keys")])
    try:
        flow = Flow.model_validate(source.data)
    except ValidationError as exc:
        raise FlowInvalid(_explain(exc, source)) from None
    found = check(flow, source)
    errors = [p for p in found if p.severity == "error"]
    if errors:
        raise FlowInvalid(sorted(found, key=lambda p: (p.line, p.col)))
    return LoadedFlow(flow, content_hash(content), file, content, found)


def load_file(path: Path) -> LoadedFlow:
    try:
        content = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise FlowInvalid([Problem(str(path), 1, 1, f"cannot read: {exc}")]) from None
    return load_text(content, str(path))


def flow_files(paths: list[Path]) -> list[Path]:
    """Expand folders to the *.yaml / *.yml files in them."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files += sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml"))
        else:
            files.append(path)
    return files


def _explain(exc: ValidationError, source: Source) -> list[Problem]:
    problems = []
    errors = exc.errors(include_url=False)
    typos = _typos(errors, source)
    located = [(err, *_data_path(source.data, err["loc"], err["type"])) for err in errors]
    for err, path, value in located:
        others = (p for e, p, _ in located if e is not err and p[: len(path)] == path)
        if err["type"] == "string_type" and isinstance(value, dict | list) and any(others):
            continue  # a `str | …` union: the other member's errors say what is wrong
        dotted = ".".join(str(p) for p in path)
        if err["type"] == "extra_forbidden":
            key = str(path[-1])
            problems.append(source.problem(path, f"unknown key '{key}'{_hint(key)}", key=True))
        elif err["type"] == "missing":
            if path in typos:
                continue  # the misspelt key's "did you mean" already says it
            parent = ".".join(str(p) for p in path[:-1])
            where = f" in {parent}" if parent else ""
            # Point at the key of the mapping that lacks it (its value starts on the next line).
            problems.append(source.problem(path[:-1], f"missing key '{path[-1]}'{where}", key=True))
        else:
            message = _message(err, value)
            # A mapping, list or empty value starts after its key: the key is what to point at.
            at_key = value is None or isinstance(value, dict | list)
            text = f"{dotted}: {message}" if dotted else message
            problems.append(source.problem(path, text, key=at_key))
    return sorted(set(problems), key=lambda p: (p.line, p.col, p.message))


def _typos(errors: list[Any], source: Source) -> set[tuple[Any, ...]]:
    """The paths that unknown keys were probably meant to be (`promtp` → `prompt`)."""
    meant = set()
    for err in errors:
        if err["type"] == "extra_forbidden":
            path, _ = _data_path(source.data, err["loc"], err["type"])
            close = difflib.get_close_matches(str(path[-1]), _VOCABULARY, n=1, cutoff=0.7)
            meant |= {(*path[:-1], close[0])} if close else set()
    return meant


def _data_path(data: Any, loc: tuple[Any, ...], kind: str) -> tuple[tuple[Any, ...], Any]:
    """Keep only the parts of pydantic's `loc` that are keys of the document (not union tags)."""
    path: list[Any] = []
    for i, part in enumerate(loc):
        if isinstance(data, dict) and part in data:
            data = data[part]
        elif isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data):
            data = data[part]
        elif kind == "missing" and i == len(loc) - 1:
            data = None
        else:
            continue  # a union member's tag, such as 'str' or 'Choice'
        path.append(part)
    return tuple(path), data


_PATTERNS = {
    model.FLOW_NAME_PATTERN: "should be lowercase letters, digits, '-' or '_' (like hotline)",
    model.LANGUAGE_PATTERN: "should be a language tag like zh-CN or en-US",
    model.PROMPT_NAME_PATTERN: "a prompt's name (and file name): letters, digits, '-' or '_'",
}


def _message(err: Any, value: Any) -> str:
    msg = str(err["msg"])
    if err["type"] == "string_pattern_mismatch" and err["ctx"]["pattern"] in _PATTERNS:
        return _PATTERNS[err["ctx"]["pattern"]]
    if err["type"] in ("dict_type", "model_type"):  # "a valid dictionary or instance of Step"
        if value is None:
            return "is empty; write its keys under it"
        got = "a list" if isinstance(value, list) else repr(value)
        return f"should be 'key: value' lines, not {got}"
    if msg.startswith("Value error, "):
        return msg.removeprefix("Value error, ")
    return msg.replace("Input should be", "should be")


def _vocabulary() -> list[str]:
    names: set[str] = set()
    for obj in vars(model).values():
        if isinstance(obj, type) and issubclass(obj, BaseModel):
            names |= set(obj.model_fields)
    return sorted(names)


_VOCABULARY = _vocabulary()


def _hint(key: str) -> str:
    close = difflib.get_close_matches(key, _VOCABULARY, n=1, cutoff=0.7)
    return f" (did you mean '{close[0]}'?)" if close else ""
