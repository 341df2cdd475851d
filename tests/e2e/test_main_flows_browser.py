"""Issue #16: the main flows a new user follows, in Chromium, in one project of one running app, in order:
create a voice from a real recording, speak a short paragraph with it, edit one word of that take, enhance
the edited take, then write a short script, generate it and render it to a file to download. Every step
checks what a person would see (the take listed with its text, the parent it was made from, the rendered file
playing for as long as the report says) and leaves a screenshot in artifacts/."""
from __future__ import annotations

import io
import re

import pytest

from tests.conftest import NO_TTS, needs_speech, speech_clip, speech_manifest
from tests.e2e.conftest import save_screenshot
from tests.e2e.test_edit_browser import textarea_value
from tests.e2e.test_speak_browser import _pick

playwright = pytest.importorskip("playwright.sync_api")
pytest.importorskip("piper", reason=NO_TTS)
pytestmark = [pytest.mark.e2e, pytest.mark.slow, needs_speech]

CLIP = "coqui_lj_LJ001-0016"  # 5.3 s, with its exact transcript
VOICE = "Main Flow Voice"
PARAGRAPH = "Its lamp turned slowly all night. The old lighthouse stood on the cliff. The sailors trusted its light."
OLD_WORD, NEW_WORD = "slowly", "quietly"
SCRIPT_LINES = ["The morning was calm and bright.", "We walked along the river.", "Then we went home for dinner."]


def _take_id(text: str, pattern: str = r"Saved as take #(\d+)") -> int:
    found = re.search(pattern, text)
    assert found, f"no take id in {text!r}"
    return int(found.group(1))


def _words(text: str) -> list[str]:
    return [re.sub(r"[^\w']", "", w).lower() for w in text.split()]


def _takes_row(page, take_id: int):
    """The Takes tab's row of one take, once the listing shows it (newest first, so it is in view): the row the
    table shows, not its hidden sizing copy, whose first cell is the id."""
    page.get_by_role("tab", name="Takes").click()
    cell = page.locator("[role=gridcell].first-column").filter(has_text=re.compile(rf"^\s*{take_id}\s*$"))
    row = page.locator("#takes-table [role=row].virtual-row").filter(has=cell)
    playwright.expect(row).to_have_count(1, timeout=30_000)
    return row


def _create_voice(page, clip) -> None:
    page.get_by_role("tab", name="Voices").click()
    page.locator("#voice-files input[type=file]").set_input_files(str(clip["path"]))
    page.locator("#voice-name textarea, #voice-name input").first.fill(VOICE)
    page.get_by_label("Transcripts (optional)").fill(clip["transcript"])
    page.locator("#voice-consent input[type=checkbox]").check()
    page.locator("#voice-create").click()
    playwright.expect(page.locator("#voice-status")).to_contain_text(f"Created {VOICE} from 1 clip(s)",
                                                                     timeout=90_000)
    row = page.locator("#voice-table [role=row].virtual-row", has_text=VOICE)  # not the hidden sizing copy
    playwright.expect(row).to_have_count(1, timeout=30_000)
    cells = row.locator("[role=gridcell]").all_inner_texts()
    # id, name, language, clips, seconds, transcribed: one clip of about the recording's length, transcribed
    assert cells[2].strip() == "en" and cells[3].strip() == "1" and cells[5].strip() == "1", cells
    assert float(cells[4]) == pytest.approx(float(clip["seconds"]), abs=1.0), cells
    save_screenshot(page, "main-flow-1-voice.png")


