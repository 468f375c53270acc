"""Checks a typed model cannot express: references, reachability, translations, loops."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from dataclasses import dataclass

from ivr.errors import Problem
from ivr.script.model import Choice, Flow, NoInput, PromptPart, Step, prompt_parts
from ivr.script.yamlsource import Path, Source

_KEY = re.compile(r"^[0-9*#]$")


@dataclass(frozen=True, slots=True)
class Ref:
    path: Path  # where the name is written, relative to the flow root
    kind: str  # "step" or "prompt"
    name: str


def check(flow: Flow, source: Source) -> list[Problem]:
    problems: list[Problem] = []
    problems += _check_refs(flow, source)
    problems += _check_keys(flow, source)
    problems += _check_languages(flow, source)
    problems += _check_reachable(flow, source)
    problems += _check_loops(flow, source)
    problems += _check_callbacks(flow, source)
    problems += _check_unused_prompts(flow, source)
    connects = any(step.kind in ("queue", "extension") for step in flow.steps.values())
    if connects and flow.on.one_way_audio is None:  # only a call with an agent can be flagged
        problems.append(
            source.problem(
                ("flow",),
                "no on.one_way_audio step: a one-way-audio flag ends the call without a prompt",
                warn=True,
            )
        )
    return problems


def refs(flow: Flow) -> Iterator[Ref]:
    """Every step and prompt name the flow mentions, with where it is written."""
    yield Ref(("start",), "step", flow.start)
    for event, target in flow.on:
        if target is not None:
            yield Ref(("on", event), "step", target)
    for reason, target in flow.outbound:
        if target is not None:
            yield Ref(("outbound", reason), "step", target)
    for name, step in flow.steps.items():
        for ref in _step_refs(step):
            yield Ref(("steps", name, step.kind, *ref.path), ref.kind, ref.name)


def _step_refs(step: Step) -> Iterator[Ref]:
    spec = step.spec
    if step.kind == "goto":
        yield Ref((), "step", spec)
        return
    for field in ("prompt", "hold", "unknown"):
        if isinstance(getattr(spec, field, None), str):
            yield Ref((field,), "prompt", getattr(spec, field))
    for field in ("next", "after", "no_answer", "overflow"):
        if isinstance(getattr(spec, field, None), str):
            yield Ref((field,), "step", getattr(spec, field))
    if step.kind == "menu":
        for key, choice in spec.choices.items():
            if isinstance(choice, Choice):
                yield Ref(("choices", key, "goto"), "step", choice.goto)
            else:
                yield Ref(("choices", key), "step", choice)
        if spec.extension is not None:
            yield Ref(("extension", "goto"), "step", spec.extension.goto)
            if spec.extension.unknown:
                yield Ref(("extension", "unknown"), "prompt", spec.extension.unknown)
        yield from _policy_refs("invalid", spec.invalid)
    if step.kind in ("menu", "survey"):
        yield from _policy_refs("no_input", spec.no_input)


def _policy_refs(name: str, policy: object) -> Iterator[Ref]:
    prompt_fields = (
        ("reprompt", "give_up") if isinstance(policy, NoInput) else ("prompt", "give_up")
    )
    for field in prompt_fields:
        if getattr(policy, field):
            yield Ref((name, field), "prompt", getattr(policy, field))
    if getattr(policy, "then", None):
        yield Ref((name, "then"), "step", policy.then)  # type: ignore[attr-defined]


def _check_refs(flow: Flow, source: Source) -> list[Problem]:
    problems = []
    known = {"step": flow.steps, "prompt": flow.prompts}
    for ref in refs(flow):
        if ref.name not in known[ref.kind]:
            hint = _suggest(ref.name, known[ref.kind])
            problems.append(source.problem(ref.path, f"no {ref.kind} named '{ref.name}'{hint}"))
    for name, step in flow.steps.items():
        ext = step.menu.extension if step.menu else None
        if ext and ext.goto in flow.steps and flow.steps[ext.goto].kind != "extension":
            path = ("steps", name, "menu", "extension", "goto")
            kind = flow.steps[ext.goto].kind
            message = f"'{ext.goto}' is a {kind} step; extension dialing needs an extension step"
            problems.append(source.problem(path, message))
    return problems


def _check_keys(flow: Flow, source: Source) -> list[Problem]:
    problems = []
    for name, step in flow.steps.items():
        if step.kind not in ("menu", "survey"):
            continue
        for key in step.spec.choices:
            if not _KEY.match(key):
                path = ("steps", name, step.kind, "choices", key)
                problems.append(
                    source.problem(path, f"'{key}' is not one key (0-9, * or #)", key=True)
                )
        ext = step.menu.extension if step.menu else None
        if ext is None:
            continue
        for number in flow.extensions:
            if len(number) != ext.digits or not number.isdigit():
                problems.append(
                    source.problem(
                        ("extensions", number),
                        f"extension '{number}' is not {ext.digits} digits, as step '{name}' dials",
                        key=True,
                    )
                )
            elif number[0] in step.menu.choices:  # type: ignore[union-attr]
                problems.append(
                    source.problem(
                        ("extensions", number),
                        f"extension '{number}' starts with '{number[0]}', which step '{name}' "
                        "uses as a choice, so it cannot be dialed",
                        key=True,
                    )
                )
    return problems


def _check_languages(flow: Flow, source: Source) -> list[Problem]:
    problems = []
    declared = flow.all_languages
    undeclared = f"is not declared in languages ({', '.join(declared)})"
    if flow.languages and flow.language not in flow.languages:
        problems.append(source.problem(("language",), f"'{flow.language}' is not in languages"))
    for prompt, texts in flow.prompts.items():
        for lang in declared:
            written = texts.get(lang, "")  # a list of parts is checked part by part, below
            if isinstance(written, str) and not written.strip():
                problems.append(
                    source.problem(
                        ("prompts", prompt), f"prompt '{prompt}' has no {lang} text", key=True
                    )
                )
        for lang, text in texts.items():
            if lang not in declared:
                path = ("prompts", prompt, lang)
                problems.append(source.problem(path, f"language '{lang}' {undeclared}", key=True))
            if isinstance(text, list):
                path = ("prompts", prompt, lang)
                problems += _check_parts(source, path, text, declared, undeclared)
    for name, step in flow.steps.items():
        for key, choice in (step.menu.choices if step.menu else {}).items():
            if isinstance(choice, Choice) and choice.language and choice.language not in declared:
                path = ("steps", name, "menu", "choices", key, "language")
                problems.append(source.problem(path, f"language '{choice.language}' {undeclared}"))
    return problems


def _check_parts(
    source: Source, path: Path, parts: list[PromptPart], declared: list[str], undeclared: str
) -> list[Problem]:
    """A prompt written in parts: each has text, in a declared language."""
    problems = []
    for n, (lang, text) in enumerate(prompt_parts(parts, str(path[-1]))):
        if not text.strip():
            message = f"part {n + 1} of prompt '{path[1]}' in {path[2]} has no text"
            problems.append(source.problem((*path, n), message))
        elif lang not in declared:
            problems.append(
                source.problem((*path, n, lang), f"language '{lang}' {undeclared}", key=True)
            )
    return problems


def _edges(flow: Flow) -> dict[str, list[str]]:
    edges: dict[str, list[str]] = {name: [] for name in flow.steps}
    for ref in refs(flow):
        if ref.kind == "step" and ref.path[0] == "steps":
            edges[str(ref.path[1])].append(ref.name)
    return edges


def _check_reachable(flow: Flow, source: Source) -> list[Problem]:
    edges = _edges(flow)
    roots = [flow.start, *(t for _, t in flow.on if t), *(t for _, t in flow.outbound if t)]
    seen: set[str] = set()
    todo = [r for r in roots if r in flow.steps]
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo += [n for n in edges.get(name, []) if n in flow.steps]
    return [
        source.problem(("steps", name), f"step '{name}' is never reached", key=True)
        for name in flow.steps
        if name not in seen
    ]


# Steps that move on at once, without waiting for the caller or an agent.
_PASS_THROUGH = {"say": "next", "goto": None, "callback": "next"}


def _check_loops(flow: Flow, source: Source) -> list[Problem]:
    problems = []
    order = list(flow.steps)
    for start in flow.steps:
        chain, name = [start], _pass_next(flow, start)
        while name is not None and name in flow.steps:
            if name == start and min(chain, key=order.index) != start:
                break  # one message per loop, from its first step in the file
            if name == start:
                path = " → ".join([*chain, start])
                problems.append(
                    source.problem(
                        ("steps", start),
                        f"steps loop without waiting for the caller: {path}",
                        key=True,
                    )
                )
                break
            if name in chain:
                break  # a loop that does not pass through `start`: reported from its own steps
            chain.append(name)
            name = _pass_next(flow, name)
    return problems


def _pass_next(flow: Flow, name: str) -> str | None:
    step = flow.steps[name]
    if step.kind not in _PASS_THROUGH:
        return None
    field = _PASS_THROUGH[step.kind]
    return step.spec if field is None else getattr(step.spec, field)


def _check_callbacks(flow: Flow, source: Source) -> list[Problem]:
    problems = []
    for name, step in flow.steps.items():
        cb = step.callback
        if cb is not None and cb.deadline < cb.due:
            # Point at what the admin wrote: the deadline, or the due that outgrew its default.
            field = (
                "deadline" if ("steps", name, "callback", "deadline") in source.values else "due"
            )
            message = (
                f"the callback's deadline ({cb.deadline:g}s) is before it is due ({cb.due:g}s)"
            )
            problems.append(source.problem(("steps", name, "callback", field), message))
    return problems


def _check_unused_prompts(flow: Flow, source: Source) -> list[Problem]:
    used = {r.name for r in refs(flow) if r.kind == "prompt"}
    return [
        source.problem(("prompts", p), f"prompt '{p}' is never used", key=True, warn=True)
        for p in flow.prompts
        if p not in used
    ]


def _suggest(name: str, known: object) -> str:
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)  # type: ignore[call-overload]
    return f" (did you mean '{close[0]}'?)" if close else ""
