"""Assembles the tabs into one Gradio app and launches it; each tab lives in its own module."""
from __future__ import annotations

import gradio as gr

from studio.config import Settings
from studio.service import Studio

from . import edit, enhance, models, projects, speak, takes, voices
from .cancellation import cancel_session

TITLE = "Retake"
INTRO = "Clone a voice from a few seconds of speech, narrate, fix recordings by editing words, keep it all in a project."


def build_app(studio: Studio) -> gr.Blocks:
    with gr.Blocks(title=TITLE, analytics_enabled=False) as demo:
        with gr.Row():
            gr.Markdown(f"# {TITLE}\n{INTRO}")
            project = projects.render_picker(studio)
        with gr.Tabs():
            with gr.Tab("Speak", id="speak"):
                speak_tab = speak.render(studio, project)
            with gr.Tab("Voices", id="voices"):
                voice_tab = voices.render(studio, project)
            with gr.Tab("Edit", id="edit"):
                edit_tab = edit.render(studio, project)
            with gr.Tab("Enhance", id="enhance"):
                enhance_tab = enhance.render(studio, project)
            with gr.Tab("Takes", id="takes"):
                take_tab = takes.render(studio, project)
            with gr.Tab("Projects", id="projects"):
                refresh_projects = projects.render_tab(studio, project)
            with gr.Tab("Models", id="models"):
                model_tab = models.render(studio)
        # Voices made, renamed or deleted on the Voices tab show up in the Speak tab's picker at once.
        voice_tab["table"].change(speak_tab["refresh"], project, speak_tab["voice"], api_name=False)
        # Takes spoken, fixed or edited on the Speak and Edit tabs show up in the Takes tab's list at once.
        for saved in speak_tab["saved"] + edit_tab["saved"]:
            saved.success(take_tab["refresh"], take_tab["filters"], take_tab["outputs"], api_name=False)
        # A reload shows projects made by others since the page was built, then fills the tabs.
        demo.load(refresh_projects, project, project, api_name=False).then(
            voice_tab["refresh"], project, [voice_tab["table"], voice_tab["selected"]], api_name=False
        ).then(take_tab["refresh"], take_tab["filters"], take_tab["outputs"], api_name=False
        ).then(enhance_tab["refresh"], project, enhance_tab["take"], api_name=False
        ).then(edit_tab["refresh"], project, [edit_tab["take"], edit_tab["join"]], api_name=False
        ).then(speak_tab["refresh"], project, speak_tab["voice"], api_name=False
        ).then(speak_tab["engines"], None, speak_tab["engine"], api_name=False
        ).then(speak_tab["takes"], project, speak_tab["pickers"], api_name=False
        ).then(model_tab["refresh"], None, model_tab["table"], api_name="list_engines")
        # A closed tab stops its running jobs (edits, narrations, exports...) at their next checkpoint.
        demo.unload(cancel_session)
    demo.queue(default_concurrency_limit=2)
    return demo


def launch(studio: Studio, settings: Settings, **kwargs) -> tuple:
    """Start serving; the cache directory must be allowed so downloads and exports reach the browser."""
    settings.cache_dir.mkdir(parents=True, exist_ok=True)
    demo = build_app(studio)
    options = dict(
        server_name=settings.host,
        server_port=settings.port,
        auth=settings.auth,
        allowed_paths=[str(settings.cache_dir)],
        max_file_size=f"{settings.max_upload_mb}mb",
        show_error=True,
    )
    options.update(kwargs)
    return demo, demo.launch(**options)
