"""Command line over the same use cases as the UI: `python -m studio --help`."""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import shutil
import sys
from datetime import datetime
from pathlib import Path
from typing import Sequence

from pipelines import mastering
from pipelines.base import EngineError
from pipelines.sound.placement import Placement
from storage import StorageError

from . import cli_scripts
from .config import Settings
from .convert import ConvertRequest
from .edit import DEFAULT_INSERT_ENGINE
from .enhance import DEFAULT_DENOISER, NO_ENGINE
from .service import Studio
from .sound_generation import SoundRequest
from .sounds import PlaceRequest
from .speak import DEFAULT_ENGINE, SpeakRequest
from .takes import DOWNLOAD_FORMATS
from .voice_match import MATCHER
from .voices import ClipInput


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m studio", description="Retake voice studio, from the shell.")
    parser.add_argument("--project", type=int, help="project id (default: the first project)")
    groups = parser.add_subparsers(dest="group", required=True)

    voices = groups.add_parser("voices", help="the voice library").add_subparsers(dest="action", required=True)
    voices.add_parser("list")
    create = voices.add_parser("create", help="create a voice from reference recordings")
    create.add_argument("name")
    create.add_argument("clips", nargs="+", type=Path)
    create.add_argument("--language", default="en")
    create.add_argument("--transcript", action="append", default=[], help="one per clip, in order")
    create.add_argument("--consent", action="store_true", help="you have the speaker's consent")
    create.add_argument("--by", default="cli", help="who confirmed consent")
    rename = voices.add_parser("rename")
    rename.add_argument("voice_id", type=int)
    rename.add_argument("name")
    voices.add_parser("delete").add_argument("voice_id", type=int)

    takes = groups.add_parser("takes", help="takes of a project").add_subparsers(dest="action", required=True)
    listing = takes.add_parser("list")
    listing.add_argument("--voice", type=int)
    listing.add_argument("--starred", action="store_true")
    listing.add_argument("--page", type=int, default=1)
    imported = takes.add_parser("import", help="add a recording as a take")
    imported.add_argument("path", type=Path)
    imported.add_argument("--text")
    export = takes.add_parser("export", help="write a take's audio to a file")
    export.add_argument("take_id", type=int)
    export.add_argument("output", type=Path)
    export.add_argument("--format", choices=DOWNLOAD_FORMATS, default="wav")

    edit = groups.add_parser("edit", help="edit a take by its transcript").add_subparsers(dest="action",
                                                                                         required=True)
    edit.add_parser("transcribe", help="print (and store) a take's transcript").add_argument("take_id", type=int)
    applied = edit.add_parser("apply", help="apply an edited transcript; the result is a new take")
    applied.add_argument("take_id", type=int)
    applied.add_argument("text", nargs="?", help="the whole edited transcript (or --text-file)")
    applied.add_argument("--text-file", type=Path, help="read the edited transcript from this UTF-8 file")
    applied.add_argument("--out", type=Path, help="also write the result to this file (.wav, .flac, .mp3, .ogg)")
    applied.add_argument("--engine", default=DEFAULT_INSERT_ENGINE,
                         help=f"speech engine for new words (default {DEFAULT_INSERT_ENGINE})")
    applied.add_argument("--seed", type=int)
    applied.add_argument("--match", action=argparse.BooleanOptionalAction, default=True,
                         help="match an offline engine's built-in voice to the recording (default on)")
    applied.add_argument("--no-check", action="store_true",
                         help="skip listening to the seams (faster; cuts from word timings alone)")

    projects = groups.add_parser("projects", help="projects").add_subparsers(dest="action", required=True)
    projects.add_parser("list")
    projects.add_parser("create").add_argument("name")
    archive = projects.add_parser("export", help="export the project to one .zip archive")
    archive.add_argument("output", type=Path)
    projects.add_parser("import").add_argument("archive", type=Path)

    speak = groups.add_parser("speak", help="speak a text into a new take and write it to a file")
    speak.add_argument("text", nargs="?", help="what to say (or --text-file)")
    speak.add_argument("--text-file", type=Path, help="read the text from this UTF-8 file")
    speak.add_argument("--out", type=Path, required=True, help="audio file to write (.wav, .flac, .mp3, .ogg)")
    speak.add_argument("--voice", type=int, help="voice id (default: the engine's own voice)")
    speak.add_argument("--engine", default=DEFAULT_ENGINE, help=f"speech engine (default {DEFAULT_ENGINE})")
    speak.add_argument("--seed", type=int, help="seed (default: random; the take records it)")
    speak.add_argument("--gate", action=argparse.BooleanOptionalAction, default=True,
                       help="quality gate: score each chunk and retry failing ones (default on)")
    speak.add_argument("--match", action=argparse.BooleanOptionalAction, default=True,
                       help="match an offline engine's built-in voice to --voice (default on)")
    speak.add_argument("--project", type=int, default=argparse.SUPPRESS, help="project id (as before the command)")

    convert = groups.add_parser("convert", help="re-speak a recording (or a take) in a library voice")
    convert.add_argument("source", nargs="?", type=Path, help="recording to convert (or --take)")
    convert.add_argument("--take", type=int, help="convert this take instead of a file")
    convert.add_argument("--voice", type=int, required=True, help="id of the voice to convert into")
    convert.add_argument("--out", type=Path, help="also write the result to this file (.wav, .flac, .mp3, .ogg)")
    convert.add_argument("--engine", default=MATCHER, help=f"converter (default {MATCHER}, offline)")
    convert.add_argument("--pitch-shift", type=float, default=0.0, help="semitones added after matching")
    convert.add_argument("--keep-loudness", action=argparse.BooleanOptionalAction, default=True)
    convert.add_argument("--keep-pauses", action=argparse.BooleanOptionalAction, default=True)
    convert.add_argument("--project", type=int, default=argparse.SUPPRESS, help="project id (as before the command)")

    enhance = groups.add_parser("enhance", help="denoise and master a recording (or a take) into a new take")
    enhance.add_argument("source", nargs="?", type=Path, help="recording to enhance (or --take, or --all)")
    enhance.add_argument("--take", type=int, help="enhance this take instead of a file")
    enhance.add_argument("--all", action="store_true", help="enhance every take of the project that is not itself "
                         "an enhancement result")
    enhance.add_argument("--out", type=Path, help="also write the result to this file (.wav, .flac, .mp3, .ogg)")
    enhance.add_argument("--engine", default=DEFAULT_DENOISER,
                         help=f"denoiser (default {DEFAULT_DENOISER}; rnnoise; {NO_ENGINE}: levels only)")
    enhance.add_argument("--target", default="podcast",
                         help=f"delivery target: {', '.join(mastering.TARGETS)} (default podcast), or none")
    enhance.add_argument("--atten-limit", type=float, help="the most the denoiser may take away, in dB (0 to 100; "
                         "default: set by the input's estimated SNR, nothing on clean input)")
    enhance.add_argument("--check", action=argparse.BooleanOptionalAction, default=True,
                         help="hear the speech before and after denoising, and say if it got worse (default on)")
    enhance.add_argument("--project", type=int, default=argparse.SUPPRESS, help="project id (as before the command)")

    sounds = groups.add_parser("sounds", help="sound effects and beds under narration").add_subparsers(
        dest="action", required=True)
    sound_import = sounds.add_parser("import", help="keep a sound file as a sound take")
    sound_import.add_argument("path", type=Path)
    sound_import.add_argument("--name", help="what the sound is (default: the file name)")
    made = sounds.add_parser("generate", help="make sounds from a description (a text-to-audio engine); each "
                                             "candidate is kept as a sound take, best match first")
    made.add_argument("prompt", help="what the sound is, e.g. 'rain on a tin roof'")
    made.add_argument("--engine", required=True, help="a sound engine id, e.g. stable-audio-open-1.0")
    made.add_argument("--seconds", type=float, default=5.0)
    made.add_argument("--candidates", type=int, default=1, help="how many to make (one seed each), 1 to 4")
    made.add_argument("--seed", type=int, help="the first candidate's seed (default: random)")
    made.add_argument("--steps", type=int, help="denoising steps (diffusion engines; default: the engine's)")
    made.add_argument("--guidance", type=float, help="how closely to follow the prompt (default: the engine's)")
    made.add_argument("--loop", action="store_true", help="make it loop without a seam (beds)")
    placed = sounds.add_parser("place", help="put a sound take under a narration take; the mix is a new take")
    placed.add_argument("take_id", type=int, help="the narration take")
    placed.add_argument("sound_id", type=int, help="the sound take")
    where = placed.add_mutually_exclusive_group()
    where.add_argument("--at", type=float, default=0.0, help="start, seconds into the narration (default 0)")
    where.add_argument("--at-word", type=int, help="start at this word of the take's transcript (from 0)")
    placed.add_argument("--length", type=float, help="seconds to play (default: the sound's own length)")
    placed.add_argument("--loop", action="store_true", help="repeat the sound to fill --length (or the narration)")
    placed.add_argument("--gain", type=float, default=0.0, help="the sound's level change, dB")
    placed.add_argument("--fade-in", type=float, default=0.05)
    placed.add_argument("--fade-out", type=float, default=0.5)
    placed.add_argument("--duck", type=float, default=12.0, help="dB the sound is lowered under speech")
    placed.add_argument("--out", type=Path, help="also write the mix to this file (.wav, .flac, .mp3, .ogg)")

    cli_scripts.add_parsers(groups)

    gc = groups.add_parser("gc", help="delete audio files no row refers to, and temp files crashes left")
    gc.add_argument("--grace", type=float, default=3600.0, help="only files older than this many seconds")

    return parser


