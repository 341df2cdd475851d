"""Issue #17, fault 5: every endpoint takes any id that exists, whoever made it and whenever.

Gradio checks a dropdown's value against the choices the server knows for the calling session; a script's
fresh `gradio_client` session only knows the choices the page was built with, so every id made after
start-up used to be refused ("Value: N is not in the list of choices"). Here each call comes from a new
client (a new session) and names a project, voice or take created after the app started; ids that do not
exist, or are not ids, get a readable refusal from the use case."""
from __future__ import annotations

import pytest
import soundfile as sf
from gradio_client import Client, handle_file

from tests.conftest import NO_TTS, speech_clip

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
pytest.importorskip("piper", reason=NO_TTS)


def call(app, endpoint: str, *args):
    """One call from a client that never saw a listing, as a script calling the API cold."""
    return Client(app.url, verbose=False).predict(*args, api_name=endpoint)


def takes(app, project: int, voice: int = 0) -> list[list]:
    _, table, *_ = call(app, "/list_takes", project, voice, False, 1)
    return table["data"]


def test_projects_voices_and_takes_made_after_start_up(running_app):
    app = running_app
    update, _, status = call(app, "/create_project", "Made later")
    project = update["value"]
    assert project > 1 and "Made later" in status
    assert takes(app, project) == []  # used to be refused: the project was not among the page's choices

    _, voices, *_ = call(app, "/create_voice", project, [handle_file(str(speech_clip("coqui_lj_LJ001-0008")))],
                         None, "Later voice", "en", "has never been surpassed.", False, True)
    voice = next(row[0] for row in voices["data"] if row[1] == "Later voice")
    call(app, "/speak", project, voice, "Spoken in a voice made after start-up.", "piper-joe-embedded", 3, 1.0,
         "", False)
    spoken = takes(app, project, voice)
    narration = next(row[0] for row in spoken if row[2] == "speech")
    assert all(row[4] == "Later voice" for row in spoken)

    _, starred = call(app, "/star_take", narration, project, 0, False, 1)
    assert next(row[1] for row in starred["data"] if row[0] == narration) == "★"
    renamed, *_ = call(app, "/rename_voice", voice, "Renamed later")
    assert [row[1] for row in renamed["data"] if row[0] == voice] == ["Renamed later"]
    assert sf.info(call(app, "/voice_preview", voice)).duration > 0.5
    assert sf.info(call(app, "/take_audio", narration)).duration > 1.0
    assert sf.info(call(app, "/download_take", narration, "flac")).format == "FLAC"

    call(app, "/import_recording", project, handle_file(str(speech_clip("pocketsphinx_goforward"))), "", 0, False, 1)
    recording = next(row[0] for row in takes(app, project) if row[2] == "recording")
    player, *_ = call(app, "/load_for_edit", recording)
    assert sf.info(player).duration > 2.0
    text, _, note = call(app, "/transcribe_take", recording, "whisper-base-embedded")
    assert "forward" in text.lower() and "timings" in note
    segments = call(app, "/preview_edit", recording, text.replace("forward", "forward quickly"))
    assert any(s["class_or_confidence"] == "inserted" for s in segments)
    call(app, "/apply_edit", project, recording, text.replace("forward", "forward quickly"), "piper-joe-embedded",
         None)
    enhanced = call(app, "/enhance", project, recording, None, "rnnoise", "podcast")
    assert "Saved as take" in enhanced[4]
    joined, *_ = call(app, "/join_takes", project, [narration, recording], 0.2)
    assert sf.info(joined).duration > 3.0
    kinds = [row[2] for row in takes(app, project)]
    assert sorted(kinds) == ["attempt", "edit", "edit", "enhanced", "recording", "speech"]  # edit + join


@pytest.mark.parametrize("endpoint, args", [
    ("/take_audio", (99_999,)),
    ("/download_take", (99_999, "wav")),
    ("/star_take", (99_999, 1, 0, False, 1)),
    ("/load_for_edit", (99_999,)),
    ("/voice_preview", (99_999,)),
    ("/rename_voice", (99_999, "Nobody")),
    ("/list_takes", (99_999, 0, False, 1)),
    ("/speak", (1, 99_999, "Hello there.", "piper-joe-embedded", 3, 1.0, "", False)),
])
def test_ids_that_do_not_exist_are_refused_readably(running_app, endpoint, args):
    with pytest.raises(Exception, match=r"(?i)(take|voice|project) 99999 not found"):
        call(running_app, endpoint, *args)


def test_text_where_an_id_goes_is_refused_readably(running_app):
    with pytest.raises(Exception, match=r"Ids are whole numbers; got 'abc'"):
        call(running_app, "/take_audio", "abc")
