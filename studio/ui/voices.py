"""Voices tab: create a voice from recordings (with consent), then list, play, rename and delete voices."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import gradio as gr

from storage import Voice
from studio.enhance import DEFAULT_DENOISER
from studio.voices import CONSENT_STATEMENT, ClipInput, Voices

from .cancellation import cancellable, current_token
from .choices import voice_choices
from .context import UIContext
from .errors import require_id, user_errors
from .fields import table as table_of
from .playback import playable, player

LANGUAGES = [("English", "en"), ("Spanish", "es"), ("French", "fr"), ("German", "de"), ("Italian", "it"),
             ("Portuguese", "pt"), ("Dutch", "nl"), ("Polish", "pl"), ("Japanese", "ja"), ("Chinese", "zh")]
VOICE_HEADERS = ["id", "name", "language", "clips", "seconds", "transcribed", "created"]


def voice_rows(voices: list[Voice]) -> list[list]:
    return [
        [v.id, v.name, v.language, len(v.clips), round(sum(c.duration for c in v.clips), 1),
         sum(1 for c in v.clips if c.transcript), v.created_at.strftime("%Y-%m-%d %H:%M")]
        for v in voices
    ]


@dataclass
class VoicesTab:
    files: gr.File
    mic: gr.Audio
    name: gr.Textbox
    language: gr.Dropdown
    transcripts: gr.Textbox
    denoise: gr.Checkbox
    consent: gr.Checkbox
    create: gr.Button
    status: gr.Markdown
    table: gr.Dataframe
    selected: gr.Dropdown
    preview: gr.Audio
    new_name: gr.Textbox
    rename: gr.Button
    delete: gr.Button


class VoiceHandlers:
    def __init__(self, voices: Voices) -> None:
        self.voices = voices

    @cancellable
    @user_errors
    def create_voice(self, project_id, paths, recorded, voice_name, lang, transcript_text, clean, agreed,
                     request: gr.Request, progress=gr.Progress()):
        sources = list(paths or []) + ([recorded] if recorded else [])
        lines = (transcript_text or "").splitlines()
        clips = [ClipInput(source=p, transcript=lines[i] if i < len(lines) else None, name=Path(p).name)
                 for i, p in enumerate(sources)]
        who = getattr(request, "username", None) or "anonymous"
        voice = self.voices.create(int(project_id), voice_name or "", clips, language=lang or "en",
                                   consent=agreed, consented_by=who, denoise_with=DEFAULT_DENOISER if clean else None,
                                   progress=lambda f, text: progress(f, desc=text), cancel=current_token())
        voices = self.voices.list(voice.project_id)
        return (f"Created **{voice.name}** from {len(voice.clips)} clip(s).", voice_rows(voices),
                gr.update(choices=voice_choices(voices), value=voice.id), None, None, "", "", False)

    @user_errors
    def list_voices(self, project_id):
        voices = self.voices.list(int(project_id))
        return voice_rows(voices), gr.update(choices=voice_choices(voices), value=None)

    @user_errors
    def play_voice(self, voice_id):
        if voice_id is None:
            return None
        return playable(self.voices.clip_audio(int(voice_id)))

    @user_errors
    def rename_voice(self, voice_id, name_text):
        voice = self.voices.rename(require_id(voice_id, "Choose a voice to rename."), name_text or "")
        voices = self.voices.list(voice.project_id)
        return voice_rows(voices), gr.update(choices=voice_choices(voices), value=voice.id), ""

    @user_errors
    def delete_voice(self, project_id, voice_id):
        self.voices.delete(require_id(voice_id, "Choose a voice to delete."), project_id=int(project_id))
        voices = self.voices.list(int(project_id))
        return voice_rows(voices), gr.update(choices=voice_choices(voices), value=None), None


def render(ctx: UIContext) -> VoicesTab:
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
            table = table_of(VOICE_HEADERS, "voice-table")
            selected = gr.Dropdown(label="Voice", choices=[], elem_id="voice-select", allow_custom_value=True)
            preview = player("Reference clip")
            with gr.Row():
                new_name = gr.Textbox(label="New name", scale=3)
                rename = gr.Button("Rename", scale=1)
            delete = gr.Button("Delete voice", variant="stop")
    return VoicesTab(files, mic, name, language, transcripts, denoise, consent, create, status, table, selected,
                     preview, new_name, rename, delete)


def listen(ctx: UIContext, tab: VoicesTab) -> None:
    handle, project = VoiceHandlers(ctx.studio.voices), ctx.project
    created = tab.create.click(
        handle.create_voice, [project, tab.files, tab.mic, tab.name, tab.language, tab.transcripts, tab.denoise,
                              tab.consent],
        [tab.status, tab.table, tab.selected, tab.files, tab.mic, tab.name, tab.transcripts, tab.consent],
        api_name="create_voice", show_progress_on=tab.status, **ctx.gpu)
    project.change(handle.list_voices, project, [tab.table, tab.selected], api_name="list_voices")
    tab.selected.change(handle.play_voice, tab.selected, tab.preview, api_name="voice_preview")
    renamed = tab.rename.click(handle.rename_voice, [tab.selected, tab.new_name], [tab.table, tab.selected, tab.new_name],
                               api_name="rename_voice", show_progress_on=tab.table)
    deleted = tab.delete.click(handle.delete_voice, [project, tab.selected], [tab.table, tab.selected, tab.preview],
                               api_name="delete_voice", show_progress_on=tab.table)
    ctx.voices_changed.raised_by("voices", created, renamed, deleted)
    ctx.page_load.then(handle.list_voices, [project], [tab.table, tab.selected])
