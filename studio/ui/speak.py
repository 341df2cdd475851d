"""Speak tab: type text, pick a voice and an engine, hear it stream chunk by chunk, keep it as a take."""
from __future__ import annotations

import gradio as gr

from pipelines import audio as au
from pipelines.manager import EngineStatus
from studio.service import Studio
from studio.speaking import DEFAULT_ENGINE, MAX_TEXT_CHARS, SpeakEvent

from .errors import user_errors
from .voices import voice_choices

NO_VOICE = 0  # the engine's own voice
STATE_LABELS = {"loaded": "offline, loaded", "embedded": "offline", "cached": "downloaded",
                "not downloaded": "needs download", "not installed": "not installed"}
SCORE_HEADERS = ["chunk", "text", "seed", "attempts", "similarity", "WER", "words/min", "passed"]


def engine_choices(statuses: list[EngineStatus]) -> list[tuple[str, str]]:
    return [(f"{s.engine.name} — {STATE_LABELS.get(s.state, s.state)}", s.engine.id)
            for s in statuses if s.engine.task == "speak"]


def character_count(text: str | None) -> str:
    n = len(text or "")
    warning = " — too long, split it" if n > MAX_TEXT_CHARS else ""
    return f"{n:,} / {MAX_TEXT_CHARS:,} characters{warning}"


def _fmt(value, digits: int = 2):
    return None if value is None else round(float(value), digits)


def score_rows(event: SpeakEvent) -> list[list]:
    """One row per chunk attempt kept or not, from the stored attempt takes (what the Takes tab shows too)."""
    rows = []
    for take in event.attempts:
        p, s = take.parameters, take.scores
        rows.append([p.get("chunk"), _short(take.text or ""), take.seed, p.get("attempt", 0) + 1,
                     _fmt(s.get("speaker_similarity")), _fmt(s.get("wer")), _fmt(s.get("words_per_minute"), 0),
                     ("kept" if p.get("kept") else "dropped") + ("" if not p.get("failures") else " ✗")])
    return rows


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def summary(event: SpeakEvent) -> str:
    take, s = event.take, event.take.scores
    parts = [f"Saved as take **#{take.id}** ({take.duration:.1f} s, {s['chunks']} chunk(s), "
             f"{s['attempts']} attempt(s), seed {take.seed})."]
    metrics = [(k, s.get(k)) for k in ("similarity_mean", "similarity_min", "wer_mean", "words_per_minute")]
    shown = [f"{k.replace('_', ' ')} {v:.2f}" for k, v in metrics if v is not None]
    if shown:
        parts.append(" · ".join(shown))
    if event.match is not None:
        parts.append(f"Speaker **{event.match.speaker}**: {event.match.label} "
                     f"(similarity {event.match.similarity:.2f} to the chosen voice).")
    if s.get("chunks_failed"):
        parts.append(f"⚠ {s['chunks_failed']} chunk(s) still fail the quality gate; see the table.")
    return "\n\n".join(parts)


def render(studio: Studio, project: gr.Dropdown) -> dict:
    with gr.Row():
        with gr.Column(scale=1):
            voice = gr.Dropdown(label="Voice", choices=[("Engine's own voice", NO_VOICE)], value=NO_VOICE,
                                elem_id="speak-voice")
            text = gr.Textbox(label="Text", lines=8, placeholder="Type or paste what should be said…",
                              elem_id="speak-text")
            count = gr.Markdown(character_count(""), elem_id="speak-count")
            engine = gr.Dropdown(engine_choices(studio.engines()), value=DEFAULT_ENGINE, label="Engine",
                                 elem_id="speak-engine")
            with gr.Accordion("Options", open=False):
                seed = gr.Number(label="Seed (empty = random)", value=None, precision=0, minimum=0)
                speed = gr.Slider(0.5, 2.0, value=1.0, step=0.05, label="Speed")
                speaker = gr.Textbox(label="Speaker (fixed-voice engines; empty = closest to the voice)")
            gate = gr.Checkbox(label="Quality gate (retry chunks that mumble, skip words or drift)", value=True,
                               elem_id="speak-gate")
            run = gr.Button("Generate", variant="primary", elem_id="speak-run")
            status = gr.Markdown(elem_id="speak-status")
        with gr.Column(scale=1):
            stream = gr.Audio(label="Live", streaming=True, autoplay=True, interactive=False,
                              elem_id="speak-stream")
            final = gr.Audio(label="Take", type="numpy", interactive=False, elem_id="speak-final")
            scores = gr.Dataframe(headers=SCORE_HEADERS, interactive=False, elem_id="speak-scores", wrap=True,
                                  column_widths=["8%", "30%", "14%", "10%", "10%", "8%", "10%", "10%"])

    @user_errors
    def list_voices(project_id):
        choices = [("Engine's own voice", NO_VOICE)] + voice_choices(studio.voices(int(project_id)))
        return gr.update(choices=choices, value=NO_VOICE)

    @user_errors
    def list_engines():
        return gr.update(choices=engine_choices(studio.engines()))

    @user_errors
    def speak(project_id, voice_id, script, engine_id, seed_value, speed_value, speaker_name, gated,
              progress=gr.Progress()):
        events = studio.speaking.speak(
            int(project_id), script or "", voice_id=int(voice_id) if voice_id else None,
            engine_id=engine_id or DEFAULT_ENGINE, seed=None if seed_value in (None, "") else int(seed_value),
            speaker=(speaker_name or "").strip() or None, speed=float(speed_value), gate=bool(gated),
            progress=lambda f, message: progress(f, desc=message))
        for event in events:
            if event.kind == "chunk":
                yield (au.to_gradio(event.audio), gr.skip(), gr.skip(),
                       f"Chunk {event.index + 1} of {event.total} ready…")
            else:
                yield gr.skip(), au.to_gradio(event.audio), score_rows(event), summary(event)

    run.click(speak, [project, voice, text, engine, seed, speed, speaker, gate], [stream, final, scores, status],
              api_name="speak")
    text.change(character_count, text, count, api_name="count_characters", show_progress="hidden")
    project.change(list_voices, project, voice, api_name="speak_voices")
    return {"refresh": list_voices, "voice": voice, "engines": list_engines, "engine": engine}