def run(studio: Studio, args: argparse.Namespace):
    """Dispatch one command; returns what to print as JSON."""
    project_id = args.project or studio.projects.list()[0].id
    if args.group in ("render", "scripts", "lexicon", "worker"):
        return cli_scripts.run(studio, project_id, args)
    match args.group, getattr(args, "action", None):
        case "voices", "list":
            return studio.voices.list(project_id)
        case "voices", "create":
            clips = [ClipInput(source=path, name=path.name,
                               transcript=args.transcript[i] if i < len(args.transcript) else None)
                     for i, path in enumerate(args.clips)]
            return studio.voices.create(project_id, args.name, clips, language=args.language,
                                        consent=args.consent, consented_by=args.by)
        case "voices", "rename":
            return studio.voices.rename(args.voice_id, args.name, project_id=args.project)
        case "voices", "delete":
            studio.voices.delete(args.voice_id, project_id=args.project)
            return {"deleted": args.voice_id}
        case "takes", "list":
            return studio.takes.list(project_id, voice_id=args.voice, starred_only=args.starred, page=args.page)
        case "takes", "import":
            return studio.takes.import_recording(project_id, args.path, args.text, name=args.path.name)
        case "takes", "export":
            shutil.copyfile(studio.takes.file(args.take_id, args.format, project_id=args.project), args.output)
            return {"written": str(args.output)}
        case "edit", "transcribe":
            heard = studio.edit.transcript(args.take_id, project_id=args.project)
            return {"text": heard.text, "words": [dataclasses.asdict(w) for w in heard.words]}
        case "edit", "apply":
            return edit_take(studio, project_id, args)
        case "projects", "list":
            return studio.projects.list()
        case "projects", "create":
            return studio.projects.create(args.name)
        case "projects", "export":
            shutil.copyfile(studio.projects.export(project_id), args.output)
            return {"written": str(args.output)}
        case "projects", "import":
            return studio.projects.import_archive(args.archive)
        case "speak", _:
            return speak(studio, project_id, args)
        case "convert", _:
            return convert(studio, project_id, args)
        case "enhance", _:
            return enhance(studio, project_id, args)
        case "sounds", "import":
            return studio.sounds.import_sound(project_id, args.path, args.name or args.path.stem)
        case "sounds", "generate":
            return generate_sound(studio, project_id, args)
        case "sounds", "place":
            return place_sound(studio, project_id, args)
        case "gc", _:
            return {"removed_files": studio.takes.collect_garbage(args.grace)}
    raise AssertionError(f"unhandled command {args.group} {args.action}")


