"""Speak tab: type text, pick a voice and an engine, hear it stream chunk by chunk, keep it as a take; then
fix one chunk (speak it again or keep another attempt) and compare two takes A/B. Handlers stay thin: the
use cases are in studio/speak.py, studio/fix.py and studio/compare.py."""
from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from studio.compare import Compare, TakeComparison
from studio.engines import Engines
from studio.fix import Fix
from studio.narrations import SpeakEvent
from studio.speak import DEFAULT_ENGINE, MAX_TEXT_CHARS, Speak, SpeakRequest
from studio.takes import Takes
from studio.voices import Voices

from .cancellation import cancellable, current_token
from .choices import (NO_VOICE, PICKER_LIMIT, attempt_choices, engine_choices, narration_choices, short,
                      speaking_voice_choices, take_choices)
from .context import UIContext
from .errors import require_id, user_errors
from .fields import parse_seed, seed_box, table as table_of
from .playback import live_chunk, playable, player

SCORE_HEADERS = ["chunk", "take", "text", "seed", "attempt", "similarity", "WER", "words/min", "passed", "why"]
SCORE_WIDTHS = ["6%", "5%", "26%", "10%", "7%", "9%", "5%", "8%", "8%", "16%"]
COMPARE_HEADERS = ["", "A", "B", "better"]


def character_count(text: str | None) -> str:
    n = len(text or "")
    warning = " — too long, split it" if n > MAX_TEXT_CHARS else ""
    return f"{n:,} / {MAX_TEXT_CHARS:,} characters{warning}"


def speak_request(project_id, voice_id, text, engine_id, seed, speed, speaker, gate,
                  match_voice=True) -> SpeakRequest:
    """The Speak form's values (as the browser or an API caller sends them) as one request."""
    return SpeakRequest(int(project_id), text or "", voice_id=int(voice_id) if voice_id else None,
                        engine_id=engine_id or DEFAULT_ENGINE, seed=parse_seed(seed),
                        speaker=(speaker or "").strip() or None, speed=float(speed), gate=bool(gate),
                        match_voice=match_voice is not False)


def _fmt(value, digits: int = 2):
    return None if value is None else round(float(value), digits)


def attempt_rows(attempts, kept_ids: set[int] | None = None) -> list[list]:
    """Rows for attempt takes; chunks are numbered from 1 as the fix controls count them. `kept_ids`: which
    attempts the narration shown is made of (default: each attempt's own "kept" flag)."""
    rows = []
    for take in attempts:
        p, s = take.parameters, take.scores
        kept = take.id in kept_ids if kept_ids is not None else bool(p.get("kept"))
        rows.append([int(p.get("chunk", 0)) + 1, take.id, short(take.text, 40), take.seed,
                     p.get("attempt", 0) + 1, _fmt(s.get("speaker_similarity")), _fmt(s.get("wer")),
                     _fmt(s.get("words_per_minute"), 0),
                     ("kept" if kept else "dropped") + ("" if not p.get("failures") else " ✗"),
                     "; ".join(p.get("failures") or ())])
    return rows


def comparison_rows(comparison: TakeComparison) -> list[list]:
    return [[row.label, _cell(row.a), _cell(row.b), row.better] for row in comparison.rows]


def _cell(value):
    return "—" if value is None else value if isinstance(value, (int, float, str)) else str(value)


def summary(event: SpeakEvent) -> str:
    take, s = event.take, event.take.scores
    parts = [f"Saved as take **#{take.id}** ({take.duration:.1f} s, {s['chunks']} chunk(s), "
             f"{s['attempts']} attempt(s), seed {take.seed})."]
    p = take.parameters
    if "regenerated" in p:
        redo = p["regenerated"]
        parts.append(f"Made from take #{redo['from_take']}: chunk {redo['chunk'] + 1} spoken again with seed "
                     f"{redo['seed']}; the other chunks are unchanged.")
    elif "chosen" in p:
        chosen = p["chosen"]
        parts.append(f"Made from take #{chosen['from_take']}: chunk {chosen['chunk'] + 1} is now attempt "
                     f"#{chosen['attempt_take']}; nothing was spoken again.")
    metrics = [(k, s.get(k)) for k in ("wer_mean", "words_per_minute")]
    shown = [f"{k.replace('_', ' ')} {v:.2f}" for k, v in metrics if v is not None]
    if s.get("similarity_mean") is not None:  # one similarity figure: to the voice the person chose
        shown.insert(0, f"similarity to the chosen voice {s['similarity_mean']:.2f} (lowest chunk "
                        f"{s['similarity_min']:.2f})")
    if shown:
        parts.append(" · ".join(shown))
    if event.match is not None:
        parts.append(f"Speaker **{event.match.speaker}**: {event.match.label}.")
    if s.get("chunks_failed"):
        parts.append(f"⚠ {s['chunks_failed']} chunk(s) still fail the quality gate; see the table.")
    parts.extend(f"ℹ {notice}" for notice in event.notices)
    return "\n\n".join(parts)


