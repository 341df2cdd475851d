"""Narration scripts: a document split into segments, each spoken in its voice and kept with its takes, and the
whole rendered to one file with captions.

A segment's audio is decided by its text (after the project's pronunciation lexicon), its voice, its engine and
the script's settings; their hash is kept with every take made for it. A segment whose chosen take carries the
current hash is up to date and is never spoken again: editing one line regenerates that line only."""
from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipelines import audio as au
from pipelines import mastering
from pipelines.cancel import CancelToken, checkpoint
from pipelines.narration.captions import caption_cues, to_srt, to_vtt
from pipelines.narration.document import detect_format, parse_script, segment_hash
from pipelines.narration.lexicon import apply_lexicon, check_entry
from pipelines.narration.render import RenderPiece, export, manifest
from pipelines.narration.render import render as render_pieces
from storage import UNSET, LexiconEntry, NewSegment, NewTake, Script, ScriptSegment, Store, Take, UnitOfWork
from storage.records import Unset

from .edit import Edit
from .media import Media, Progress, stepper, write_atomic
from .ownership import NotInProject
from .speak import DEFAULT_ENGINE, Speak

RENDER_FORMATS = ("wav", "flac", "mp3", "m4b")
DEFAULT_SETTINGS = {"engine_id": DEFAULT_ENGINE, "voice_id": None, "speed": 1.0, "gate": True, "pause_s": 0.6,
                    "crossfade_s": 0.01, "target": None}


@dataclass(frozen=True)
class ScriptImport:
    """A document to keep as a script. `voices`: speaker tag -> voice id (a tag without one must name a voice
    of the project); untagged lines and tags mapped to None speak in `voice_id` (None: the engine's own)."""

    project_id: int
    name: str
    source: str
    fmt: str = "auto"
    split: str = "paragraph"
    voice_id: int | None = None
    voices: Mapping[str, int | None] = field(default_factory=dict)
    engine_id: str = DEFAULT_ENGINE
    pause_s: float = 0.6
    gate: bool = True  # the quality gate scores every segment (and speaks failed chunks again)


@dataclass(frozen=True)
class SegmentStatus:
    segment: ScriptSegment
    state: str  # "ready" (its take matches it), "stale" (edited since), "missing" (no take yet)
    content_hash: str
    take: Take | None

    @property
    def needs_audio(self) -> bool:
        return self.state != "ready" and not self.segment.locked


@dataclass(frozen=True)
class RenderedScript:
    """A render kept as a take, the file in the format asked, its captions and its manifest."""

    take: Take
    fmt: str
    data: bytes
    srt: str
    vtt: str
    manifest_json: str
    level: dict[str, Any] | None
    notices: tuple[str, ...]