def speak(studio: Studio, project_id: int, args: argparse.Namespace) -> dict:
    """The Speak tab's use case from the shell: progress and swapped chunks on stderr, the take on stdout."""
    text = _text(args, "the text to speak")
    _refuse_bad_out(args.out)
    request = SpeakRequest(project_id, text, voice_id=args.voice, engine_id=args.engine, seed=args.seed,
                           gate=args.gate, match_voice=args.match)
    events = studio.speak.start(request, progress=_progress)
    done = None
    for event in events:
        if event.kind == "replaced" and event.chunk is not None:
            print(f"chunk {event.index + 1} spoken again: {'; '.join(event.chunk.attempts[0].failures)}",
                  file=sys.stderr)
        elif event.kind == "done":
            done = event
    assert done is not None and done.take is not None
    return {"take": done.take, **_written(studio, done.take.id, args.out, project_id), "notices": list(done.notices)}


def edit_take(studio: Studio, project_id: int, args: argparse.Namespace) -> dict:
    """The Edit tab's use case from the shell: the new take, its notices and each edit's seam check."""
    text = _text(args, "the edited transcript")
    _refuse_bad_out(args.out)
    outcome = studio.edit.apply(args.take_id, text, engine_id=args.engine, seed=args.seed, progress=_progress,
                                project_id=args.project, match_voice=args.match, check=not args.no_check)
    return {"take": outcome.take, **_written(studio, outcome.take.id, args.out, project_id),
            "notices": list(outcome.notices),
            "seam_checks": [e.check.to_dict() if e.check else None for e in outcome.result.edits]}