@dataclass
class SpeakTab:
    voice: gr.Dropdown
    text: gr.Textbox
    count: gr.Markdown
    engine: gr.Dropdown
    seed: gr.Textbox
    speed: gr.Slider
    speaker: gr.Textbox
    gate: gr.Checkbox
    match_voice: gr.Checkbox
    run: gr.Button
    status: gr.Markdown
    stream: gr.Audio
    final: gr.Audio
    scores: gr.Dataframe
    fix_take: gr.Dropdown
    fix_chunk: gr.Number
    fix_seed: gr.Textbox
    fix_gate: gr.Checkbox
    regenerate: gr.Button
    attempt: gr.Dropdown
    choose: gr.Button
    take_a: gr.Dropdown
    take_b: gr.Dropdown
    compare: gr.Button
    player_a: gr.Audio
    player_b: gr.Audio
    comparison: gr.Dataframe

    @property
    def pickers(self) -> list[gr.Dropdown]:
        return [self.take_a, self.take_b, self.fix_take]


class SpeakHandlers:
    def __init__(self, speak: Speak, fix: Fix, compare: Compare, takes: Takes, voices: Voices,
                 engines: Engines) -> None:
        self.speaker, self.fix, self.comparer = speak, fix, compare
        self.takes, self.voices, self.engines = takes, voices, engines

    @user_errors
    def list_voices(self, project_id):
        """The picker for another project: its voices, none chosen."""
        return self.refresh_voices(project_id, NO_VOICE)

    @user_errors
    def refresh_voices(self, project_id, current):
        """The picker after a voice was made or deleted on another tab, or once the page has opened: the voice the
        person chose meanwhile stays chosen while it exists (a late refresh reset it: CI, stop 30)."""
        choices = speaking_voice_choices(self.voices.list(int(project_id)))
        kept = next((value for _, value in choices if str(value) == str(current)), NO_VOICE)
        return gr.update(choices=choices, value=kept)

    @user_errors
    def list_engines(self):
        return gr.update(choices=engine_choices(self.engines.statuses(), "speak"))

    @cancellable
    @user_errors
    def speak(self, project_id, voice_id, script, engine_id, seed_value, speed_value, speaker_name, gated,
              match_voice=True, progress=gr.Progress()):
        request = speak_request(project_id, voice_id, script, engine_id, seed_value, speed_value, speaker_name,
                                gated, match_voice)
        events = self.speaker.start(request, progress=lambda f, message: progress(f, desc=message),
                                    cancel=current_token())
        for event in events:
            if event.kind == "chunk":
                notes = "".join(f"\n\nℹ {notice}" for notice in event.notices)
                yield (live_chunk(event.audio), gr.skip(), gr.skip(),
                       f"Chunk {event.index + 1} of {event.total} ready…{notes}")
            elif event.kind == "replaced":  # the take gets the better attempt; the live player has moved on
                why = "; ".join(event.chunk.attempts[0].failures) if event.chunk else ""
                yield (gr.skip(), gr.skip(), gr.skip(),
                       f"Chunk {event.index + 1} spoken again ({why}); the take keeps the better attempt…")
            else:
                yield gr.skip(), playable(event.audio), attempt_rows(event.attempts), summary(event)

    @user_errors
    def list_takes(self, project_id):
        takes = self.takes.list(int(project_id), page_size=PICKER_LIMIT)
        every, narrations = take_choices(takes), narration_choices(takes)
        return (gr.update(choices=every), gr.update(choices=every),
                gr.update(choices=narrations, value=narrations[0][1] if narrations else None))

    @user_errors
    def more_takes(self, project_id):
        """Fresh choices for all three pickers, keeping what each has chosen (takes made on other tabs)."""
        takes = self.takes.list(int(project_id), page_size=PICKER_LIMIT)
        every = take_choices(takes)
        return gr.update(choices=every), gr.update(choices=every), gr.update(choices=narration_choices(takes))

    @user_errors
    def list_attempts(self, take_id):
        if take_id in (None, ""):
            return gr.update(choices=[], value=None)
        try:
            kept = {t.id for t in self.fix.kept_attempts(int(take_id))}
        except ValueError:  # a chunk's audio was deleted: still list what is there; fixing explains the rest
            kept = set()
        return gr.update(choices=attempt_choices(self.fix.chunk_attempts(int(take_id)), kept), value=None)

    def fixed(self, event: SpeakEvent, project_id):
        """The new narration in the player, its chunks in the table, and the pickers pointing at it."""
        kept = self.fix.kept_attempts(event.take.id)
        kept_ids = {t.id for t in kept}
        shown = sorted({t.id: t for t in [*kept, *event.attempts]}.values(),
                       key=lambda t: (t.parameters.get("chunk", 0), t.id))
        takes = self.takes.list(int(project_id), page_size=PICKER_LIMIT)
        attempts = self.fix.chunk_attempts(event.take.id)
        return (playable(event.audio), attempt_rows(shown, kept_ids), summary(event),
                gr.update(choices=narration_choices(takes), value=event.take.id),
                gr.update(choices=attempt_choices(attempts, kept_ids), value=None))

    @cancellable
    @user_errors
    def regenerate_chunk(self, take_id, chunk_number, seed_value, gated, project_id, progress=gr.Progress()):
        take_id = require_id(take_id, "Choose a narration to fix.")
        chunk = require_id(chunk_number, "Give the number of the chunk to speak again (1 = the first).")
        event = self.fix.regenerate_chunk(
            take_id, chunk - 1, seed=parse_seed(seed_value), gate=bool(gated),
            progress=lambda f, message: progress(f, desc=message), project_id=int(project_id),
            cancel=current_token())
        return self.fixed(event, project_id)

    @user_errors
    def choose_attempt(self, attempt_id, take_id, project_id):
        attempt_id = require_id(attempt_id, "Choose the attempt to keep.")
        event = self.fix.choose_attempt(attempt_id, int(take_id) if take_id not in (None, "") else None,
                                        project_id=int(project_id))
        return self.fixed(event, project_id)

    @user_errors
    def compare_takes(self, a_id, b_id):
        a_id = require_id(a_id, "Choose take A.")
        b_id = require_id(b_id, "Choose take B.")
        result = self.comparer.takes(a_id, b_id)
        return (playable(self.takes.audio(result.a.id)), playable(self.takes.audio(result.b.id)),
                comparison_rows(result))


