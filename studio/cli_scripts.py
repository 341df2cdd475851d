"""Narration scripts from the shell, for batch work: the same use cases as the Scripts tab.

    python -m studio render chapter1.md --voice Ada --voice BOB=Bob --out chapter1.mp3
    python -m studio scripts import|list|status|generate ...
    python -m studio lexicon set GIF jiff
    python -m studio worker --workers 2          (a background-job worker, e.g. on another machine)
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

from .scripts import ScriptImport, as_dict
from .service import Studio
from .speak import DEFAULT_ENGINE

def add_parsers(groups: Any) -> None:
    render = groups.add_parser("render", help="speak a script file (text, Markdown, SRT) and render it to one file")
    render.add_argument("script", type=Path)
    _script_options(render)
    render.add_argument("--out", type=Path, required=True, help=".wav, .flac, .mp3 or .m4b (chapters per section)")
    render.add_argument("--target", help="delivery loudness target, e.g. podcast, audiobook (default: none)")
    render.add_argument("--workers", type=int, default=1, help="worker threads here (others may help via Redis)")

    scripts = groups.add_parser("scripts", help="narration scripts").add_subparsers(dest="action", required=True)
    imported = scripts.add_parser("import", help="keep a script file as a script of segments")
    imported.add_argument("script", type=Path)
    _script_options(imported)
    scripts.add_parser("list")
    scripts.add_parser("status", help="every segment and whether its audio matches it").add_argument(
        "script_id", type=int)
    generate = scripts.add_parser("generate", help="speak every segment that needs it, as background jobs")
    generate.add_argument("script_id", type=int)
    generate.add_argument("--workers", type=int, default=1, help="worker threads here; 0: queue only")

    lexicon = groups.add_parser("lexicon", help="the project's pronunciations").add_subparsers(dest="action",
                                                                                              required=True)
    lexicon.add_parser("list")
    entry = lexicon.add_parser("set", help="say WORD as RESPELLING (or /phonemes/) in every script")
    entry.add_argument("word")
    entry.add_argument("respelling")
    lexicon.add_parser("delete").add_argument("word")

    worker = groups.add_parser("worker", help="run background jobs (script segments) until stopped")
    worker.add_argument("--workers", type=int, default=1)


def _script_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--name", help="the script's name (default: the file name)")
    parser.add_argument("--voice", action="append", default=[],
                        help="NAME: the voice of untagged lines; TAG=NAME: the voice of a speaker tag (repeatable)")
    parser.add_argument("--engine", default=DEFAULT_ENGINE)
    parser.add_argument("--format", dest="fmt", default="auto", choices=["auto", "text", "markdown", "srt"])
    parser.add_argument("--split", default="paragraph", choices=["paragraph", "sentence"])


def run(studio: Studio, project_id: int, args: argparse.Namespace) -> Any:
    match args.group, getattr(args, "action", None):
        case "render", _:
            return render(studio, project_id, args)
        case "scripts", "import":
            return studio.scripts.create(script_import(studio, project_id, args))
        case "scripts", "list":
            return studio.store.list_scripts(project_id)
        case "scripts", "status":
            return [as_dict(row) for row in studio.scripts.status(args.script_id)]
        case "scripts", "generate":
            return generate(studio, args.script_id, args.workers)
        case "lexicon", "list":
            return studio.store.lexicon(project_id)
        case "lexicon", "set":
            return studio.scripts.set_pronunciation(project_id, args.word, args.respelling)
        case "lexicon", "delete":
            studio.store.delete_lexicon_entry(project_id, args.word)
            return {"deleted": args.word}
        case "worker", _:
            logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")  # what it runs
            studio.script_jobs.run_worker(args.workers)
            return {"stopped": True}
    raise AssertionError(f"unhandled command {args.group} {getattr(args, 'action', None)}")


def script_import(studio: Studio, project_id: int, args: argparse.Namespace) -> ScriptImport:
    """The file read and the `--voice` options turned into voice ids of the project (by name)."""
    try:
        source = args.script.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"{args.script.name} is not a text file (UTF-8).") from None
    by_name = {v.name.casefold(): v.id for v in studio.voices.list(project_id)}

    def voice(name: str) -> int:
        if name.strip().casefold() not in by_name:
            known = ", ".join(sorted(v.name for v in studio.voices.list(project_id))) or "none yet"
            raise ValueError(f"No voice called {name.strip()!r} in this project (voices: {known}).")
        return by_name[name.strip().casefold()]

    default, tags = None, {}
    for option in args.voice:
        tag, sep, name = option.partition("=")
        if sep:
            tags[tag.strip()] = voice(name)
        else:
            default = voice(option)
    return ScriptImport(project_id, args.name or args.script.stem, source, fmt=args.fmt, split=args.split,
                        voice_id=default, voices=tags, engine_id=args.engine)


def generate(studio: Studio, script_id: int, workers: int) -> dict:
    """Queue what needs audio and, with workers here, wait for it (progress on stderr)."""
    if workers <= 0:
        return {"queued": len(studio.script_jobs.generate_all(script_id))}
    studio.script_jobs.start_workers(workers)  # first: it queues what an interrupted run left (this script too)
    queued = studio.script_jobs.generate_all(script_id)
    try:
        for index, result in enumerate(queued, 1):
            studio.script_jobs.wait([result])
            print(f"{index}/{len(queued)} segments", file=sys.stderr)
    finally:
        studio.script_jobs.stop_workers()
    progress = studio.script_jobs.progress(script_id)
    return {"queued": len(queued), "done": progress.done, "waiting": progress.waiting, "locked": progress.locked}


def render(studio: Studio, project_id: int, args: argparse.Namespace) -> dict:
    script = studio.scripts.create(script_import(studio, project_id, args))
    made = generate(studio, script.id, max(args.workers, 1))
    result = studio.scripts.render(script.id, fmt=args.out.suffix.lower().lstrip("."), target=args.target)
    args.out.write_bytes(result.data)
    written = [str(args.out)]
    for suffix, text in (("srt", result.srt), ("vtt", result.vtt), ("json", result.manifest_json)):
        path = args.out.with_suffix(f".{suffix}")
        path.write_text(text, encoding="utf-8")
        written.append(str(path))
    return {"script": script.id, "segments": made, "take": result.take, "written": written,
            "level": result.level}
