"""Narration scripts through the studio (issue #15), with the embedded engine and real voices: a three-voice
script kept as segments, generated as background jobs on huey (SQLite), one line fixed and only that line spoken
again, a pronunciation that touches one line, an interrupted generation resumed by the next worker without
speaking any segment twice, and a render to MP3 whose captions sit on the words' timings."""
from __future__ import annotations

import json
import re
import time

import pytest

from pipelines import audio as au
from studio.scripts import ScriptImport
from studio.voices import ClipInput
from tests.conftest import NO_TTS, needs_speech, speech_clip

pytest.importorskip("piper", reason=NO_TTS)
pytest.importorskip("huey")
pytestmark = [pytest.mark.slow, needs_speech]

SCRIPT = """# Arrival

NARRATOR: The train came in late that night.

ADA: You said eight o'clock.

BOB: I said eight-ish.

# Departure

NARRATOR: They left before the rain.
"""
VOICE_CLIPS = {"Narrator": "resemblyzer_ls_7264-92310-0000", "Ada": "resemblyzer_ls_4481-17498-0000",
               "Bob": "resemblyzer_ls_1034-121119-0000"}


@pytest.fixture(scope="module")
def project(studio) -> int:
    project = studio.projects.create("Scripts").id
    for name, clip in VOICE_CLIPS.items():
        studio.voices.create(project, name, [ClipInput(speech_clip(clip))], consent=True)
    return project


@pytest.fixture(scope="module")
def script(studio, project):
    return studio.scripts.create(ScriptImport(project, "Chapter", SCRIPT))


def _generate(studio, script_id) -> list[str]:
    queued = studio.script_jobs.generate_all(script_id)
    studio.script_jobs.start_workers(1)
    try:
        return studio.script_jobs.wait(queued, timeout=600)
    finally:
        studio.script_jobs.stop_workers()


def test_a_tagged_script_becomes_segments_with_their_voices_and_sections(studio, project, script):
    rows = studio.scripts.status(script.id)
    voices = {v.id: v.name for v in studio.voices.list(project)}
    assert [(r.segment.speaker, voices[r.segment.voice_id]) for r in rows] == [
        ("NARRATOR", "Narrator"), ("ADA", "Ada"), ("BOB", "Bob"), ("NARRATOR", "Narrator")]
    assert [r.segment.section for r in rows] == ["Arrival", "Arrival", "Arrival", "Departure"]
    assert rows[0].segment.text == "The train came in late that night."
    assert {r.state for r in rows} == {"missing"}


def test_generate_all_then_fix_one_line_speaks_only_that_line(studio, script):
    assert _generate(studio, script.id) == ["made"] * 4
    first = studio.scripts.status(script.id)
    assert {r.state for r in first} == {"ready"}
    assert all(r.take.kind == "speech" and r.take.voice_id == r.segment.voice_id for r in first)
    assert studio.script_jobs.generate_all(script.id) == []  # nothing changed: nothing queued

    studio.store.update_segment(first[2].segment.id, text="I said eight, more or less.")
    assert [r.state for r in studio.scripts.status(script.id)] == ["ready", "ready", "stale", "ready"]
    assert _generate(studio, script.id) == ["made"]
    second = studio.scripts.status(script.id)
    assert [r.take.id for r in second[:2] + second[3:]] == [r.take.id for r in first[:2] + first[3:]]
    assert second[2].take.id != first[2].take.id and second[2].take.text == "I said eight, more or less."
    assert [t.id for t, _ in studio.store.segment_takes(second[2].segment.id)] == [second[2].take.id,
                                                                                  first[2].take.id]


def test_a_pronunciation_makes_only_the_lines_that_use_it_stale(studio, project, script):
    studio.scripts.set_pronunciation(project, "rain", "reign")
    states = [r.state for r in studio.scripts.status(script.id)]
    assert states == ["ready", "ready", "ready", "stale"]
    studio.store.delete_lexicon_entry(project, "rain")
    assert {r.state for r in studio.scripts.status(script.id)} == {"ready"}


