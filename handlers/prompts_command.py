"""`ivr prompts build`: render the flows' prompts to the sound files Asterisk (and Twilio's
<Play>) plays. The work is in `ivr.prompts.build`; this is the command line around it."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from ivr.errors import FlowInvalid
from ivr.prompts.build import BuildReport, build
from ivr.prompts.recordings import RecordingsFolder
from ivr.prompts.tts import EspeakNg, Synthesizer
from ivr.script.loader import flow_files, load_file
from ivr.script.model import Flow


def add_commands(commands: Any) -> None:
    """`commands`: the `ivr` parser's subparsers."""
    prompts = commands.add_parser("prompts", help="render the flows' prompts to sound files")
    actions = prompts.add_subparsers(metavar="ACTION")
    run = actions.add_parser("build", help="render every prompt × language (incremental)")
    run.add_argument("flows_named", nargs="*", metavar="FLOW", help="only these flows (by name)")
    run.add_argument("--flows", type=Path, help="folder of flow files (default ./flows)")
    run.add_argument("--out", type=Path, help="sounds folder (default DATA_DIR/sounds)")
    run.add_argument(
        "--recordings", type=Path, help="studio recordings, {language}/{flow}/{prompt}.wav"
    )
    run.add_argument("--force", action="store_true", help="render even unchanged prompts")
    run.add_argument("--jobs", type=int, help="prompts rendered at once (default: CPUs, ≤ 8)")
    run.set_defaults(run=_build)


def _build(args: argparse.Namespace) -> int:
    from handlers.settings import default_sounds_dir

    flows, problems = _load(args.flows or _flows_dir(), args.flows_named)
    if flows is None:
        return 2
    out = args.out or default_sounds_dir()
    engine: Synthesizer = EspeakNg()
    if args.recordings is not None:
        engine = RecordingsFolder(args.recordings, engine)
    report = build(flows, out, engine, jobs=args.jobs, force=args.force)
    for sound in report.rendered:
        print(f"rendered {sound.key}")
    for sound, why in report.failed:
        print(f"failed {sound.key}: {why}", file=sys.stderr)
    print(_summary(report, out), file=sys.stderr)
    return 1 if report.failed or problems else 0


def _flows_dir() -> Path:
    return Path(os.environ.get("IVR_FLOWS_DIR", "flows"))


def _load(folder: Path, names: list[str]) -> tuple[list[Flow] | None, int]:
    """The valid flows in `folder` (only `names` if given); invalid files are reported."""
    flows, problems = [], 0
    for path in flow_files([folder]):
        try:
            flows.append(load_file(path).flow)
        except FlowInvalid as exc:
            print(exc, file=sys.stderr)
            problems += 1
    if names:
        unknown = sorted(set(names) - {f.flow for f in flows})
        if unknown:
            print(f"no valid flow named {', '.join(unknown)} in {folder}", file=sys.stderr)
            return None, problems
        flows = [f for f in flows if f.flow in names]
    return flows, problems


def _summary(report: BuildReport, out: Path) -> str:
    total = len(report.rendered) + len(report.kept) + len(report.failed)
    return (
        f"{total} prompt sound(s) in {out}: {len(report.rendered)} rendered "
        f"({report.audio_seconds:.1f} s of audio), {len(report.kept)} unchanged, "
        f"{len(report.failed)} failed, in {report.seconds:.2f} s"
    )
