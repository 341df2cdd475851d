"""Voices tab: create a voice from recordings (with consent), then list, play, rename and delete voices."""
from __future__ import annotations

from pathlib import Path

import gradio as gr

from pipelines import audio as au
from storage import Voice
from studio.service import Studio
from studio.voices import CONSENT_STATEMENT, ClipInput

from .errors import require_id, user_errors

LANGUAGES = [("English", "en"), ("Spanish", "es"), ("French", "fr"), ("German", "de"), ("Italian", "it"),
             ("Portuguese", "pt"), ("Dutch", "nl"), ("Polish", "pl"), ("Japanese", "ja"), ("Chinese", "zh")]
DENOISER = "deepfilternet3"
VOICE_HEADERS = ["id", "name", "language", "clips", "seconds", "transcribed", "created"]


def voice_rows(voices: list[Voice]) -> list[list]:
    return [
        [v.id, v.name, v.language, len(v.clips), round(sum(c.duration for c in v.clips), 1),
         sum(1 for c in v.clips if c.transcript), v.created_at.strftime("%Y-%m-%d %H:%M")]
        for v in voices
    ]


def voice_choices(voices: list[Voice]) -> list[tuple[str, int]]:
    return [(f"{v.name} (#{v.id})", v.id) for v in voices]


def render(studio: Studio, project: gr.Dropdown) -> dict[str, gr.components.Component]:
    """Lay out the tab and wire its events; returns the components other tabs refresh."""
    with gr.Row():
        with gr.Column(scale=1):
            gr.Markdown("### New voice\nA few seconds to a minute of clean speech per clip works best.")
            files = gr.File(label="Reference recordings", file_count="multiple", file_types=["audio"],
                            elem_id="voice-files")
            mic = gr.Audio(label="…or record one", sources=["microphone"], type="filepath")
            name = gr.Textbox(label="Name", placeholder="e.g. Narrator – warm", elem_id="voice-name")
            language = gr.Dropdown(LANGUAGES, value="en", label="Language", allow_custom_value=True)
            transcripts = gr.Textbox(label="Transcripts (optional)", lines=3,
                                     info="One line per clip, in order; the recorded clip comes last.")
            denoise = gr.Checkbox(label="Remove background noise first (DeepFilterNet3)", value=False,
                                  info="For recordings made in a noisy room: noisy references make noisy clones.")
            consent = gr.Checkbox(label=CONSENT_STATEMENT, value=False, elem_id="voice-consent")
            create = gr.Button("Create voice", variant="primary", elem_id="voice-create")
            status = gr.Markdown(elem_id="voice-status")
        with gr.Column(scale=1):
            gr.Markdown("### Library")
            table = gr.Dataframe(headers=VOICE_HEADERS, interactive=False, elem_id="voice-table")
            selected = gr.Dropdown(label="Voice", choices=[], elem_id="voice-select", allow_custom_value=True)
            preview = gr.Audio(label="Reference clip", interactive=False, type="numpy")
            with gr.Row():
                new_name = gr.Textbox(label="New name", scale=3)
                rename = gr.Button("Rename", scale=1)
            delete = gr.Button("Delete voice", variant="stop")

    @user_errors
    def create_voice(project_id, paths, recorded, voice_name, lang, transcript_text, clean, agreed,
                     request: gr.Request, progress=gr.Progress()):
        sources = list(paths or []) + ([recorded] if recorded else [])
        lines = (transcript_text or "").splitlines()
        clips = [ClipInput(source=p, transcript=lines[i] if i < len(lines) else None, name=Path(p).name)
                 for i, p in enumerate(sources)]
        who = getattr(request, "username", None) or "anonymous"
        voice = studio.voices.create(int(project_id), voice_name or "", clips, language=lang or "en",
                                    consent=agreed, consented_by=who,
                                    denoise_with=DENOISER if clean else None,
                                    progress=lambda f, text: progress(f, desc=text))
        voices = studio.voices.list(voice.project_id)
        return (f"Created **{voice.name}** from {len(voice.clips)} clip(s).", voice_rows(voices),
                gr.update(choices=voice_choices(voices), value=voice.id), None, None, "", "", False)

    @user_errors
    def list_voices(project_id):
        voices = studio.voices.list(int(project_id))
        return voice_rows(voices), gr.update(choices=voice_choices(voices), value=None)

    @user_errors
    def play_voice(voice_id):
        if voice_id is None:
            return None
        return au.to_gradio(studio.voices.clip_audio(int(voice_id)))

    @user_errors
    def rename_voice(voice_id, name_text):
        voice = studio.voices.rename(require_id(voice_id, "Choose a voice to rename."), name_text or "")
        voices = studio.voices.list(voice.project_id)
        return voice_rows(voices), gr.update(choices=voice_choices(voices), value=voice.id), ""

    @user_errors
    def delete_voice(project_id, voice_id):
        studio.voices.delete(require_id(voice_id, "Choose a voice to delete."), project_id=int(project_id))
        voices = studio.voices.list(int(project_id))
        return voice_rows(voices), gr.update(choices=voice_choices(voices), value=None), None

    create.click(create_voice, [project, files, mic, name, language, transcripts, denoise, consent],
                 [status, table, selected, files, mic, name, transcripts, consent], api_name="create_voice",
                 show_progress_on=status)
    project.change(list_voices, project, [table, selected], api_name="list_voices")
    selected.change(play_voice, selected, preview, api_name="voice_preview")
    rename.click(rename_voice, [selected, new_name], [table, selected, new_name], api_name="rename_voice",
                 show_progress_on=table)
    delete.click(delete_voice, [project, selected], [table, selected, preview], api_name="delete_voice",
                 show_progress_on=table)
    return {"table": table, "selected": selected, "refresh": list_voices}