def test_render_to_mp3_with_captions_on_the_word_timings_and_a_manifest(studio, script):
    result = studio.scripts.render(script.id, fmt="mp3", target=None)
    take = result.take
    assert take.kind == "render" and take.parameters["script_id"] == script.id
    decoded = au.load(result.data)
    assert decoded.duration == pytest.approx(take.duration, abs=0.15)
    listing = json.loads(result.manifest_json)
    spans = listing["spans"]
    assert len(spans) == 4 and all(s["synthetic"] for s in spans)
    assert [s["voice"] for s in spans] == ["Narrator", "Ada", "Bob", "Narrator"]
    assert [c["title"] for c in listing["chapters"]] == ["Arrival", "Departure"]
    # every caption starts on a word's start, in the render's time
    starts = [word.start + span["start_s"] for row, span in zip(studio.scripts.status(script.id), spans)
              for word in studio.edit.transcript(row.take.id).words]
    cue_starts = [line.split(" --> ")[0] for line in result.srt.splitlines() if " --> " in line]
    assert cue_starts
    for stamp in cue_starts:
        h, m, rest = stamp.split(":")
        seconds = int(h) * 3600 + int(m) * 60 + float(rest.replace(",", "."))
        assert min(abs(seconds - s) for s in starts) <= 0.1, stamp
    assert result.vtt.startswith("WEBVTT")


def test_refusals_name_what_to_fix(studio, project, script):
    with pytest.raises(ValueError, match="empty"):
        studio.scripts.create(ScriptImport(project, "Empty", "   \n\n"))
    with pytest.raises(ValueError, match="CAROL"):
        studio.scripts.create(ScriptImport(project, "Unknown tag", "CAROL: Hello there."))
    fresh = studio.scripts.create(ScriptImport(project, "Unspoken", "One line.\n\nAnother line."))
    with pytest.raises(ValueError, match=r"2 segments have no take yet \(segments 1, 2\)"):
        studio.scripts.render(fresh.id, fmt="wav")
    with pytest.raises(ValueError, match="Render to one of"):
        studio.scripts.render(script.id, fmt="ogg")


def test_an_interrupted_generation_resumes_in_the_next_worker_and_speaks_nothing_twice(studio, project):
    """Jobs queued with no worker running (a render whose app was killed) are in the SQLite queue; the next
    consumer to start takes them, and queues again what a killed job had not finished."""
    from studio.config import Settings
    from studio.service import Studio

    script = studio.scripts.create(ScriptImport(project, "Resumed", "First line.\n\nSecond line.\n\nThird line."))
    queued = studio.script_jobs.generate_all(script.id)
    assert len(queued) == 3
    studio.script_jobs.queue.flush()  # the queued jobs are lost too: only the "requested" mark is left
    again = Studio.open(Settings(data_dir=studio.settings.data_dir, max_audio_seconds=60), models=studio.models)
    try:
        again.script_jobs.start_workers(1)  # resumes: queues the script's three segments again
        rows = []
        for _ in range(600):
            rows = again.scripts.status(script.id)
            if all(r.state == "ready" for r in rows):
                break
            time.sleep(0.5)
        assert [r.state for r in rows] == ["ready"] * 3
        assert all(len(again.store.segment_takes(r.segment.id)) == 1 for r in rows)
        assert not again.store.get_script(script.id).settings.get("generation_requested")
    finally:
        again.close()


