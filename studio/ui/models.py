"""Models tab: every engine with its status, licence and memory; download, load and unload buttons."""
from __future__ import annotations

import gradio as gr

from pipelines.manager import EngineStatus
from studio.service import Studio

from .errors import require_engine, user_errors

ENGINE_HEADERS = ["engine", "task", "status", "clones", "memory MB", "download MB", "GPU", "licence", "notes"]
STATE_LABELS = {"loaded": "● loaded", "embedded": "offline (embedded)", "cached": "downloaded",
                "not downloaded": "needs download", "not installed": "not installed"}


def engine_rows(statuses: list[EngineStatus]) -> list[list]:
    rows = []
    for s in statuses:
        e = s.engine
        memory = f"{s.memory_mb:.0f}" if s.memory_mb is not None else f"~{e.memory_mb:.0f}"
        rows.append([e.id, e.task, STATE_LABELS[s.state], "yes" if e.clones else "", memory,
                     "0" if e.embedded else f"{e.download_mb:.0f}", "recommended" if e.gpu else "",
                     e.licence, e.notes])
    return rows


def render(studio: Studio) -> dict:
    gr.Markdown("Engines load on first use. Embedded engines work offline; others download once from "
                "the Hugging Face Hub into its cache.")
    table = gr.Dataframe(headers=ENGINE_HEADERS, interactive=False, elem_id="models-table", wrap=True)
    with gr.Row():
        engine = gr.Dropdown([e.id for e in studio.models.catalog], label="Engine", scale=3, elem_id="models-engine")
        download = gr.Button("Download", scale=1)
        load = gr.Button("Load", scale=1, elem_id="models-load")
        unload = gr.Button("Unload", scale=1)
    status = gr.Markdown(elem_id="models-status")

    @user_errors
    def list_engines():
        return engine_rows(studio.engines.statuses())

    @user_errors
    def download_engine(engine_id, progress=gr.Progress()):
        result = studio.engines.download(require_engine(engine_id), lambda f, text: progress(f, desc=text))
        return engine_rows(studio.engines.statuses()), f"**{result.engine.name}**: {STATE_LABELS[result.state]}."

    @user_errors
    def load_engine(engine_id, progress=gr.Progress()):
        result = studio.engines.load(require_engine(engine_id), lambda f, text: progress(f, desc=text))
        return engine_rows(studio.engines.statuses()), (f"**{result.engine.name}** loaded in {result.load_seconds:.1f} s, "
                                               f"{result.memory_mb:.0f} MB.")

    @user_errors
    def unload_engine(engine_id):
        result = studio.engines.unload(require_engine(engine_id))
        return engine_rows(studio.engines.statuses()), f"**{result.engine.name}**: {STATE_LABELS[result.state]}."

    download.click(download_engine, engine, [table, status], api_name="download_engine")
    load.click(load_engine, engine, [table, status], api_name="load_engine")
    unload.click(unload_engine, engine, [table, status], api_name="unload_engine")
    return {"table": table, "refresh": list_engines}
