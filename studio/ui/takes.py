"""Takes tab: browse the project's takes, play, star, download, delete, import a recording, and check any
file for the watermark the studio puts on synthetic takes."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import gradio as gr

from storage import Take
from studio.marking import Marking
from studio.takes import DOWNLOAD_FORMATS, Takes
from studio.voices import Voices

from .choices import short, take_choices, voice_filter_choices
from .context import UIContext
from .errors import require_id, user_errors
from .fields import table as table_of
from .playback import playable, player as audio_player

TAKE_HEADERS = ["id", "★", "kind", "text", "voice", "seconds", "engine", "created"]
PAGE_SIZE = 50


def take_rows(takes: list[Take], voice_names: dict[int, str]) -> list[list]:
    return [
        [t.id, "★" if t.starred else "", t.kind, short(t.text), voice_names.get(t.voice_id, "") if t.voice_id else "",
         round(t.duration, 2), t.engine_id or "", t.created_at.strftime("%Y-%m-%d %H:%M")]
        for t in takes
    ]


@dataclass
class TakesTab:
    voice_filter: gr.Dropdown
    starred_only: gr.Checkbox
    page: gr.Number
    refresh: gr.Button
    summary: gr.Markdown
    table: gr.Dataframe
    selected: gr.Dropdown
    player: gr.Audio
    star: gr.Button
    fmt: gr.Dropdown
    download: gr.Button
    file: gr.File
    delete: gr.Button
    upload: gr.Audio
    upload_text: gr.Textbox
    do_import: gr.Button
    check_upload: gr.File
    do_check: gr.Button
    check_result: gr.Textbox

    @property
    def listed(self) -> list:
        """What a listing fills: the summary line, the table, the take picker and the voice filter."""
        return [self.summary, self.table, self.selected, self.voice_filter]


class TakeHandlers:
    def __init__(self, takes: Takes, voices: Voices) -> None:
        self.takes, self.voices = takes, voices

    @user_errors
    def list_takes(self, project_id, voice_id, starred, page_number):
        project_id = int(project_id)
        voice_id = int(voice_id) if voice_id else None
        voices = self.voices.list(project_id)
        total = self.takes.count(project_id, voice_id=voice_id, starred_only=bool(starred))
        takes = self.takes.list(project_id, voice_id=voice_id, starred_only=bool(starred),
                                page=int(page_number or 1), page_size=PAGE_SIZE)
        pages = max(1, -(-total // PAGE_SIZE))
        names = {v.id: v.name for v in voices}
        return (f"{total} take(s) · page {int(page_number or 1)} of {pages}", take_rows(takes, names),
                gr.update(choices=take_choices(takes), value=None),
                gr.update(choices=voice_filter_choices(voices), value=voice_id or 0))

    @user_errors
    def play_take(self, take_id):
        if take_id in (None, ""):
            return None
        return playable(self.takes.audio(int(take_id)))

    @user_errors
    def toggle_star(self, take_id, project_id, voice_id, starred, page_number):
        take = self.takes.get(require_id(take_id, "Choose a take to star."), project_id=int(project_id))
        self.takes.set_starred(take.id, not take.starred, project_id=int(project_id))
        return self.list_takes(project_id, voice_id, starred, page_number)[:2]

    @user_errors
    def prepare_download(self, take_id, fmt_value):
        return str(self.takes.file(require_id(take_id, "Choose a take to download."), fmt_value or "wav"))

    @user_errors
    def delete_take(self, take_id, project_id, voice_id, starred, page_number):
        self.takes.delete(require_id(take_id, "Choose a take to delete."), project_id=int(project_id))
        return (*self.list_takes(project_id, voice_id, starred, page_number), None)

    @user_errors
    def import_recording(self, project_id, path, text, voice_id, starred, page_number):
        if not path:
            raise ValueError("Upload or record a recording first.")
        take = self.takes.import_recording(int(project_id), path, text, name=Path(path).name)
        listed = self.list_takes(project_id, voice_id, starred, page_number)
        return (*listed[:2], gr.update(choices=listed[2]["choices"], value=take.id), listed[3], None, "")


class CheckHandlers:
    """The "check a file" action: is an audio file watermarked as synthetic?"""

    def __init__(self, marking: Marking) -> None:
        self.marking = marking

    @user_errors
    def check_watermark(self, path) -> str:
        if not path:
            raise ValueError("Upload an audio file to check first.")
        return self.marking.verdict(path)


def render(ctx: UIContext) -> TakesTab:
    with gr.Row():
        voice_filter = gr.Dropdown(label="Voice", choices=voice_filter_choices([]), value=0, scale=2,
                                   allow_custom_value=True)
        starred_only = gr.Checkbox(label="Starred only", value=False, scale=1)
        page = gr.Number(label="Page", value=1, minimum=1, precision=0, scale=1, elem_id="takes-page")
        refresh = gr.Button("Refresh", scale=1, elem_id="takes-refresh")
    summary = gr.Markdown(elem_id="takes-summary")
    table = table_of(TAKE_HEADERS, "takes-table", ["6%", "4%", "8%", "40%", "12%", "7%", "12%", "11%"])
    with gr.Row():
        with gr.Column(scale=2):
            selected = gr.Dropdown(label="Take", choices=[], elem_id="take-select", allow_custom_value=True)
            player = audio_player("Play", "takes-player")
        with gr.Column(scale=1):
            star = gr.Button("☆ Star / unstar")
            fmt = gr.Dropdown(list(DOWNLOAD_FORMATS), value="wav", label="Download format")
            download = gr.Button("Prepare download")
            file = gr.File(label="Download", interactive=False)
            delete = gr.Button("Delete take", variant="stop")
    with gr.Accordion("Import a recording as a take", open=False):
        upload = gr.Audio(label="Recording", sources=["upload", "microphone"], type="filepath")
        upload_text = gr.Textbox(label="What is said (optional)")
        do_import = gr.Button("Import")
    with gr.Accordion("Check a file for the synthetic-speech watermark", open=False):
        check_upload = gr.File(label="Audio file", file_types=["audio"], type="filepath")
        do_check = gr.Button("Check")
        check_result = gr.Textbox(label="Result", interactive=False, elem_id="watermark-result")
    return TakesTab(voice_filter, starred_only, page, refresh, summary, table, selected, player, star, fmt,
                    download, file, delete, upload, upload_text, do_import, check_upload, do_check, check_result)


def listen(ctx: UIContext, tab: TakesTab) -> None:
    handle = TakeHandlers(ctx.studio.takes, ctx.studio.voices)
    filters = [ctx.project, tab.voice_filter, tab.starred_only, tab.page]
    tab.refresh.click(handle.list_takes, filters, tab.listed, api_name="list_takes")
    for control in filters:
        control.change(handle.list_takes, filters, tab.listed, api_name=False)
    tab.selected.change(handle.play_take, tab.selected, tab.player, api_name="take_audio")
    tab.star.click(handle.toggle_star, [tab.selected, *filters], [tab.summary, tab.table], api_name="star_take",
                   show_progress_on=tab.summary)
    tab.download.click(handle.prepare_download, [tab.selected, tab.fmt], tab.file, api_name="download_take")
    deleted = tab.delete.click(handle.delete_take, [tab.selected, *filters], [*tab.listed, tab.player],
                               api_name="delete_take", show_progress_on=tab.summary)
    imported = tab.do_import.click(
        handle.import_recording, [ctx.project, tab.upload, tab.upload_text, tab.voice_filter, tab.starred_only,
                                  tab.page],
        [tab.summary, tab.table, tab.selected, tab.voice_filter, tab.upload, tab.upload_text],
        api_name="import_recording", show_progress_on=tab.summary)
    check = CheckHandlers(ctx.studio.marking)
    tab.do_check.click(check.check_watermark, tab.check_upload, tab.check_result, api_name="check_watermark",
                       show_progress_on=tab.check_result)
    ctx.takes_changed.raised_by("takes", deleted, imported)
    ctx.takes_changed.follow("takes", handle.list_takes, filters, tab.listed)
    ctx.voices_changed.follow("takes", handle.list_takes, filters, tab.listed)
    ctx.page_load.then(handle.list_takes, filters, tab.listed)
