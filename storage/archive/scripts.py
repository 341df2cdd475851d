"""Narration scripts and the lexicon in a project archive: written out, read back checked, inserted.

The manifest's optional "scripts" and "lexicon" lists (added with storage revision 0005) name voices and
takes by their archive refs, like takes do. Archives without them import unchanged; an older Retake ignores
them (it loses the scripts, never the takes)."""
from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import validate as check
from ..models import LexiconRow, ScriptRow, SegmentRow, SegmentTakeRow
from ..records import NewSegment


@dataclass(frozen=True)
class SegmentTakeIn:
    take_ref: int
    content_hash: str
    created_at: datetime


@dataclass(frozen=True)
class SegmentIn:
    position: int
    section: str | None
    speaker: str | None
    voice_ref: int | None
    engine_id: str | None
    text: str
    pause_after_s: float
    chosen_take_ref: int | None
    locked: bool
    created_at: datetime
    updated_at: datetime
    takes: tuple[SegmentTakeIn, ...]


@dataclass(frozen=True)
class ScriptIn:
    name: str
    source_format: str
    settings: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    segments: tuple[SegmentIn, ...]


@dataclass(frozen=True)
class LexiconIn:
    word: str
    respelling: str
    created_at: datetime
    updated_at: datetime


# ---------------------------------------------------------------- export


