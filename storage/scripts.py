"""The Store's narration scripts: scripts, their segments, segment takes and the project lexicon (`Store`
inherits this). Each write is one unit of work, as in store.py; each read one short session."""
from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from .lookups import chosen_hash, require_project, require_script, require_segment
from .mapping import lexicon_record, script_record, segment_record, take_record
from .models import LexiconRow, ScriptRow, SegmentRow, SegmentTakeRow, TakeRow
from .records import (
    UNSET,
    LexiconEntry,
    NewSegment,
    NewTake,
    NewTranscript,
    Script,
    ScriptSegment,
    Take,
    Unset,
)
from .unit_of_work import UnitOfWork


class ScriptStore:
    """Scripts in the project store; see storage.script_writes for the rules the writes keep."""

    if TYPE_CHECKING:  # provided by Store
        def unit_of_work(self) -> AbstractContextManager[UnitOfWork]: ...
        def _read(self) -> AbstractContextManager[Session]: ...

    # ------------------------------------------------------------------ scripts

    def create_script(self, project_id: int, name: str, source_format: str, segments: Sequence[NewSegment],
                      settings: dict[str, Any] | None = None) -> Script:
        """A script with its lines (1 to 2000), in one transaction; `source_format` is "text", "markdown"
        or "srt"; `settings` are the narration's own (pauses, target, engine), kept as given."""
        with self.unit_of_work() as uow:
            return uow.create_script(project_id, name, source_format, segments, settings or {})

    def get_script(self, script_id: int) -> Script:
        with self._read() as s:
            return script_record(require_script(s, script_id))

    def list_scripts(self, project_id: int) -> list[Script]:
        """Ordered by name, case-insensitively, as a picker shows them."""
        with self._read() as s:
            require_project(s, project_id)
            rows = s.scalars(select(ScriptRow).where(ScriptRow.project_id == project_id)
                             .order_by(func.lower(ScriptRow.name), ScriptRow.id))
            return [script_record(r) for r in rows]

    def rename_script(self, script_id: int, name: str) -> Script:
        with self.unit_of_work() as uow:
            return uow.rename_script(script_id, name)

    def set_script_settings(self, script_id: int, settings: dict[str, Any]) -> Script:
        with self.unit_of_work() as uow:
            return uow.set_script_settings(script_id, settings)

    def delete_script(self, script_id: int) -> None:
        """The script, its segments and their take links; the takes stay in the project."""
        with self.unit_of_work() as uow:
            uow.delete_script(script_id)

    # ------------------------------------------------------------------ segments

    def list_segments(self, script_id: int) -> list[ScriptSegment]:
        """In position order, each with the content hash of its chosen take (one query)."""
        with self._read() as s:
            require_script(s, script_id)
            link = and_(SegmentTakeRow.segment_id == SegmentRow.id, SegmentTakeRow.take_id == SegmentRow.chosen_take_id)
            rows = s.execute(select(SegmentRow, SegmentTakeRow.content_hash).outerjoin(SegmentTakeRow, link)
                             .where(SegmentRow.script_id == script_id).order_by(SegmentRow.position))
            return [segment_record(row, digest) for row, digest in rows.tuples()]

    def get_segment(self, segment_id: int) -> ScriptSegment:
        with self._read() as s:
            row = require_segment(s, segment_id)
            return segment_record(row, chosen_hash(s, row))

    def update_segment(
        self, segment_id: int, *, text: str | Unset = UNSET, voice_id: int | None | Unset = UNSET,
        engine_id: str | None | Unset = UNSET, speaker: str | None | Unset = UNSET,
        section: str | None | Unset = UNSET, pause_after_s: float | Unset = UNSET, locked: bool | Unset = UNSET,
    ) -> ScriptSegment:
        """Change only the fields given; None clears voice, engine, speaker or section. A locked segment keeps
        its text, voice and engine (ValueError) unless the same call unlocks it."""
        with self.unit_of_work() as uow:
            return uow.update_segment(segment_id, text=text, voice_id=voice_id, engine_id=engine_id,
                                      speaker=speaker, section=section, pause_after_s=pause_after_s, locked=locked)

    def move_segment(self, segment_id: int, new_position: int) -> ScriptSegment:
        with self.unit_of_work() as uow:
            return uow.move_segment(segment_id, new_position)

    def split_segment(self, segment_id: int, at: int) -> tuple[ScriptSegment, ScriptSegment]:
        """Cut the text at character `at` into this segment and a new one right after it (no takes)."""
        with self.unit_of_work() as uow:
            return uow.split_segment(segment_id, at)

    def merge_segments(self, first_id: int) -> ScriptSegment:
        """Join the segment with the next one (text joined with a space); the next one is deleted."""
        with self.unit_of_work() as uow:
            return uow.merge_segments(first_id)

    def insert_segment(self, script_id: int, position: int, segment: NewSegment) -> ScriptSegment:
        with self.unit_of_work() as uow:
            return uow.insert_segment(script_id, position, segment)

    def delete_segment(self, segment_id: int) -> None:
        with self.unit_of_work() as uow:
            uow.delete_segment(segment_id)

    # ------------------------------------------------------------------ segment takes

    def add_segment_take(self, segment_id: int, take: NewTake, content_hash: str, *, choose: bool = True,
                         transcript: NewTranscript | None = None) -> Take:
        """Keep a take of the segment (in the script's project), link it with the hash of what it was made
        from and, with `choose`, make it the chosen one: all in one transaction."""
        with self.unit_of_work() as uow:
            return uow.add_segment_take(segment_id, take, content_hash, choose=choose, transcript=transcript)

    def link_segment_take(self, segment_id: int, take_id: int, content_hash: str) -> None:
        """Link an existing take of the same project to the segment."""
        with self.unit_of_work() as uow:
            uow.link_segment_take(segment_id, take_id, content_hash)

    def choose_segment_take(self, segment_id: int, take_id: int) -> ScriptSegment:
        """Make a linked take the segment's chosen one (ValueError if it is not linked)."""
        with self.unit_of_work() as uow:
            return uow.choose_segment_take(segment_id, take_id)

    def segment_takes(self, segment_id: int) -> list[tuple[Take, str]]:
        """The segment's takes with the content hash each was made from, newest first."""
        with self._read() as s:
            require_segment(s, segment_id)
            rows = s.execute(select(TakeRow, SegmentTakeRow.content_hash)
                             .join(SegmentTakeRow, SegmentTakeRow.take_id == TakeRow.id)
                             .where(SegmentTakeRow.segment_id == segment_id)
                             .order_by(TakeRow.created_at.desc(), TakeRow.id.desc()))
            return [(take_record(take), digest) for take, digest in rows.tuples()]

    # ------------------------------------------------------------------ lexicon

    def set_lexicon_entry(self, project_id: int, word: str, respelling: str) -> LexiconEntry:
        """Add or replace how `word` (any case) is said in the project."""
        with self.unit_of_work() as uow:
            return uow.set_lexicon_entry(project_id, word, respelling)

    def delete_lexicon_entry(self, project_id: int, word: str) -> None:
        with self.unit_of_work() as uow:
            uow.delete_lexicon_entry(project_id, word)

    def lexicon(self, project_id: int) -> list[LexiconEntry]:
        """The project's entries, by word (case-insensitively)."""
        with self._read() as s:
            require_project(s, project_id)
            rows = s.scalars(select(LexiconRow).where(LexiconRow.project_id == project_id)
                             .order_by(LexiconRow.word_key))
            return [lexicon_record(r) for r in rows]

