"""Editing a script's segments through the use cases the Scripts tab calls (issue #15): reorder, split at a mark,
merge, delete, a segment's own voice, locks; ids of another project refused; a 500-segment script kept and its
status read without speaking anything."""
from __future__ import annotations

import pytest

from studio.ownership import NotInProject
from studio.scripts import ScriptImport
from studio.voices import ClipInput
from tests.conftest import needs_speech, speech_clip


def _texts(studio, script_id) -> list[str]:
    return [r.segment.text for r in studio.scripts.status(script_id)]


def test_reorder_split_merge_delete(studio):
    project = studio.projects.create("Editing").id
    script = studio.scripts.create(ScriptImport(project, "Draft", "Alpha one.\n\nBravo two.\n\nCharlie three."))
    first, second, third = (r.segment.id for r in studio.scripts.status(script.id))
    studio.scripts.move(third, -1, project)
    assert _texts(studio, script.id) == ["Alpha one.", "Charlie three.", "Bravo two."]
    studio.scripts.move(first, -1, project)  # already first: stays
    assert _texts(studio, script.id)[0] == "Alpha one."
    studio.scripts.split(first, "Alpha | one, really.", project)
    assert _texts(studio, script.id) == ["Alpha", "one, really.", "Charlie three.", "Bravo two."]
    with pytest.raises(ValueError, match="one \\|"):
        studio.scripts.split(first, "no mark here", project)
    with pytest.raises(ValueError, match="Both parts"):
        studio.scripts.split(first, "| Alpha", project)
    studio.scripts.merge_next(first, project)
    assert _texts(studio, script.id)[0] == "Alpha one, really."
    studio.scripts.delete_segment(second, project)
    assert _texts(studio, script.id) == ["Alpha one, really.", "Charlie three."]
    assert [r.segment.position for r in studio.scripts.status(script.id)] == [0, 1]

    other = studio.projects.create("Someone else's").id
    with pytest.raises(NotInProject):
        studio.scripts.edit_segment(first, text="Stolen.", project_id=other)
    with pytest.raises(NotInProject):
        studio.scripts.script(script.id, other)
    studio.scripts.edit_segment(first, locked=True, project_id=project)
    with pytest.raises(ValueError, match="[Ll]ocked"):
        studio.scripts.edit_segment(first, text="Changed while locked.", project_id=project)
    edited = studio.scripts.edit_segment(first, text="Unlocked and changed.", locked=False, project_id=project)
    assert edited.text == "Unlocked and changed." and not edited.locked


@needs_speech
def test_a_segment_speaks_in_its_own_voice_of_this_project_only(studio):
    project = studio.projects.create("Voices per line").id
    other = studio.projects.create("Other voices").id
    ada = studio.voices.create(project, "Ada", [ClipInput(speech_clip("resemblyzer_ls_4481-17498-0000"))],
                               consent=True)
    stranger = studio.voices.create(other, "Stranger", [ClipInput(speech_clip("resemblyzer_ls_7264-92310-0000"))],
                                    consent=True)
    script = studio.scripts.create(ScriptImport(project, "Lines", "One.\n\nTwo."))
    segment = studio.scripts.status(script.id)[1].segment
    assert studio.scripts.edit_segment(segment.id, voice_id=ada.id, project_id=project).voice_id == ada.id
    assert studio.scripts.voicing(studio.scripts.script(script.id), studio.scripts.segment(segment.id))[0] == ada.id
    with pytest.raises(NotInProject):
        studio.scripts.edit_segment(segment.id, voice_id=stranger.id, project_id=project)
    assert studio.scripts.edit_segment(segment.id, voice_id=None, project_id=project).voice_id is None


def test_a_500_segment_script_is_kept_and_read_without_speaking(studio):
    project = studio.projects.create("Long").id
    source = "\n\n".join(f"Line number {i} of a long script." for i in range(500))
    script = studio.scripts.create(ScriptImport(project, "Long", source))
    rows = studio.scripts.status(script.id)
    assert len(rows) == 500 and {r.state for r in rows} == {"missing"}
    assert len(studio.scripts.pending(script.id)) == 500
    with pytest.raises(ValueError, match="more than 2,000 lines"):
        studio.scripts.create(ScriptImport(project, "Too long", "\n\n".join(["Words here."] * 2001)))
    with pytest.raises(ValueError, match="5000|5,000"):
        studio.scripts.create(ScriptImport(project, "One huge line", "word " * 1200))


def test_a_pause_change_keeps_the_segment_audio_valid(studio):
    project = studio.projects.create("Pauses").id
    script = studio.scripts.create(ScriptImport(project, "Paused", "First.\n\nSecond."))
    segment = studio.scripts.status(script.id)[0].segment
    before = studio.scripts.status(script.id)[0].content_hash
    assert studio.scripts.edit_segment(segment.id, pause_after_s=2.5, project_id=project).pause_after_s == 2.5
    assert studio.scripts.status(script.id)[0].content_hash == before  # the render changes, not the audio


def test_the_page_following_a_generation_shows_the_looked_at_segments_new_take_once(studio):
    """The Scripts tab's poll: when a job gives the segment being looked at a new take, its takes and player
    are refreshed; while the shown take is still the chosen one they are left alone (no restarted playback)."""
    pytest.importorskip("piper")
    import gradio as gr

    from studio.ui.scripts import ScriptHandlers
    project = studio.projects.create("Following").id
    script = studio.scripts.create(ScriptImport(project, "Draft", "One line to speak.", engine_id="piper-joe-embedded",
                                                gate=False))
    segment = studio.scripts.status(script.id)[0].segment.id
    handle = ScriptHandlers(studio)
    *_, takes, heard = handle.poll(project, script.id, segment, None)
    assert takes == gr.skip() and heard == gr.skip()  # no take yet: nothing to show
    made = studio.scripts.generate_segment(segment)
    *_, takes, heard = handle.poll(project, script.id, segment, None)
    assert takes["value"] == made.id and heard is not None and heard != gr.skip()
    *_, takes, heard = handle.poll(project, script.id, segment, made.id)
    assert takes == gr.skip() and heard == gr.skip()