def render(ctx: UIContext) -> SpeakTab:
    with gr.Row():
        with gr.Column(scale=1):
            voice = gr.Dropdown(label="Voice", choices=speaking_voice_choices([]), value=NO_VOICE,
                                elem_id="speak-voice", allow_custom_value=True)
            text = gr.Textbox(label="Text", lines=8, placeholder="Type or paste what should be said…",
                              elem_id="speak-text")
            count = gr.Markdown(character_count(""), elem_id="speak-count")
            engine = gr.Dropdown(engine_choices(ctx.studio.engines.statuses(), "speak"), value=DEFAULT_ENGINE,
                                 label="Engine", elem_id="speak-engine")
            with gr.Accordion("Options", open=False):
                seed = seed_box(elem_id="speak-seed")
                speed = gr.Slider(0.5, 2.0, value=1.0, step=0.05, label="Speed")
                speaker = gr.Textbox(label="Speaker (fixed-voice engines; empty = closest to the voice)")
            gate = gr.Checkbox(label="Quality gate (retry chunks that mumble, skip words or drift)", value=True,
                               elem_id="speak-gate")
            match_voice = gr.Checkbox(label="Match the voice (offline engines: the built-in voice re-rendered "
                                            "towards the chosen voice)", value=True, elem_id="speak-match")
            run = gr.Button("Generate", variant="primary", elem_id="speak-run")
            status = gr.Markdown(elem_id="speak-status")
        with gr.Column(scale=1):
            stream = gr.Audio(label="Live", streaming=True, autoplay=True, interactive=False,
                              elem_id="speak-stream")
            final = player("Take", "speak-final")
    # Full width: ten columns in half the page broke their headers and seeds mid-word at 1280 px.
    scores = table_of(SCORE_HEADERS, "speak-scores", SCORE_WIDTHS)
    # Pickers accept any take id (allow_custom_value): API callers name takes made after the page was built.
    with gr.Accordion("Fix one chunk", open=False, elem_id="speak-fix"):
        with gr.Row():
            fix_take = gr.Dropdown(label="Narration", choices=[], elem_id="fix-take", scale=3,
                                   allow_custom_value=True)
            fix_chunk = gr.Number(label="Chunk", value=1, minimum=1, precision=0, elem_id="fix-chunk", scale=1)
            fix_seed = seed_box("Seed (empty = new)", elem_id="fix-seed", scale=1)
            fix_gate = gr.Checkbox(label="Quality gate", value=True, scale=1)
            regenerate = gr.Button("Speak this chunk again", elem_id="fix-regenerate", scale=1)
        with gr.Row():
            attempt = gr.Dropdown(label="Attempt to keep instead", choices=[], elem_id="fix-attempt", scale=4,
                                  allow_custom_value=True)
            choose = gr.Button("Keep this attempt", elem_id="fix-choose", scale=1)
    with gr.Accordion("Compare two takes (A/B)", open=False, elem_id="speak-compare"):
        with gr.Row():
            take_a = gr.Dropdown(label="Take A", choices=[], elem_id="compare-a", allow_custom_value=True)
            take_b = gr.Dropdown(label="Take B", choices=[], elem_id="compare-b", allow_custom_value=True)
            compare = gr.Button("Compare", elem_id="compare-run")
        with gr.Row():
            player_a = player("A", "compare-player-a")
            player_b = player("B", "compare-player-b")
        comparison = table_of(COMPARE_HEADERS, "compare-table")
    return SpeakTab(voice, text, count, engine, seed, speed, speaker, gate, match_voice, run, status, stream, final, scores,
                    fix_take, fix_chunk, fix_seed, fix_gate, regenerate, attempt, choose, take_a, take_b, compare,
                    player_a, player_b, comparison)


