"""Takes tab: browse the project's takes, play, star, download, delete, and import a recording."""
from __future__ import annotations

from pathlib import Path

import gradio as gr

from pipelines import audio as au
from storage import Take
from studio.service import Studio
from studio.takes import DOWNLOAD_FORMATS

from .errors import require_id, user_errors

TAKE_HEADERS = ["id", "★", "kind", "text", "voice", "seconds", "engine", "created"]
PAGE_SIZE = 50


def take_rows(takes: list[Take], voice_names: dict[int, str]) -> list[list]:
    return [
        [t.id, "★" if t.starred else "", t.kind, _short(t.text), voice_names.get(t.voice_id, "") if t.voice_id else "",
         round(t.duration, 2), t.engine_id or "", t.created_at.strftime("%Y-%m-%d %H:%M")]
        for t in takes
    ]


def take_choices(takes: list[Take]) -> list[tuple[str, int]]:
    return [(f"#{t.id} {t.kind}: {_short(t.text, 40) or '(no text)'}", t.id) for t in takes]


def render(studio: Studio, project: gr.Dropdown) -> dict[str, gr.components.Component]:
    with gr.Row():
        voice_filter = gr.Dropdown(label="Voice", choices=[("All voices", 0)], value=0, scale=2,
                                       allow_custom_value=True)
        starred_only = gr.Checkbox(label="Starred only", value=False, scale=1)
        page = gr.Number(label="Page", value=1, minimum=1, precision=0, scale=1, elem_id="takes-page")
        refresh = gr.Button("Refresh", scale=1, elem_id="takes-refresh")
    summary = gr.Markdown(elem_id="takes-summary")
    table = gr.Dataframe(headers=TAKE_HEADERS, interactive=False, elem_id="takes-table")
    with gr.Row():
        with gr.Column(scale=2):
            selected = gr.Dropdown(label="Take", choices=[], elem_id="take-select", allow_custom_value=True)
            player = gr.Audio(label="Play", interactive=False, type="numpy", elem_id="takes-player")
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

    list_outputs = [summary, table, selected, voice_filter]

    @user_errors
    def list_takes(project_id, voice_id, starred, page_number):
        project_id = int(project_id)
        voice_id = int(voice_id) if voice_id else None
        voices = studio.voices.list(project_id)
        total = studio.takes.count(project_id, voice_id=voice_id, starred_only=bool(starred))
        takes = studio.takes.list(project_id, voice_id=voice_id, starred_only=bool(starred),
                             page=int(page_number or 1), page_size=PAGE_SIZE)
        pages = max(1, -(-total // PAGE_SIZE))
        names = {v.id: v.name for v in voices}
        voice_options = [("All voices", 0)] + [(v.name, v.id) for v in voices]
        return (f"{total} take(s) · page {int(page_number or 1)} of {pages}", take_rows(takes, names),
                gr.update(choices=take_choices(takes), value=None),
                gr.update(choices=voice_options, value=voice_id or 0))

    @user_errors
    def play_take(take_id):
        if take_id in (None, ""):
            return None
        return au.to_gradio(studio.takes.audio(int(take_id)))

    @user_errors
    def toggle_star(take_id, project_id, voice_id, starred, page_number):
        take = studio.takes.get(require_id(take_id, "Choose a take to star."), project_id=int(project_id))
        studio.takes.set_starred(take.id, not take.starred, project_id=int(project_id))
        return list_takes(project_id, voice_id, starred, page_number)[:2]

    @user_errors
    def prepare_download(take_id, fmt_value):
        return str(studio.takes.file(require_id(take_id, "Choose a take to download."), fmt_value or "wav"))

    @user_errors
    def delete_take(take_id, project_id, voice_id, starred, page_number):
        studio.takes.delete(require_id(take_id, "Choose a take to delete."), project_id=int(project_id))
        return (*list_takes(project_id, voice_id, starred, page_number), None)

    @user_errors
    def import_recording(project_id, path, text, voice_id, starred, page_number):
        if not path:
            raise ValueError("Upload or record a recording first.")
        take = studio.takes.import_recording(int(project_id), path, text, name=Path(path).name)
        listed = list_takes(project_id, voice_id, starred, page_number)
        return (*listed[:2], gr.update(choices=listed[2]["choices"], value=take.id), listed[3], None, "")

    filters = [project, voice_filter, starred_only, page]
    refresh.click(list_takes, filters, list_outputs, api_name="list_takes")
    for control in (project, voice_filter, starred_only, page):
        control.change(list_takes, filters, list_outputs, api_name=False)
    selected.change(play_take, selected, player, api_name="take_audio")
    star.click(toggle_star, [selected, *filters], [summary, table], api_name="star_take", show_progress_on=summary)
    download.click(prepare_download, [selected, fmt], file, api_name="download_take")
    delete.click(delete_take, [selected, *filters], [*list_outputs, player], api_name="delete_take",
                 show_progress_on=summary)
    do_import.click(import_recording, [project, upload, upload_text, voice_filter, starred_only, page],
                    [summary, table, selected, voice_filter, upload, upload_text], api_name="import_recording",
                    show_progress_on=summary)
    return {"refresh": list_takes, "filters": filters, "outputs": list_outputs}


def _short(text: str | None, limit: int = 60) -> str:
    text = (text or "").replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"