def convert(studio: Studio, project_id: int, args: argparse.Namespace) -> dict:
    """The Convert tab's use case from the shell: progress on stderr, the take and its scores on stdout."""
    if (args.source is None) == (args.take is None):
        raise ValueError("Give a recording to convert, or --take, but not both.")
    _refuse_bad_out(args.out)
    request = ConvertRequest(project_id, args.voice, take_id=args.take, source=args.source, engine_id=args.engine,
                             pitch_shift=args.pitch_shift, keep_loudness=args.keep_loudness,
                             keep_pauses=args.keep_pauses)
    result = studio.convert.convert(request, progress=_progress)
    return {"take": result.take, "scores": result.scores, **_written(studio, result.take.id, args.out, project_id)}


def enhance(studio: Studio, project_id: int, args: argparse.Namespace) -> dict:
    """The Enhance tab's use case from the shell: progress on stderr; the take, the levels before and after,
    the delivery target's verdicts and any notice (input left as it was, speech harmed) on stdout."""
    target = None if args.target == "none" else args.target
    if args.all:
        if args.source or args.take is not None or args.out or args.atten_limit is not None:
            raise ValueError("--all enhances every take as it is: give no recording, --take, --out or --atten-limit.")
        taken = studio.enhance.enhance_all(project_id, engine_id=args.engine, target=target, progress=_progress)
        return {"takes": taken}
    if (args.source is None) == (args.take is None):
        raise ValueError("Give a recording to enhance, or --take, or --all, but only one of them.")
    _refuse_bad_out(args.out)
    result = studio.enhance.enhance(project_id, take_id=args.take, source=args.source, engine_id=args.engine,
                                    target=target, progress=_progress, atten_limit_db=args.atten_limit,
                                    check=args.check)
    written = _written(studio, result.take.id, args.out, project_id)
    return {"take": result.take, "before": result.before, "after": result.after,
            "target": [_criterion(c) for c in result.criteria], "notices": list(result.notices), **written}


