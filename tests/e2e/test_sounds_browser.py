"""A person in Chromium on the Sounds tab (issue #14): add their own sound file, put it under a narration take with
ducking, hear the mix; the stored take is the narration's child, the sound lowered under speech by the chosen
amount and the narration's samples outside the sound untouched."""
from __future__ import annotations

import numpy as np
import pytest

from pipelines import audio as au
from pipelines.catalog import Catalog
from tests.conftest import needs_speech, speech_clip
from tests.e2e.conftest import save_screenshot

playwright = pytest.importorskip("playwright.sync_api")

FIRST, SECOND = "denoiser_clean_p287_002", "denoiser_clean_p287_004"


def _narration_file(folder):
    """Two real sentences two seconds apart, as one file."""
    first, second = (au.load(speech_clip(c)) for c in (FIRST, SECOND))
    gap = np.zeros(2 * first.sample_rate, np.float32)
    path = folder / "narration.wav"
    path.write_bytes(au.encode(au.Audio(np.concatenate([first.samples, gap, second.samples]), first.sample_rate),
                               "wav"))
    return path


def _hiss_file(folder):
    path = folder / "hiss.wav"
    noise = (0.05 * np.random.default_rng(9).standard_normal(2 * 16000)).astype(np.float32)
    path.write_bytes(au.encode(au.Audio(noise, 16000), "wav"))
    return path


@needs_speech
def test_place_a_sound_under_narration_in_the_browser(page, app_factory, tmp_path):
    from studio.config import Settings
    from studio.service import Studio

    data = tmp_path / "data"
    studio = Studio.open(Settings(data_dir=data))
    project = studio.projects.list()[0].id
    narration = studio.takes.import_recording(project, _narration_file(tmp_path), "Two sentences")
    studio.close()

    expect = playwright.expect
    app = app_factory(data)
    page.goto(app.url)
    page.get_by_role("tab", name="Sounds").click()
    expect(page.get_by_text("No text-to-audio model is on this machine yet")).to_be_visible(timeout=30_000)
    page.locator("#sound-upload input[type=file]").set_input_files(str(_hiss_file(tmp_path)))
    page.locator("#sound-name textarea, #sound-name input").first.fill("Tape hiss")
    page.wait_for_timeout(1000)  # let the upload land before adding it
    page.locator("#sound-add").click()
    expect(page.locator("#sound-report")).to_contain_text("Added sound take", timeout=30_000)
    page.locator("#sound-narration input").click()
    page.get_by_role("option", name=f"#{narration.id} recording: Two sentences").click()
    page.locator("#sound-duck input[type=number]").fill("18")
    page.locator("#sound-duck input[type=number]").press("Enter")
    page.locator("#sound-place").click()
    report = page.locator("#sound-report")
    expect(report).to_contain_text("Saved as take", timeout=120_000)
    expect(report).to_contain_text("Lowered by 18 dB under speech")
    expect(page.locator("#sound-mix audio, #sound-mix .waveform-container").first).to_be_attached(timeout=30_000)
    save_screenshot(page, "sounds-tab.png")

    studio = Studio.open(Settings(data_dir=data))
    try:
        mix = next(t for t in studio.takes.list(project) if t.kind == "mixed")
        assert mix.parent_id == narration.id and mix.parameters["placement"]["duck_db"] == 18.0
        before, after = studio.takes.audio(narration.id), studio.takes.audio(mix.id)
        end = int(mix.parameters["end_s"] * before.sample_rate)
        assert np.array_equal(after.samples[end:], before.samples[end:])  # untouched after the sound
        assert not np.array_equal(after.samples[:end], before.samples[:end])  # the sound is there
    finally:
        studio.close()



