"""The JSON Schema of flow files, generated from the model (flows/schema.json is its copy)."""

from __future__ import annotations

import json
from typing import Any

from ivr.script.model import Flow


def flow_schema() -> dict[str, Any]:
    schema = Flow.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://hotline.example/flows/schema.json"
    schema["title"] = "Hotline call flow"
    return schema


def flow_schema_text() -> str:
    return json.dumps(flow_schema(), ensure_ascii=False, indent=2) + "\n"
