"""flows/schema.json is the model's JSON Schema: regenerate it with
`.venv/bin/ivr flows schema > flows/schema.json` after changing ivr/script/model.py."""

from __future__ import annotations

from pathlib import Path

from ivr.script.schema import flow_schema_text

ROOT = Path(__file__).resolve().parents[2]


def test_the_committed_schema_is_the_models() -> None:
    committed = (ROOT / "flows" / "schema.json").read_text(encoding="utf-8")
    assert committed == flow_schema_text(), "run: ivr flows schema > flows/schema.json"
