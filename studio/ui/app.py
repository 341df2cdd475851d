"""Assembles the tabs into one Gradio app and launches it; each tab lives in its own module."""
from __future__ import annotations

from typing import cast

import gradio as gr

from studio import openai_api
from studio.config import Settings
from studio.service import Studio
from studio.users import RoutedStudio

from . import account, convert, edit, enhance, models, projects, scripts, sounds, speak, takes, voices
from .cancellation import cancel_session
from .context import UIContext
from .fields import TABLE_CSS

TITLE = "Retake"
INTRO = ("Clone a voice from a few seconds of speech, narrate, fix recordings by editing words, keep it all in a "
         "project.")


def build_app(studio: Studio | RoutedStudio) -> gr.Blocks:
    """The studio's page. Given a `RoutedStudio` (a shared server), every event runs on the signed-in user's
    own studio, and a header says who is signed in and what is left of their quotas."""
    settings = studio.settings
    signed_in = studio.signed_in if isinstance(studio, RoutedStudio) else (lambda: True)
    # Gradio's copies of files handed to browsers (players, downloads) are deleted after a day, hourly.
    with gr.Blocks(title=TITLE, analytics_enabled=False, delete_cache=(3600, 86400)) as demo:
        with gr.Row():
            gr.Markdown(f"# {TITLE}\n{INTRO}")
            project = projects.render_picker(cast(Studio, studio).projects)
        if settings.multi_user:
            account.render(demo, cast(Studio, studio), oauth=settings.oauth)
        ctx = UIContext(cast(Studio, studio), project, gpu_concurrency=settings.gpu_concurrency,
                        signed_in=signed_in)
        with gr.Tabs():
            with gr.Tab("Speak", id="speak"):
                speak_tab = speak.render(ctx)
            with gr.Tab("Voices", id="voices"):
                voice_tab = voices.render(ctx)
            with gr.Tab("Edit", id="edit"):
                edit_tab = edit.render(ctx)
            with gr.Tab("Convert", id="convert"):
                convert_tab = convert.render(ctx)
            with gr.Tab("Enhance", id="enhance"):
                enhance_tab = enhance.render(ctx)
            with gr.Tab("Sounds", id="sounds"):
                sound_tab = sounds.render(ctx)
            with gr.Tab("Scripts", id="scripts"):
                script_tab = scripts.render(ctx)
            with gr.Tab("Takes", id="takes"):
                take_tab = takes.render(ctx)
            with gr.Tab("Projects", id="projects"):
                project_tab = projects.render(ctx)
            with gr.Tab("Models", id="models"):
                model_tab = models.render(ctx)
        # The project list refreshes first when a page loads; the other tabs fill after it, in this order.
        projects.listen(ctx, project_tab)
        voices.listen(ctx, voice_tab)
        takes.listen(ctx, take_tab)
        enhance.listen(ctx, enhance_tab)
        convert.listen(ctx, convert_tab)
        sounds.listen(ctx, sound_tab)
        scripts.listen(ctx, script_tab)
        edit.listen(ctx, edit_tab)
        speak.listen(ctx, speak_tab)
        models.listen(ctx, model_tab)
        # Voices and takes made on one tab show up on the others at once.
        ctx.connect(demo)
        # A closed tab stops its running jobs (edits, narrations, exports...) at their next checkpoint.
        demo.unload(cancel_session)
    # Past `queue_size` waiting requests, Gradio answers at once that the studio is busy (HTTP 503 "queue_full";
    # the page shows "This application is currently busy") instead of letting visitors wait without end.
    demo.queue(default_concurrency_limit=2, max_size=settings.queue_size)
    if isinstance(studio, RoutedStudio):
        studio.building = False  # from now on every lookup needs a signed-in user
    return demo


def launch(studio: Studio | RoutedStudio, settings: Settings, **kwargs) -> tuple:
    """Start serving; the cache directory must be allowed so downloads and exports reach the browser. The
    OpenAI-compatible /v1 routes are given to the FastAPI app Gradio builds (before its own routes), so one
    server and port carry both, and `launch` keeps everything else `Blocks.launch` does."""
    settings.cache_dir.mkdir(parents=True, exist_ok=True)
    demo = build_app(studio)
    options = dict(
        server_name=settings.host,
        server_port=settings.port,
        auth=list(settings.users) if settings.users else settings.auth,
        # A shared server's per-user caches are never served by path: the browser gets Gradio's copies.
        allowed_paths=[] if settings.multi_user else [str(settings.cache_dir)],
        max_file_size=f"{settings.max_upload_mb}mb",
        show_error=True,
        css=TABLE_CSS,
        app_kwargs={"routes": openai_api.router(studio).routes},
    )
    options.update(kwargs)
    # Background jobs (a script's segments) run in the app unless workers run elsewhere; a shared server's
    # per-user studios start their own when they open.
    if settings.app_workers and isinstance(studio, Studio):
        studio.script_jobs.start_workers(settings.app_workers)
    return demo, demo.launch(**options)