def scripts_out(s: Session, project_id: int, voice_refs: dict[int, int], take_refs: dict[int, int]
                ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The project's scripts and lexicon as manifest lists; ids become the archive's refs."""
    scripts = s.scalars(select(ScriptRow).where(ScriptRow.project_id == project_id).order_by(ScriptRow.id)).all()
    segments: dict[int, list[SegmentRow]] = {r.id: [] for r in scripts}
    for seg in s.scalars(select(SegmentRow).join(ScriptRow, ScriptRow.id == SegmentRow.script_id)
                         .where(ScriptRow.project_id == project_id).order_by(SegmentRow.position)):
        segments[seg.script_id].append(seg)
    links: dict[int, list[SegmentTakeRow]] = {}
    for link in s.scalars(select(SegmentTakeRow).join(SegmentRow, SegmentRow.id == SegmentTakeRow.segment_id)
                          .join(ScriptRow, ScriptRow.id == SegmentRow.script_id)
                          .where(ScriptRow.project_id == project_id).order_by(SegmentTakeRow.take_id)):
        links.setdefault(link.segment_id, []).append(link)
    lexicon = s.scalars(select(LexiconRow).where(LexiconRow.project_id == project_id)
                        .order_by(LexiconRow.word_key)).all()
    return [_script_out(r, segments[r.id], links, voice_refs, take_refs) for r in scripts], [
        {"word": e.word, "respelling": e.respelling, "created_at": _iso(e.created_at),
         "updated_at": _iso(e.updated_at)} for e in lexicon]


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


def _script_out(row: ScriptRow, segments: Sequence[SegmentRow], links: dict[int, list[SegmentTakeRow]],
                voice_refs: dict[int, int], take_refs: dict[int, int]) -> dict[str, Any]:
    return {
        "name": row.name, "source_format": row.source_format, "settings": row.settings,
        "created_at": _iso(row.created_at), "updated_at": _iso(row.updated_at),
        "segments": [{
            "position": seg.position, "section": seg.section, "speaker": seg.speaker,
            "voice_ref": voice_refs.get(seg.voice_id) if seg.voice_id is not None else None,
            "engine_id": seg.engine_id, "text": seg.text, "pause_after_s": seg.pause_after_s,
            "chosen_take_ref": take_refs.get(seg.chosen_take_id) if seg.chosen_take_id is not None else None,
            "locked": seg.locked, "created_at": _iso(seg.created_at), "updated_at": _iso(seg.updated_at),
            "takes": [{"take_ref": take_refs[link.take_id], "content_hash": link.content_hash,
                       "created_at": _iso(link.created_at)}
                      for link in links.get(seg.id, []) if link.take_id in take_refs],
        } for seg in segments],
    }


# ---------------------------------------------------------------- import: checks


def parse_scripts(value: Any, voice_refs: Collection[int], take_refs: Collection[int]) -> tuple[ScriptIn, ...]:
    """The manifest's "scripts" (absent: none), checked as the Store checks them; ValueError otherwise."""
    return tuple(_script(_obj(raw, "script"), voice_refs, take_refs) for raw in _list(value, "scripts"))


def parse_lexicon(value: Any) -> tuple[LexiconIn, ...]:
    entries = []
    for raw in _list(value, "lexicon"):
        e = _obj(raw, "lexicon entry")
        entries.append(LexiconIn(
            word=check.clean_name(e["word"], "word", max_len=check.WORD_MAX),
            respelling=check.clean_name(e["respelling"], "respelling", max_len=check.RESPELLING_MAX),
            created_at=_time(e["created_at"]), updated_at=_time(e["updated_at"])))
    keys = [e.word.lower() for e in entries]
    if len(set(keys)) != len(keys):
        raise ValueError("the lexicon has two entries for one word")
    if any(len(k) > check.WORD_MAX for k in keys):
        raise ValueError(f"a lexicon word is longer than {check.WORD_MAX} characters")
    return tuple(entries)


def _script(raw: dict[str, Any], voice_refs: Collection[int], take_refs: Collection[int]) -> ScriptIn:
    name = check.clean_name(raw["name"], "script name")
    segments = tuple(_segment(_obj(seg, "segment"), name, voice_refs, take_refs)
                     for seg in _list(raw["segments"], "segments"))
    if not 1 <= len(segments) <= check.MAX_SEGMENTS:
        raise ValueError(f"script {name!r} must have 1 to {check.MAX_SEGMENTS} segments")
    if sorted(seg.position for seg in segments) != list(range(len(segments))):
        raise ValueError(f"script {name!r} has gaps or repeats in its segment positions")
    return ScriptIn(name=name, source_format=check.source_format(raw["source_format"]),
                    settings=check.json_dict(raw.get("settings"), "script settings"),
                    created_at=_time(raw["created_at"]), updated_at=_time(raw["updated_at"]),
                    segments=tuple(sorted(segments, key=lambda seg: seg.position)))


def _segment(raw: dict[str, Any], script: str, voice_refs: Collection[int], take_refs: Collection[int]) -> SegmentIn:
    position = raw["position"]
    if isinstance(position, bool) or not isinstance(position, int):
        raise ValueError(f"script {script!r}: segment position must be a whole number")
    where = f"script {script!r} segment {position}"
    takes = tuple(SegmentTakeIn(take_ref=_ref(t["take_ref"], take_refs, f"{where} take"),
                                content_hash=check.content_hash(t["content_hash"]), created_at=_time(t["created_at"]))
                  for t in (_obj(x, "segment take") for x in _list(raw.get("takes"), "segment takes")))
    if len({t.take_ref for t in takes}) != len(takes):
        raise ValueError(f"{where} lists one take twice")
    chosen = raw.get("chosen_take_ref")
    if chosen is not None and chosen not in {t.take_ref for t in takes}:
        raise ValueError(f"{where}: its chosen take is not one of its takes")
    voice = raw.get("voice_ref")
    locked = raw["locked"]
    if not isinstance(locked, bool):
        raise ValueError(f"{where}: locked must be true or false")
    spec = check.segment(NewSegment(
        text=raw["text"], section=raw.get("section"), speaker=raw.get("speaker"), voice_id=None,
        engine_id=raw.get("engine_id"), pause_after_s=raw["pause_after_s"]))
    return SegmentIn(position=position, section=spec.section, speaker=spec.speaker,
                     voice_ref=None if voice is None else _ref(voice, voice_refs, f"{where} voice"),
                     engine_id=spec.engine_id, text=spec.text, pause_after_s=spec.pause_after_s,
                     chosen_take_ref=chosen, locked=locked, created_at=_time(raw["created_at"]),
                     updated_at=_time(raw["updated_at"]), takes=takes)


def _ref(value: Any, known: Collection[int], what: str) -> int:
    ref = check.positive_int(value, f"{what} ref")
    if ref not in known:
        raise ValueError(f"{what} refers to unknown ref {ref}")
    return ref


def _obj(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"{what} must be an object")
    return value


def _list(value: Any, what: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValueError(f"{what} must be a list")
    return value


def _time(value: Any) -> datetime:
    if not isinstance(value, str):
        raise ValueError("timestamps must be ISO 8601 text")
    return check.aware(datetime.fromisoformat(value), "timestamp")


# ---------------------------------------------------------------- import: rows


def insert_scripts(s: Session, project_id: int, scripts: Sequence[ScriptIn], lexicon: Sequence[LexiconIn],
                   voice_ids: dict[int, int], take_ids: dict[int, int]) -> None:
    """Rows for the checked scripts and lexicon, refs mapped to the new ids (inside the import's transaction)."""
    for script in scripts:
        row = ScriptRow(project_id=project_id, name=script.name, source_format=script.source_format,
                        settings=script.settings, created_at=script.created_at, updated_at=script.updated_at)
        s.add(row)
        s.flush()
        segments = [SegmentRow(
            script_id=row.id, position=seg.position, section=seg.section, speaker=seg.speaker,
            voice_id=voice_ids[seg.voice_ref] if seg.voice_ref is not None else None, engine_id=seg.engine_id,
            text=seg.text, pause_after_s=seg.pause_after_s,
            chosen_take_id=take_ids[seg.chosen_take_ref] if seg.chosen_take_ref is not None else None,
            locked=seg.locked, created_at=seg.created_at, updated_at=seg.updated_at) for seg in script.segments]
        s.add_all(segments)
        s.flush()
        s.add_all(SegmentTakeRow(segment_id=new.id, take_id=take_ids[t.take_ref], content_hash=t.content_hash,
                                 created_at=t.created_at)
                  for seg, new in zip(script.segments, segments, strict=True) for t in seg.takes)
    s.add_all(LexiconRow(project_id=project_id, word=e.word, word_key=e.word.lower(), respelling=e.respelling,
                         created_at=e.created_at, updated_at=e.updated_at) for e in lexicon)
    s.flush()
