"""The shipped flows, built once per session into a folder of their own (about half a second)."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from ivr.prompts.build import BuildReport, build
from ivr.script.loader import flow_files, load_file
from ivr.script.model import Flow

REPO = Path(__file__).resolve().parents[2]

needs_tools = pytest.mark.skipif(
    not (shutil.which("espeak-ng") and shutil.which("sox")),
    reason="espeak-ng and sox are needed (.ci/run installs them)",
)


def shipped_flows() -> list[Flow]:
    return [load_file(path).flow for path in flow_files([REPO / "flows"])]


@dataclass(frozen=True)
class Built:
    root: Path
    flows: list[Flow]
    report: BuildReport


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    if not (shutil.which("espeak-ng") and shutil.which("sox")):
        pytest.skip("espeak-ng and sox are needed (.ci/run installs them)")
    root = tmp_path_factory.mktemp("sounds")
    flows = shipped_flows()
    return Built(root, flows, build(flows, root))


@pytest.fixture
def sounds(built: Built, tmp_path: Path) -> Path:
    """A copy of the built folder that a test may change."""
    root = tmp_path / "sounds"
    shutil.copytree(built.root, root)
    return root
