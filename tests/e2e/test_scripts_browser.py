"""A person in Chromium on the Scripts tab (issue #15): paste a three-voice script, generate it in the background,
fix one line (only that line is spoken again), render to MP3 with SRT captions that sit on the words."""
from __future__ import annotations

import json
import re

import pytest

from pipelines import audio as au
from tests.conftest import NO_TTS, needs_speech, speech_clip
from tests.e2e.conftest import save_screenshot

playwright = pytest.importorskip("playwright.sync_api")
pytest.importorskip("piper", reason=NO_TTS)
pytestmark = [pytest.mark.e2e, pytest.mark.slow, needs_speech]

SCRIPT = """# Arrival

NARRATOR: The train came in late that night.

ADA: You said eight o'clock.

BOB: I said eight-ish.

# Departure

NARRATOR: They left before the rain."""
VOICES = {"Narrator": "resemblyzer_ls_7264-92310-0000", "Ada": "resemblyzer_ls_4481-17498-0000",
          "Bob": "resemblyzer_ls_1034-121119-0000"}


def _srt_starts(srt: str) -> list[float]:
    starts = []
    for line in srt.splitlines():
        if " --> " in line:
            h, m, rest = line.split(" --> ")[0].split(":")
            starts.append(int(h) * 3600 + int(m) * 60 + float(rest.replace(",", ".")))
    return starts


def test_a_three_voice_script_generated_fixed_and_rendered_in_the_browser(page, app_factory, tmp_path):
    from studio.config import Settings
    from studio.service import Studio
    from studio.voices import ClipInput

    data = tmp_path / "data"
    studio = Studio.open(Settings(data_dir=data))
    project = studio.projects.list()[0].id
    for name, clip in VOICES.items():  # the tags NARRATOR, ADA and BOB name these voices
        studio.voices.create(project, name, [ClipInput(speech_clip(clip))], consent=True)
    studio.close()

    expect = playwright.expect
    page.goto(app_factory(data).url)
    page.get_by_role("tab", name="Scripts").click()
    page.locator("#script-name textarea, #script-name input").first.fill("Chapter one")
    page.locator("#script-source textarea").fill(SCRIPT)
    page.locator("#script-create").click()
    status = page.locator("#script-status")
    expect(status).to_contain_text("0 of 4", timeout=30_000)
    table = page.locator("#script-segments")
    expect(table).to_contain_text("missing")

    page.locator("#script-generate").click()
    expect(status).to_contain_text("4 of 4", timeout=240_000)  # the in-app worker, polled by the page
    expect(table).not_to_contain_text("missing")

    page.locator("#script-segment input").click()
    page.get_by_role("option", name=re.compile(r"^3\. I said eight-ish")).click()
    expect(page.locator("#script-text textarea")).to_have_value("I said eight-ish.")
    page.locator("#script-text textarea").fill("I said eight, more or less.")
    page.locator("#script-save").click()
    expect(status).to_contain_text("3 of 4", timeout=30_000)
    expect(table).to_contain_text("stale")
    page.locator("#script-generate").click()
    expect(status).to_contain_text("4 of 4", timeout=240_000)

    page.locator("#script-format").get_by_label("mp3").check()
    page.locator("#script-render").click()
    expect(page.locator("#script-report")).to_contain_text("Rendered take", timeout=240_000)
    expect(page.locator("#script-files")).to_contain_text(".srt")
    save_screenshot(page, "scripts-tab.png")
    assert "Traceback" not in page.content()

    studio = Studio.open(Settings(data_dir=data))
    try:
        (script,) = studio.scripts.of_project(project)
        rows = studio.scripts.status(script.id)
        assert [r.state for r in rows] == ["ready"] * 4
        assert [len(studio.scripts.segment_takes(r.segment.id)) for r in rows] == [1, 1, 2, 1]  # one line again
        render = next(t for t in studio.takes.list(project) if t.kind == "render")
        folder = data / "cache"
        mp3 = au.load(folder / f"render-{render.id}.mp3")
        assert mp3.duration == pytest.approx(render.duration, abs=0.15)
        spans = json.loads((folder / f"render-{render.id}.json").read_text())["spans"]
        words = [w.start + span["start_s"] for row, span in zip(rows, spans)
                 for w in studio.edit.transcript(row.take.id).words]
        cues = _srt_starts((folder / f"render-{render.id}.srt").read_text())
        assert cues and all(min(abs(c - w) for w in words) <= 0.1 for c in cues)
    finally:
        studio.close()