def _speak(page) -> int:
    page.get_by_role("tab", name="Speak").click()
    _pick(page, "speak-voice", re.compile(re.escape(VOICE)))
    playwright.expect(page.locator("#speak-voice input")).to_have_value(re.compile(re.escape(VOICE)))
    page.locator("#speak-text textarea").fill(PARAGRAPH)
    page.get_by_text("Options").click()  # a fixed seed: the same narration (and what is heard in it) every run
    page.locator("#speak-seed :is(input, textarea)").fill("7")
    page.locator("#speak-run").click()
    status = page.locator("#speak-status")
    playwright.expect(status).to_contain_text("Saved as take", timeout=180_000)
    take = _take_id(status.inner_text())
    # the embedded offline engine is not a cloner: its built-in voice is matched to the chosen voice, and scored
    playwright.expect(status).to_contain_text(f"matched to {VOICE}")
    playwright.expect(status).to_contain_text("similarity to the chosen voice")
    playwright.expect(page.locator("#speak-scores")).to_contain_text("kept")
    playwright.expect(page.locator("#speak-final")).to_contain_text(re.compile(r"0:0[2-9]|0:[1-5]\d"),
                                                                    timeout=30_000)
    save_screenshot(page, "main-flow-2-speak.png")
    row = _takes_row(page, take)
    playwright.expect(row).to_contain_text("speech")
    playwright.expect(row).to_contain_text(PARAGRAPH[:40])
    playwright.expect(row).to_contain_text(VOICE)
    return take


def _edit(page, take: int) -> int:
    page.get_by_role("tab", name="Edit").click()
    _pick(page, "edit-take", re.compile(rf"^#{take} speech"))
    playwright.expect(page.locator("#edit-original audio, #edit-original .waveform-container").first) \
        .to_be_attached(timeout=30_000)
    page.locator("#edit-transcribe").click()
    summary = page.locator("#edit-summary")
    playwright.expect(summary).to_contain_text("words with timings", timeout=180_000)
    heard = textarea_value(page, "#edit-text").split()
    assert OLD_WORD in _words(" ".join(heard)), heard
    index = _words(" ".join(heard)).index(OLD_WORD)
    heard[index] = re.sub(OLD_WORD, NEW_WORD, heard[index], flags=re.I)
    edited = " ".join(heard)
    page.locator("#edit-text textarea").fill(edited)
    playwright.expect(page.locator("#edit-diff")).to_contain_text(NEW_WORD, timeout=30_000)
    page.locator("#edit-seed :is(input, textarea)").fill("0")  # the same new word on every run
    page.locator("#edit-apply").click()
    playwright.expect(summary).to_contain_text("Saved as take", timeout=180_000)
    text = summary.inner_text()
    new = _take_id(text)
    assert f"(from #{take})" in text and re.search(r"\breplace\b", text), text
    playwright.expect(page.locator("#edit-result")).to_contain_text(re.compile(r"0:0[2-9]|0:[1-5]\d"),
                                                                    timeout=30_000)
    save_screenshot(page, "main-flow-3-edit.png")

    page.locator("#edit-follow").click()  # the new take, read by the recogniser: the new word is heard in it
    playwright.expect(page.locator("#edit-take input")).to_have_value(re.compile(rf"^#{new} edit"), timeout=30_000)
    page.locator("#edit-retranscribe").click()
    playwright.expect(summary).to_contain_text(f"stored with take #{new}", timeout=180_000)
    assert NEW_WORD in _words(textarea_value(page, "#edit-text")), textarea_value(page, "#edit-text")

    row = _takes_row(page, new)
    playwright.expect(row).to_contain_text("edit")
    playwright.expect(row).to_contain_text(re.compile(rf"\b{NEW_WORD}\b", re.I))
    return new


def _enhance(page, take: int) -> int:
    page.get_by_role("tab", name="Enhance").click()
    _pick(page, "enhance-take", re.compile(rf"^#{take} edit"))
    page.locator("#enhance-run").click()
    report = page.locator("#enhance-report")
    playwright.expect(report).to_contain_text("Saved as take", timeout=180_000)
    text = report.inner_text()
    new = _take_id(text)
    assert new != take and f"(from #{take})" in text, text
    playwright.expect(report).to_contain_text("Integrated loudness")
    playwright.expect(page.locator("#enhance-after")).to_contain_text(re.compile(r"0:0[2-9]|0:[1-5]\d"),
                                                                     timeout=30_000)
    save_screenshot(page, "main-flow-4-enhance.png")
    row = _takes_row(page, new)
    playwright.expect(row).to_contain_text("enhanced")
    playwright.expect(row).to_contain_text(re.compile(rf"\b{NEW_WORD}\b", re.I))  # the parent's text
    return new