def _criterion(criterion: mastering.Criterion) -> dict:
    """A delivery requirement's verdict, with how it is missed only where it is."""
    row = {**dataclasses.asdict(criterion), "says": criterion.describe()}
    if criterion.met:
        del row["problem"]
    return row


def generate_sound(studio: Studio, project_id: int, args: argparse.Namespace) -> dict:
    """The Sounds tab's Generate from the shell: progress on stderr, the candidates' takes on stdout."""
    request = SoundRequest(project_id, args.prompt, args.engine, seconds=args.seconds, seed=args.seed,
                           steps=args.steps, guidance=args.guidance, candidates=args.candidates, loop=args.loop)
    result = studio.sound_generation.generate(request, progress=_progress)
    return {"takes": [c.take for c in result.candidates], "similarity": [c.similarity for c in result.candidates],
            "ranked_by": result.ranked_by, "notices": list(result.notices)}


def place_sound(studio: Studio, project_id: int, args: argparse.Namespace) -> dict:
    """The Sounds tab's placement from the shell: the mix's take (and file), where the sound went, notices."""
    _refuse_bad_out(args.out)
    placement = Placement(at_s=args.at, length_s=args.length, loop=args.loop, gain_db=args.gain,
                          fade_in_s=args.fade_in, fade_out_s=args.fade_out, duck_db=args.duck)
    result = studio.sounds.place(PlaceRequest(project_id, args.take_id, args.sound_id, placement,
                                              at_word=args.at_word))
    written = _written(studio, result.take.id, args.out, project_id)
    return {"take": result.take, "start_s": result.placed.start_s, "end_s": result.placed.end_s,
            "speech_regions": len(result.speech), "notices": list(result.notices), **written}


def _text(args: argparse.Namespace, what: str) -> str:
    """The text given on the command line, or read from --text-file (one of the two)."""
    if (args.text is None) == (args.text_file is None):
        raise ValueError(f"Give {what}, or --text-file, but not both.")
    return args.text if args.text is not None else args.text_file.read_text(encoding="utf-8")


def _written(studio: Studio, take_id: int, out: Path | None, project_id: int) -> dict:
    """The stored take copied to `out`, if asked: as stored, with nothing normalised on the way out."""
    if out is None:
        return {}
    shutil.copyfile(studio.takes.file(take_id, _out_format(out), project_id=project_id), out)
    return {"written": str(out)}


def _progress(fraction: float, message: str) -> None:
    print(f"{fraction:4.0%} {message}", file=sys.stderr)


def _refuse_bad_out(out: Path | None) -> None:
    """A wrong --out name is refused before any work is done."""
    if out is not None:
        _out_format(out)


def _out_format(path: Path) -> str:
    suffix = path.suffix.lower().lstrip(".")
    if suffix not in DOWNLOAD_FORMATS:
        raise ValueError(f"--out must end in one of {', '.join('.' + f for f in DOWNLOAD_FORMATS)}, got {path.name!r}.")
    return suffix


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        studio = Studio.open(Settings.from_env())
    except (ValueError, StorageError, OSError) as error:  # a damaged database, a bad setting: one sentence
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        result = run(studio, args)
    except (ValueError, StorageError, OSError, EngineError) as error:  # EngineError: e.g. not downloaded, offline
        print(f"error: {error}", file=sys.stderr)
        return 2
    finally:
        studio.close()
    print(json.dumps(_plain(result), indent=2, default=str))
    return 0


def _plain(value):
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: _plain(v) for k, v in dataclasses.asdict(value).items()}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):  # a silent level (-inf) is no JSON number
        return None
    return value