def listen(ctx: UIContext, tab: SpeakTab) -> None:
    s, project = ctx.studio, ctx.project
    handle = SpeakHandlers(s.speak, s.fix, s.compare, s.takes, s.voices, s.engines)
    fix_outputs = [tab.final, tab.scores, tab.status, tab.fix_take, tab.attempt]
    spoken = tab.run.click(
        handle.speak, [project, tab.voice, tab.text, tab.engine, tab.seed, tab.speed, tab.speaker, tab.gate,
                       tab.match_voice],
        [tab.stream, tab.final, tab.scores, tab.status], api_name="speak", show_progress_on=tab.status, **ctx.gpu)
    spoken.success(handle.list_takes, project, tab.pickers, api_name=False)
    regenerated = tab.regenerate.click(handle.regenerate_chunk,
                                       [tab.fix_take, tab.fix_chunk, tab.fix_seed, tab.fix_gate, project],
                                       fix_outputs, api_name="regenerate_chunk", show_progress_on=tab.status,
                                       **ctx.gpu)
    chosen = tab.choose.click(handle.choose_attempt, [tab.attempt, tab.fix_take, project], fix_outputs,
                              api_name="choose_attempt", show_progress_on=tab.status)
    for saved in (regenerated, chosen):  # the fix picker already points at the new take
        saved.success(handle.more_takes, project, tab.pickers, api_name=False)
    tab.compare.click(handle.compare_takes, [tab.take_a, tab.take_b], [tab.player_a, tab.player_b, tab.comparison],
                      api_name="compare_takes", show_progress_on=tab.comparison)
    tab.fix_take.change(handle.list_attempts, tab.fix_take, tab.attempt, api_name="chunk_attempts")
    tab.text.change(character_count, tab.text, tab.count, api_name="count_characters", show_progress="hidden")
    project.change(handle.list_voices, project, tab.voice, api_name="speak_voices")
    project.change(handle.list_takes, project, tab.pickers, api_name=False)
    ctx.takes_changed.raised_by("speak", spoken, regenerated, chosen)
    ctx.takes_changed.follow("speak", handle.more_takes, [project], tab.pickers)
    ctx.voices_changed.follow("speak", handle.refresh_voices, [project, tab.voice], [tab.voice])
    ctx.page_load.then(handle.refresh_voices, [project, tab.voice], [tab.voice])
    ctx.page_load.then(handle.list_engines, [], [tab.engine])
    ctx.page_load.then(handle.list_takes, [project], tab.pickers)
