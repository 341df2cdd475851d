"""The tabs as components (issue #10 part 3): handlers importable and run without a browser, a Speak request
built in one place, signals that carry takes and voices across tabs, and one queue for model work."""
from __future__ import annotations

import re

import anyio
import gradio as gr
import numpy as np
import pytest
import soundfile as sf

from pipelines.catalog import Catalog
from studio.ui import app as ui_app
from studio.ui.choices import NO_VOICE
from studio.ui.context import GPU_QUEUE, Signal
from studio.ui.convert import ConvertHandlers
from studio.ui.edit import EditHandlers
from studio.ui.models import revision_label
from studio.ui.speak import SpeakHandlers, speak_request
from studio.ui.takes import TakeHandlers
from studio.voices import ClipInput
from tests.fakes import FAKE_ENGINE

GPU_APIS = {"speak", "regenerate_chunk", "apply_edit", "transcribe_take", "retranscribe_take", "enhance",
            "enhance_all", "create_voice", "load_engine", "convert"}


@pytest.fixture
def project_id(studio) -> int:
    return studio.projects.list()[0].id


def speak_handlers(studio) -> SpeakHandlers:
    return SpeakHandlers(studio.speak, studio.fix, studio.compare, studio.takes, studio.voices, studio.engines)


def test_the_speak_form_becomes_one_request():
    request = speak_request("3", 0, "Hello.", "", " 42 ", "1.25", "  ", True)
    assert (request.project_id, request.voice_id, request.engine_id, request.seed, request.speed,
            request.speaker, request.gate) == (3, None, "piper-joe-embedded", 42, 1.25, None, True)
    assert speak_request(3, "7", "Hi.", FAKE_ENGINE, "", 1, "ann", 0).voice_id == 7
    assert speak_request(3, "7", "Hi.", FAKE_ENGINE, "", 1, "ann", 0).match_voice is True  # on unless refused
    assert speak_request(3, "7", "Hi.", FAKE_ENGINE, "", 1, "ann", 0, False).match_voice is False
    with pytest.raises(ValueError, match="Seed must be"):
        speak_request(3, 0, "Hello.", FAKE_ENGINE, "abc", 1.0, "", True)


def test_the_speak_handler_streams_chunks_then_the_take_without_a_browser(studio, project_id, engine):
    handle = speak_handlers(studio)

    async def collect():
        return [item async for item in handle.speak(project_id, 0, "One sentence here. And a second one.",
                                                    FAKE_ENGINE, "5", 1.0, "", False)]

    items = anyio.run(collect)
    live = [item[0] for item in items[:-1]]
    assert live and all(isinstance(rate, int) and samples.ndim == 1 for rate, samples in live)
    take, rate = sf.read(items[-1][1], dtype="float32")  # the take's own samples, as stored
    assert rate == live[0][0] and len(take) >= sum(len(s) for _, s in live) * 0.9
    assert "Saved as take" in items[-1][3]
    stored = studio.takes.audio(int(re.search(r"#(\d+)", items[-1][3]).group(1)))
    np.testing.assert_array_equal(take, stored.samples)
    newest = TakeHandlers(studio.takes, studio.voices).list_takes(project_id, 0, False, 1)
    assert newest[0].startswith(f"{studio.takes.count(project_id)} take(s)")


def test_handlers_turn_mistakes_into_readable_errors(studio, project_id):
    handle = speak_handlers(studio)
    with pytest.raises(gr.Error, match="Choose take A"):
        handle.compare_takes(None, 1)
    with pytest.raises(gr.Error, match="Ids are whole numbers"):
        handle.list_attempts("abc")
    with pytest.raises(gr.Error, match="not found"):
        EditHandlers(studio.edit, studio.takes).load(999_999)


def test_edit_handler_loads_a_take_that_was_never_transcribed(studio, project_id, engine):
    take = list(studio.speak.speak(project_id, "Never transcribed.", engine_id=FAKE_ENGINE, gate=False))[-1].take
    audio, text, diff, note = EditHandlers(studio.edit, studio.takes).load(take.id)
    assert sf.info(audio).frames > 0 and text == "" and diff == [] and "Not transcribed" in note


def test_a_signal_refreshes_other_tabs_never_the_tab_that_raised_it():
    with gr.Blocks() as demo:
        box, out_a, out_b = gr.Textbox(), gr.Textbox(), gr.Textbox()
        signal = Signal()
        signal.raised_by("a", gr.Button().click(lambda v: v, box, out_a, api_name="cause"))
        signal.follow("a", lambda v: v, [box], [out_a])
        signal.follow("b", lambda v: v, [box], [out_b])
        signal.connect()
    functions = list(demo.fns.values())
    cause = next(f for f in functions if f.api_name == "cause")
    after = [f for f in functions if f.trigger_after == cause._id]
    assert [[o._id for o in f.outputs] for f in after] == [[out_b._id]]
    assert after[0].trigger_only_on_success  # a failed action refreshes nothing


def functions_of(studio) -> list:
    """The app's event functions, as Gradio keeps them (api name, queue, outputs, what they follow)."""
    return list(ui_app.build_app(studio).fns.values())