@needs_speech
@pytest.mark.parametrize("engine", [e.id for e in Catalog.load().for_task("sound")])
def test_generate_candidates_pick_one_by_ear_and_place_it_in_the_browser(page, app_factory, tmp_path, monkeypatch,
                                                                        engine):
    """With each text-to-audio engine on disk (tiny and random, as a person's downloaded one would be): describe
    the sound, get two candidates, hear the second, put it under the narration ducked."""
    import re

    from studio.config import Settings
    from studio.service import Studio
    from tests.tiny import all_builders

    pytest.importorskip("diffusers")
    monkeypatch.setenv("RETAKE_ENGINE_PATHS", f"{engine}={all_builders()[0][engine](tmp_path / engine)}")
    name = Catalog.load().get(engine).name
    data = tmp_path / "data"
    studio = Studio.open(Settings(data_dir=data))
    project = studio.projects.list()[0].id
    narration = studio.takes.import_recording(project, _narration_file(tmp_path), "Two sentences")
    studio.close()

    expect = playwright.expect
    page.goto(app_factory(data).url)
    page.get_by_role("tab", name="Sounds").click()
    page.locator("#sound-engine input").click()
    page.get_by_role("option", name=re.compile(re.escape(name))).click()
    expect(page.locator("#sound-engine-note")).to_contain_text("pick one by ear")
    page.locator("#sound-prompt textarea").fill("soft rain on a window")
    page.locator("#sound-seconds input").fill("1")
    page.locator("#sound-seed input, #sound-seed textarea").first.fill("21")
    page.locator("#sound-steps input, #sound-steps textarea").first.fill("3")
    page.locator("#sound-generate").click()
    report = page.locator("#sound-report")
    expect(report).to_contain_text("Made 2 candidates", timeout=120_000)
    options = page.locator("#sound-candidates label")
    expect(options).to_have_count(2)
    options.nth(1).click()  # the second candidate, heard and chosen as the sound to place
    second = int(re.search(r"#(\d+)", options.nth(1).inner_text()).group(1))
    expect(page.locator("#sound-audition audio, #sound-audition .waveform-container").first).to_be_attached()
    page.locator("#sound-narration input").click()
    page.get_by_role("option", name=f"#{narration.id} recording: Two sentences").click()
    page.locator("#sound-place").click()
    expect(report).to_contain_text("Saved as take", timeout=120_000)
    expect(report).to_contain_text(f"with sound #{second}")
    save_screenshot(page, f"sounds-generate-{engine}.png")
    assert "Traceback" not in page.content()

    studio = Studio.open(Settings(data_dir=data))
    try:
        made = studio.takes.get(second)
        assert made.kind == "sound" and made.engine_id == engine and made.seed in (21, 22)
        assert made.parameters["prompt"] == "soft rain on a window"
        mix = next(t for t in studio.takes.list(project) if t.kind == "mixed")
        assert mix.parent_id == narration.id and mix.parameters["sound_take"] == second
    finally:
        studio.close()


@needs_speech
def test_sounds_through_the_api(running_app, tmp_path):
    """`/add_sound` and `/place_sound` from gradio_client, as a script would call them; a bad request comes back
    as the readable message, not a traceback."""
    from gradio_client import Client, handle_file

    client = Client(running_app.url, verbose=False)
    _, table, *_ = client.predict(1, handle_file(str(_narration_file(tmp_path))), "Two sentences", 0, False, 1,
                                  api_name="/import_recording")
    narration = table["data"][0][0]
    picked, _, report = client.predict(1, handle_file(str(_hiss_file(tmp_path))), "Hiss", api_name="/add_sound")
    assert "Added sound take" in report
    sound = int(report.split("#")[1].split("*")[0])
    assert sound == (picked["value"] if isinstance(picked, dict) else picked)
    mix, report = client.predict(1, narration, sound, 0.5, "", "3", True, -6, 20, 0.05, 0.5,
                                 api_name="/place_sound")
    assert "Saved as take" in report and "from 0.50 s to 3.50 s" in report and "Lowered by 20 dB" in report
    assert au.load(mix).duration > 6.0
    with pytest.raises(Exception, match="past the narration's end"):
        client.predict(1, narration, sound, 99, "", "", False, 0, 12, 0.05, 0.5, api_name="/place_sound")
    with pytest.raises(Exception, match="Stable Audio Open 1.0") as refused:  # offline, never downloaded
        client.predict(1, "stable-audio-open-1.0", "rain on a tin roof", 3, 1, "", "", "", False,
                       api_name="/generate_sound")
    assert "Traceback" not in str(refused.value)