class Scripts:
    def __init__(self, store: Store, speak: Speak, edit: Edit, media: Media) -> None:
        self.store = store
        self.speak = speak
        self.edit = edit
        self.media = media

    def create(self, request: ScriptImport) -> Script:
        """Parse and keep the document; a readable ValueError for an empty script, a line too long to speak, or
        a speaker tag that names no voice of the project."""
        self.store.get_project(request.project_id)
        lines = parse_script(request.source, request.fmt, split=request.split, pause_s=request.pause_s)
        tags = self._tag_voices(request, {line.speaker for line in lines if line.speaker})
        segments = [NewSegment(section=line.section, speaker=line.speaker, text=line.text,
                               voice_id=tags.get(line.speaker) if line.speaker else None, engine_id=None,
                               pause_after_s=line.pause_after_s) for line in lines]
        settings = {**DEFAULT_SETTINGS, "engine_id": request.engine_id, "voice_id": request.voice_id,
                    "pause_s": request.pause_s, "gate": request.gate}
        self.media.engine(request.engine_id, "speak")  # an unknown engine fails before anything is kept
        fmt = request.fmt if request.fmt != "auto" else detect_format(request.source)
        return self.store.create_script(request.project_id, request.name.strip() or "Script", fmt, segments,
                                        settings)

    def _tag_voices(self, request: ScriptImport, tags: set[str]) -> dict[str, int | None]:
        by_name = {v.name.casefold(): v.id for v in self.store.list_voices(request.project_id)}
        mapped = {tag.casefold(): voice for tag, voice in request.voices.items()}
        unknown = sorted(t for t in tags if t.casefold() not in mapped and t.casefold() not in by_name)
        if unknown:
            raise ValueError(f"The script's speaker tag{'s' if len(unknown) > 1 else ''} {', '.join(unknown)} "
                             f"name{'' if len(unknown) > 1 else 's'} no voice of this project: add a voice of that "
                             "name, or say which voice speaks for each tag.")
        for voice_id in mapped.values():
            if voice_id is not None and self.store.get_voice(voice_id).project_id != request.project_id:
                raise ValueError(f"Voice #{voice_id} belongs to another project.")
        return {t: mapped[t.casefold()] if t.casefold() in mapped else by_name[t.casefold()] for t in tags}

    def status(self, script_id: int) -> list[SegmentStatus]:
        """Every segment, in order, with whether its chosen take still matches it."""
        script = self.store.get_script(script_id)
        lexicon = self.lexicon(script.project_id)
        rows = []
        for segment in self.store.list_segments(script_id):
            digest = self.content_hash(script, segment, lexicon)
            take = self.store.get_take(segment.chosen_take_id) if segment.chosen_take_id else None
            state = "missing" if take is None else ("ready" if segment.take_hash == digest else "stale")
            rows.append(SegmentStatus(segment, state, digest, take))
        return rows

    def lexicon(self, project_id: int) -> dict[str, str]:
        return {entry.word: entry.respelling for entry in self.store.lexicon(project_id)}

    def voicing(self, script: Script, segment: ScriptSegment) -> tuple[int | None, str]:
        """The voice and engine a segment speaks with: its own, else the script's."""
        voice = segment.voice_id if segment.voice_id is not None else script.settings.get("voice_id")
        return voice, segment.engine_id or script.settings.get("engine_id") or DEFAULT_ENGINE

    def content_hash(self, script: Script, segment: ScriptSegment, lexicon: Mapping[str, str]) -> str:
        voice_id, engine_id = self.voicing(script, segment)
        settings = {k: script.settings.get(k) for k in ("speed", "gate")}
        return segment_hash(segment.text, voice_key=f"voice-{voice_id}" if voice_id else "engine-default",
                            engine_id=engine_id, lexicon=lexicon, settings=settings)

    def generate_segment(self, segment_id: int, *, force: bool = False, progress: Progress | None = None,
                         cancel: CancelToken | None = None) -> Take | None:
        """Speak one segment and keep the take as its chosen one (take, link and choice in one transaction);
        None when its chosen take already matches it (nothing is spoken) or it is locked."""
        segment = self.store.get_segment(segment_id)
        script = self.store.get_script(segment.script_id)
        lexicon = self.lexicon(script.project_id)
        digest = self.content_hash(script, segment, lexicon)
        if segment.locked or (not force and segment.chosen_take_id and segment.take_hash == digest):
            return None
        voice_id, engine_id = self.voicing(script, segment)
        # Respellings for every engine; /phoneme/ entries as written for engines that read IPA, else the word.
        spoken = apply_lexicon(segment.text, lexicon,
                               phonemes=self.media.engine(engine_id, "speak").reads_phonemes)

        def tie(uow: UnitOfWork, take: Take) -> None:
            uow.link_segment_take(segment.id, take.id, digest)
            uow.choose_segment_take(segment.id, take.id)

        events = self.speak.speak(script.project_id, spoken, voice_id=voice_id, engine_id=engine_id,
                                  seed=int(digest[:15], 16), speed=float(script.settings.get("speed") or 1.0),
                                  gate=bool(script.settings.get("gate", True)), on_saved=tie,
                                  progress=stepper(progress), cancel=cancel)
        done = None
        for event in events:
            if event.kind == "done":
                done = event
        assert done is not None and done.take is not None
        return done.take

    def pending(self, script_id: int) -> list[int]:
        """The segments a "generate all" speaks: not locked, and without a take that matches them."""
        return [row.segment.id for row in self.status(script_id) if row.needs_audio]

    def set_pronunciation(self, project_id: int, word: str, respelling: str) -> LexiconEntry:
        """Say `word` as `respelling` (or /phonemes/) in every script of the project; segments whose text has the
        word are stale until spoken again."""
        word, respelling = check_entry(word, respelling)
        return self.store.set_lexicon_entry(project_id, word, respelling)

    def of_project(self, project_id: int) -> list[Script]:
        return self.store.list_scripts(project_id)

    def script(self, script_id: int, project_id: int | None = None) -> Script:
        """The script, refused when it belongs to another project than the caller's."""
        script = self.store.get_script(int(script_id))
        if project_id is not None and script.project_id != int(project_id):
            raise NotInProject(f"Script #{script.id} is not in this project.")
        return script

    def segment(self, segment_id: int, project_id: int | None = None) -> ScriptSegment:
        segment = self.store.get_segment(int(segment_id))
        self.script(segment.script_id, project_id)
        return segment

    def segment_takes(self, segment_id: int, project_id: int | None = None) -> list[Take]:
        """A segment's takes, newest first."""
        return [take for take, _ in self.store.segment_takes(self.segment(segment_id, project_id).id)]

    def edit_segment(self, segment_id: int, *, text: str | None = None, voice_id: int | None | Unset = UNSET,
                     pause_after_s: float | None = None, locked: bool | None = None,
                     project_id: int | None = None) -> ScriptSegment:
        """New words, voice (None: the script's), the pause after it and/or the lock; unlocking happens first, so
        one call can unlock and edit. A pause changes the render only: the segment's audio stays valid."""
        segment = self.segment(segment_id, project_id)
        if locked is False and segment.locked:
            segment = self.store.update_segment(segment.id, locked=False)
        if text is not None and text.strip() != segment.text:
            segment = self.store.update_segment(segment.id, text=text)
        if voice_id is not UNSET and voice_id != segment.voice_id:
            project = self.script(segment.script_id).project_id
            if voice_id is not None and self.store.get_voice(voice_id).project_id != project:
                raise NotInProject(f"Voice #{voice_id} is not in this project.")
            segment = self.store.update_segment(segment.id, voice_id=voice_id)
        if pause_after_s is not None and pause_after_s != segment.pause_after_s:
            segment = self.store.update_segment(segment.id, pause_after_s=float(pause_after_s))
        if locked and not segment.locked:
            segment = self.store.update_segment(segment.id, locked=True)
        return segment

    def move(self, segment_id: int, by: int, project_id: int | None = None) -> ScriptSegment:
        """One place earlier (-1) or later (+1); the ends stay where they are."""
        segment = self.segment(segment_id, project_id)
        last = len(self.store.list_segments(segment.script_id)) - 1
        return self.store.move_segment(segment.id, min(max(segment.position + by, 0), last))

    def split(self, segment_id: int, text_with_mark: str, project_id: int | None = None) -> ScriptSegment:
        """Two segments, cut where the person put a `|` in the segment's words (the words may be edited too)."""
        segment = self.segment(segment_id, project_id)
        if (text_with_mark or "").count("|") != 1:
            raise ValueError("Put one | in the text where the segment should be split.")
        head, tail = text_with_mark.split("|")
        if not head.strip() or not tail.strip():
            raise ValueError("Both parts of a split need words: put the | between two words.")
        joined = f"{head.rstrip()} {tail.lstrip()}"
        if joined != segment.text:
            segment = self.store.update_segment(segment.id, text=joined)
        first, _ = self.store.split_segment(segment.id, len(head.rstrip()))
        return first

    def merge_next(self, segment_id: int, project_id: int | None = None) -> ScriptSegment:
        return self.store.merge_segments(self.segment(segment_id, project_id).id)

    def delete_segment(self, segment_id: int, project_id: int | None = None) -> None:
        self.store.delete_segment(self.segment(segment_id, project_id).id)

    def choose(self, segment_id: int, take_id: int, project_id: int | None = None) -> None:
        self.store.choose_segment_take(self.segment(segment_id, project_id).id, int(take_id))

    def render(self, script_id: int, *, fmt: str = "wav", target: str | None = None,
               progress: Progress | None = None, cancel: CancelToken | None = None) -> RenderedScript:
        """The chosen takes joined with their pauses (mastered to `target`), kept as a take of kind "render",
        with SRT/VTT captions from word timings and a manifest of who said what. Segments without a take are
        refused, all of them named; segments edited since their take are rendered and named in the notices."""
        step = stepper(progress)
        if fmt not in RENDER_FORMATS:
            raise ValueError(f"Render to one of {', '.join(RENDER_FORMATS)}, not {fmt!r}.")
        if target:
            mastering.delivery_target(target)  # an unknown target fails before any work
        script = self.store.get_script(script_id)
        rows = self.status(script_id)
        missing = [r.segment.position + 1 for r in rows if r.take is None]
        if missing:
            raise ValueError(f"{len(missing)} segment{'s have' if len(missing) > 1 else ' has'} no take yet "
                             f"(segment{'s' if len(missing) > 1 else ''} {_numbers(missing)}): generate "
                             "them first.")
        stale = [r.segment.position + 1 for r in rows if r.state == "stale"]
        voices = {v.id: v.name for v in self.store.list_voices(script.project_id)}
        pieces = []
        for index, row in enumerate(rows):
            checkpoint(cancel)
            step(0.8 * index / len(rows), f"reading segment {index + 1} of {len(rows)}")
            take = row.take
            assert take is not None
            heard = self.edit.transcript(take.id)  # word timings for the captions; stored once made
            pieces.append(RenderPiece(self.media.take_audio(take), heard.words, row.segment.text,
                                      row.segment.section, row.segment.pause_after_s,
                                      voices.get(take.voice_id or -1), take.engine_id, take.kind != "recording",
                                      segment_id=row.segment.id, take_id=take.id))
        step(0.85, "joining and mastering")
        rendered = render_pieces(pieces, crossfade_s=float(script.settings.get("crossfade_s") or 0.01),
                                 target=target or None)
        checkpoint(cancel)
        cues = caption_cues(rendered.words)
        listing = {**manifest(rendered), "script": {"id": script.id, "name": script.name}}
        level = {**listing["level"], "target": listing["target"], "passed": listing["passed"],
                 "problems": listing["problems"]} if "level" in listing else None
        step(0.9, f"encoding {fmt}")
        data = export(rendered, fmt, title=script.name)  # m4b and mp3 carry a chapter per section
        take = self.store.add_take(script.project_id, NewTake(
            kind="render", audio=au.encode(rendered.audio, "flac"), sample_rate=rendered.audio.sample_rate,
            duration=rendered.audio.duration, text=script.name,
            parameters={"script_id": script.id, "format": fmt, "target": target,
                        "segments": [[r.segment.id, r.take.id if r.take else None] for r in rows]},
            scores={"level": level} if level else {}))
        step(1.0, "done")
        notices = (f"Segment{'s' if len(stale) > 1 else ''} {_numbers(stale)} changed since "
                   f"{'their takes were' if len(stale) > 1 else 'its take was'} made: generate again to "
                   "hear the new text.",) if stale else ()
        return RenderedScript(take, fmt, data, to_srt(cues), to_vtt(cues), json.dumps(listing, indent=2), level,
                              notices)

    def export_files(self, result: RenderedScript) -> list[Path]:
        """The render, its captions and manifest as files to hand to a browser."""
        stem = f"render-{result.take.id}"
        paths = []
        for suffix, data in ((result.fmt, result.data), ("srt", result.srt.encode()), ("vtt", result.vtt.encode()),
                             ("json", result.manifest_json.encode())):
            path = self.media.cache_file(f"{stem}.{suffix}")
            write_atomic(path, data)
            paths.append(path)
        return paths


def _numbers(positions: list[int]) -> str:
    shown = ", ".join(str(p) for p in positions[:12])
    return shown + (f" and {len(positions) - 12} more" if len(positions) > 12 else "")


def as_dict(row: SegmentStatus) -> dict[str, Any]:
    """A segment's status for the UI table and the API."""
    s = row.segment
    return {"id": s.id, "position": s.position, "section": s.section, "speaker": s.speaker, "text": s.text,
            "state": "locked" if s.locked else row.state, "take_id": row.take.id if row.take else None,
            "scores": row.take.scores if row.take else {}}