def test_model_work_waits_in_one_queue_sized_by_configuration(studio):
    functions = functions_of(studio)
    gpu = {f.api_name: f for f in functions if f.api_name in GPU_APIS}
    assert set(gpu) == GPU_APIS
    assert {f.concurrency_id for f in gpu.values()} == {GPU_QUEUE}
    assert {f.concurrency_limit for f in gpu.values()} == {studio.settings.gpu_concurrency}
    others = [f for f in functions if f.api_name in ("list_takes", "star_take", "rename_voice")]
    assert len(others) == 3 and all(f.concurrency_id != GPU_QUEUE for f in others)


def test_a_take_made_on_one_tab_refreshes_the_pickers_of_the_others(studio):
    """Speaking, editing and enhancing each make takes; the Takes table and the other tabs' take pickers
    follow, and a tab is not refreshed twice by its own event."""
    functions = functions_of(studio)
    by_api = {f.api_name: f for f in functions}

    def refreshed_after(api_name: str) -> set[str]:
        cause = by_api[api_name]._id
        return {o.elem_id for f in functions if f.trigger_after == cause for o in f.outputs if o.elem_id}

    for api_name, others in [("speak", {"takes-table", "edit-take", "enhance-take", "convert-take"}),
                             ("convert", {"takes-table", "edit-take", "enhance-take"}),
                             ("apply_edit", {"takes-table", "compare-a", "fix-take", "enhance-take"}),
                             ("enhance", {"takes-table", "edit-take", "fix-take"}),
                             ("import_recording", {"edit-take", "enhance-take", "compare-b"})]:
        assert others <= refreshed_after(api_name), api_name
    assert "edit-take" not in refreshed_after("apply_edit")  # its handler returns fresh pickers itself
    assert "enhance-take" not in refreshed_after("enhance")
    assert "speak-voice" in refreshed_after("create_voice")
    assert "convert-voice" in refreshed_after("create_voice")
    assert "convert-take" not in refreshed_after("convert")


def test_a_voice_picked_on_speak_survives_a_late_refresh_of_the_voice_list(studio, project_id):
    """Creating a voice refreshes Speak's voice picker; a person who picked a voice before that refresh arrived
    keeps it (CI saw Speak run without the just-picked voice); a voice deleted meanwhile falls back to the
    engine's own voice."""
    functions = functions_of(studio)
    create = next(f for f in functions if f.api_name == "create_voice")._id
    refresh = next(f for f in functions if f.trigger_after == create and "speak-voice" in
                   {o.elem_id for o in f.outputs})
    assert [i.elem_id for i in refresh.inputs][-1] == "speak-voice"
    rate = 16000
    clip = (rate, (0.3 * np.sin(2 * np.pi * 180 * np.arange(2 * rate) / rate)).astype(np.float32))
    voice = studio.voices.create(project_id, "Picked", [ClipInput(clip)], consent=True)
    assert refresh.fn(project_id, voice.id)["value"] == voice.id
    assert refresh.fn(project_id, str(voice.id))["value"] == voice.id  # as a custom value comes back
    studio.voices.delete(voice.id)
    assert refresh.fn(project_id, voice.id)["value"] == NO_VOICE


def test_the_convert_handler_explains_what_is_missing(studio, project_id):
    handle = ConvertHandlers(studio.convert, studio.takes, studio.voices)
    with pytest.raises(gr.Error, match="Record or upload a recording, or choose a take"):
        anyio.run(lambda: handle.convert(project_id, None, None, 1, "world-matcher", 0, True, True))
    with pytest.raises(gr.Error, match="Choose the voice to convert into"):
        anyio.run(lambda: handle.convert(project_id, None, "/nonexistent.wav", None, "world-matcher", 0, True, True))


def test_the_page_load_never_clears_a_take_chosen_meanwhile(studio, project_id, tmp_path):
    """A page fills its pickers in one chain after it opens; a person who imports and picks a take before the
    chain reaches that tab keeps it (CI saw Transcribe fail on a take the late refresh had cleared)."""
    functions = functions_of(studio)
    chain = [f for f in functions if any(event == "load" for _, event in f.targets)]
    assert len(chain) == 1
    while (after := [f for f in functions if f.trigger_after == chain[-1]._id]):
        chain.extend(after)
    pickers = {"edit-take", "enhance-take", "convert-take"}
    fills = [f for f in chain if pickers & {o.elem_id for o in f.outputs}]
    assert {o.elem_id for f in fills for o in f.outputs} >= pickers
    for f in fills:
        update = f.fn(project_id)
        first = update[0] if isinstance(update, tuple) else update
        assert "choices" in first and "value" not in first, (f.name, first)


def test_the_models_tab_shows_an_embedded_engines_package_version_and_code_revision_apart():
    """"package 0.3.5+matcher-2" broke mid-word in the Models table at 1280 px; the parts stand apart."""
    catalog = Catalog.load()
    matcher, piper = catalog.get("world-matcher"), catalog.get("piper-joe-embedded")
    assert revision_label(matcher) == f"package {matcher.package_version()}, matcher-2"
    assert revision_label(piper) == f"package {piper.package_version()}"
    assert matcher.weights_revision() == f"pyworld=={matcher.package_version()}+matcher-2"