def _render_script(page, tmp_path) -> tuple[int, float]:
    sf = pytest.importorskip("soundfile")
    page.get_by_role("tab", name="Scripts").click()
    page.locator("#script-name textarea, #script-name input").first.fill("Walk")
    page.locator("#script-source textarea").fill("\n\n".join(SCRIPT_LINES))
    _pick(page, "script-voice", re.compile(re.escape(VOICE)))
    page.locator("#script-create").click()
    status = page.locator("#script-status")
    total = len(SCRIPT_LINES)
    playwright.expect(status).to_contain_text(f"0 of {total}", timeout=30_000)
    table = page.locator("#script-segments")
    for line in SCRIPT_LINES:
        playwright.expect(table).to_contain_text(line)
    page.locator("#script-generate").click()
    playwright.expect(status).to_contain_text(f"{total} of {total}", timeout=300_000)
    playwright.expect(table).not_to_contain_text("missing")

    page.locator("#script-format").get_by_label("wav").check()
    page.locator("#script-render").click()
    report = page.locator("#script-report")
    playwright.expect(report).to_contain_text("Rendered take", timeout=240_000)
    rendered = re.search(r"Rendered take #(\d+) \(([0-9.]+) s\)", report.inner_text())
    assert rendered, report.inner_text()
    render, seconds = int(rendered.group(1)), float(rendered.group(2))
    link = page.locator("#script-files tr", has_text=re.compile(r"\.wav")).get_by_role("link")
    playwright.expect(link).to_be_visible(timeout=30_000)
    save_screenshot(page, "main-flow-5-script.png")
    with page.expect_download() as download:  # what the person gets by clicking the file
        link.click()
    path = tmp_path / download.value.suggested_filename
    download.value.save_as(path)
    data, rate = sf.read(io.BytesIO(path.read_bytes()))
    duration = len(data) / rate
    assert duration == pytest.approx(seconds, abs=0.15), (duration, seconds)
    assert 1.0 * total <= duration <= 6.0 * total, duration  # three short lines, spoken, with pauses
    assert abs(data).max() > 0.01, "the rendered file is silent"
    return render, duration


def test_main_flows_in_one_project(page, running_app, tmp_path):
    clip = {**speech_manifest()[CLIP], "path": speech_clip(CLIP)}
    page.goto(running_app.url)
    _create_voice(page, clip)
    spoken = _speak(page)
    edited = _edit(page, spoken)
    enhanced = _enhance(page, edited)
    render, seconds = _render_script(page, tmp_path)
    assert "Traceback" not in page.content()

    from studio.config import Settings
    from studio.service import Studio

    studio = Studio.open(Settings(data_dir=running_app.data_dir))  # what the project keeps, read back
    try:
        takes = {t.id: t for t in studio.takes.all(studio.projects.list()[0].id)}
        (voice,) = studio.voices.list(studio.projects.list()[0].id)
        chain = [takes[i] for i in (spoken, edited, enhanced)]
        assert [t.kind for t in chain] == ["speech", "edit", "enhanced"]
        assert [t.parent_id for t in chain[1:]] == [spoken, edited]
        assert all(t.voice_id == voice.id for t in chain) and voice.name == VOICE
        assert NEW_WORD in _words(takes[edited].text) and OLD_WORD not in _words(takes[edited].text)
        assert takes[render].kind == "render" and takes[render].duration == pytest.approx(seconds, abs=0.15)
    finally:
        studio.close()