def test_a_worker_started_while_jobs_wait_does_not_queue_them_twice(studio, project):
    """Starting workers resumes unfinished generations: jobs lost from the queue are queued again, jobs still
    waiting there are left alone. Queued twice, the copy ran first and the job the caller waited on came back
    "skipped" (CI, stop 29), with a copy left in the queue for the next run."""
    script = studio.scripts.create(ScriptImport(project, "Waiting", "One line.\n\nTwo lines."))
    studio.script_jobs.generate_all(script.id)
    assert studio.script_jobs.resume() == 0 and studio.script_jobs.queue.pending_count() == 2
    studio.script_jobs.queue.flush()  # now they are lost
    assert studio.script_jobs.resume() == 2 and studio.script_jobs.queue.pending_count() == 2
    queued = studio.script_jobs.generate_all(script.id)  # asked again by the user: both pending, both queued
    assert len(queued) == 2
    studio.script_jobs.start_workers(1)
    try:
        assert sorted(studio.script_jobs.wait(queued, timeout=600)) in (["made", "made"], ["skipped", "skipped"])
    finally:
        studio.script_jobs.stop_workers()
    assert not studio.scripts.pending(script.id)
    assert all(len(studio.store.segment_takes(r.segment.id)) == 1 for r in studio.scripts.status(script.id))


def test_the_command_line_renders_a_script_file_with_per_tag_voices(studio, project, tmp_path):
    """`python -m studio render FILE --voice NAME --voice TAG=NAME --out FILE.mp3`, as a batch user runs it; a tag
    naming no voice is refused in a sentence."""
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT

    source = tmp_path / "episode.md"
    source.write_text("# One\n\nThe first line is read by the narrator.\n\nHOST: And this one by the host.\n",
                      encoding="utf-8")
    env = {**os.environ, "RETAKE_DATA_DIR": str(studio.settings.data_dir), "HF_HUB_OFFLINE": "1"}

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "studio", "--project", str(project), *args], cwd=ROOT,
                              env=env, capture_output=True, text=True, timeout=600)

    out = tmp_path / "episode.mp3"
    done = cli("render", str(source), "--voice", "Narrator", "--voice", "HOST=Ada", "--out", str(out))
    assert done.returncode == 0, done.stderr
    made = json.loads(done.stdout)
    assert made["segments"]["done"] == 2 and made["written"][0] == str(out)
    assert au.load(out).duration == pytest.approx(made["take"]["duration"], abs=0.15)
    assert out.with_suffix(".srt").read_text().count(" --> ") >= 1
    voices = {v.name: v.id for v in studio.voices.list(project)}
    rows = studio.scripts.status(made["script"])
    assert [r.segment.voice_id for r in rows] == [None, voices["Ada"]]
    assert [r.take.voice_id for r in rows] == [voices["Narrator"], voices["Ada"]]  # untagged: --voice NAME
    refused = cli("render", str(source), "--voice", "Narrator", "--out", str(tmp_path / "x.mp3"))
    assert refused.returncode == 2 and "HOST" in refused.stderr and "Traceback" not in refused.stderr


@pytest.mark.parametrize("engine", ["piper-joe-embedded", "kokoro-82m-embedded"])
def test_a_phoneme_pronunciation_is_spoken_as_written_and_passes_the_gate(studio, engine):
    """Piper and Kokoro read IPA: "Nguyen" -> /wˈɪn/ in the lexicon is heard "Win" (the engines alone say
    "Newing", "Nooyang"); the gate's WER takes the phoneme span as any one word, so the line is not failed
    for a word it can never spell."""
    project = studio.projects.create(f"Phonemes {engine}").id
    studio.scripts.set_pronunciation(project, "Nguyen", "/wˈɪn/")
    made = studio.scripts.create(ScriptImport(project, "Names", "Mister Nguyen called at noon.", engine_id=engine))
    take = studio.scripts.generate_segment(studio.scripts.status(made.id)[0].segment.id)
    assert take is not None and take.engine_id == engine and "/wˈɪn/" in take.text
    heard = studio.edit.transcript(take.id).text.lower()
    assert re.search(r"\bwin", heard) and "newing" not in heard, heard
    assert take.scores["chunks_failed"] == 0, take.scores
