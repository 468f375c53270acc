"""Golden flow files: every `good/*.yaml` loads, every `bad/*.yaml` fails with exactly the
problems written in its sibling `NAME.expected`.

The file-name convention: the loader is given each file as its path relative to the repository
root, in POSIX form (`tests/flows/bad/loop.yaml`), as `ivr flows check tests/flows/bad` names it
when run from the root. So each line of a `.expected` file is one problem exactly as printed,
`tests/flows/bad/NAME.yaml:LINE:COL: message` (`...: warning: message` for a warning), in the
loader's order (by line, then column). LINE and COL are 1-based, as editors count.

A good file's `.expected` lists the warnings it loads with; a good file without one must load
without warnings. The shipped flows (`flows/*.yaml`) are good files too.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ivr.errors import FlowInvalid
from ivr.script.loader import load_file

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
GOOD = sorted((HERE / "good").glob("*.yaml")) + sorted((ROOT / "flows").glob("*.yaml"))
BAD = sorted((HERE / "bad").glob("*.yaml"))


def relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def expected(path: Path) -> list[str]:
    sibling = path.with_suffix(".expected")
    return sibling.read_text(encoding="utf-8").splitlines() if sibling.exists() else []


def load(path: Path, monkeypatch: pytest.MonkeyPatch) -> object:
    monkeypatch.chdir(ROOT)  # so the loader names the file by its path from the root
    return load_file(Path(relative(path)))


@pytest.mark.parametrize("path", GOOD, ids=relative)
def test_a_good_flow_loads(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    try:
        loaded = load(path, monkeypatch)
    except FlowInvalid as exc:
        pytest.fail(f"{relative(path)} should load, but:\n{exc}")
    assert [str(w) for w in loaded.warnings] == expected(path)  # type: ignore[attr-defined]


@pytest.mark.parametrize("path", BAD, ids=relative)
def test_a_bad_flow_fails_with_exactly_its_expected_problems(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wanted = expected(path)
    assert wanted, f"{relative(path)} needs a {path.with_suffix('.expected').name}"
    with pytest.raises(FlowInvalid) as caught:
        load(path, monkeypatch)
    assert [str(p) for p in caught.value.problems] == wanted


def test_every_expected_file_belongs_to_a_flow_file() -> None:
    for folder in ("good", "bad"):
        for sibling in (HERE / folder).glob("*.expected"):
            assert sibling.with_suffix(".yaml").exists(), f"{relative(sibling)} has no .yaml"


def test_the_fixture_folders_are_not_empty() -> None:
    assert len(BAD) >= 18
    assert any(p.parent.name == "good" for p in GOOD)
    assert any(p.parent.name == "flows" for p in GOOD)
