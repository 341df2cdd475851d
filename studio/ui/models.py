"""Models tab: every engine with its status, licence and memory; download, load and unload buttons."""
from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from pipelines.catalog import Engine
from pipelines.manager import EngineStatus
from studio.engines import Engines

from .context import UIContext
from .errors import require_engine, user_errors
from .fields import table as table_of

ENGINE_HEADERS = ["engine", "task", "status", "clones", "memory MB", "download MB", "revision", "licence",
                  "published figures", "notes"]
ENGINE_WIDTHS = ["12%", "9%", "9%", "6%", "6%", "8%", "9%", "14%", "10%", "17%"]
STATE_LABELS = {"loaded": "● loaded", "embedded": "offline (embedded)", "cached": "downloaded",
                "not downloaded": "needs download", "not installed": "not installed"}


def engine_rows(statuses: list[EngineStatus]) -> list[list]:
    rows = []
    for s in statuses:
        e = s.engine
        memory = f"{s.memory_mb:.0f}" if s.memory_mb is not None else f"~{e.memory_mb:.0f}"
        notes = f"GPU recommended. {e.notes}" if e.gpu else e.notes
        rows.append([e.id, e.task, STATE_LABELS[s.state], CLONES_LABELS.get(e.likeness, ""), memory,
                     download_size(s), revision_label(e), e.licence, e.published, notes])
    return rows


CLONES_LABELS = {"clone": "yes", "hint": "no (voice hint)"}


def download_size(status: EngineStatus) -> str:
    """What a download costs: the catalog's figure (files the loader reads, one copy of the weights), or the
    measured size once in the cache; gated repos say so."""
    e = status.engine
    if e.embedded:
        return "0 (in the package)"
    size = f"{status.disk_mb:.0f} on disk" if status.disk_mb is not None else f"~{e.download_mb:.0f}"
    return f"{size}, gated" if e.gated else size


def revision_label(engine: Engine) -> str:
    """The pinned commit (short), the package version of an embedded engine (and the revision of the code
    around it, apart: "0.3.5+matcher-2" broke mid-word in a narrow column), or that it is not pinned."""
    if engine.embedded:
        version = engine.package_version()
        label = f"package {version}" if version else "package not installed"
        return f"{label}, {engine.revision}" if engine.revision else label
    if engine.pinned:
        return f"pinned {engine.revision[:10] if engine.revision else ''}"
    return f"not pinned ({engine.revision})"


@dataclass
class ModelsTab:
    table: gr.Dataframe
    engine: gr.Dropdown
    download: gr.Button
    load: gr.Button
    unload: gr.Button
    status: gr.Markdown


class ModelHandlers:
    def __init__(self, engines: Engines) -> None:
        self.engines = engines

    @user_errors
    def list_engines(self):
        return engine_rows(self.engines.statuses())

    @user_errors
    def download_engine(self, engine_id, progress=gr.Progress()):
        result = self.engines.download(require_engine(engine_id), lambda f, text: progress(f, desc=text))
        return self.list_engines(), f"**{result.engine.name}**: {STATE_LABELS[result.state]}."

    @user_errors
    def load_engine(self, engine_id, progress=gr.Progress()):
        result = self.engines.load(require_engine(engine_id), lambda f, text: progress(f, desc=text))
        return self.list_engines(), (f"**{result.engine.name}** loaded in {result.load_seconds:.1f} s, "
                                     f"{result.memory_mb:.0f} MB.")

    @user_errors
    def unload_engine(self, engine_id):
        result = self.engines.unload(require_engine(engine_id))
        return self.list_engines(), f"**{result.engine.name}**: {STATE_LABELS[result.state]}."


def render(ctx: UIContext) -> ModelsTab:
    gr.Markdown("Engines load on first use. Embedded engines work offline; others download once from "
                "the Hugging Face Hub into its cache.")
    table = table_of(ENGINE_HEADERS, "models-table", ENGINE_WIDTHS, max_height=2400)  # every engine, no scrolling
    with gr.Row():
        engine = gr.Dropdown(ctx.studio.engines.all_ids(), label="Engine", scale=3, elem_id="models-engine")
        download = gr.Button("Download", scale=1)
        load = gr.Button("Load", scale=1, elem_id="models-load")
        unload = gr.Button("Unload", scale=1)
    status = gr.Markdown(elem_id="models-status")
    return ModelsTab(table, engine, download, load, unload, status)


def listen(ctx: UIContext, tab: ModelsTab) -> None:
    handle = ModelHandlers(ctx.studio.engines)
    outputs = [tab.table, tab.status]
    tab.download.click(handle.download_engine, tab.engine, outputs, api_name="download_engine")
    tab.load.click(handle.load_engine, tab.engine, outputs, api_name="load_engine", **ctx.gpu)
    tab.unload.click(handle.unload_engine, tab.engine, outputs, api_name="unload_engine")
    ctx.page_load.then(handle.list_engines, [], [tab.table], api_name="list_engines")
