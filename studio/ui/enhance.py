"""Enhance tab: denoise and master a take or an upload, compare before and after, enhance a whole project."""
from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from studio.enhance import DEFAULT_DENOISER, NO_ENGINE, Enhance, EnhanceResult
from studio.takes import Takes

from .cancellation import cancellable, current_token
from .choices import engine_choices, take_picker
from .context import UIContext
from .errors import user_errors
from .playback import playable, player
from .spectrogram import spectrogram_figure

TARGET_CHOICES = [("Podcast (−16 LUFS)", "podcast"), ("Broadcast (EBU R128, −23 LUFS)", "broadcast"),
                  ("Audiobook (ACX)", "audiobook"), ("Keep level", "none")]


def level_report(result: EnhanceResult) -> str:
    rows = [("Integrated loudness", "LUFS", "integrated_lufs"), ("True peak", "dBTP", "true_peak_dbfs"),
            ("RMS", "dB", "rms_db"), ("Noise floor", "dB", "noise_floor_db")]
    lines = ["| | before | after |", "|---|---|---|"]
    for label, unit, field in rows:
        lines.append(f"| {label} ({unit}) | {getattr(result.before, field):.1f} | {getattr(result.after, field):.1f} |")
    text = f"Saved as take **#{result.take.id}** (from #{result.take.parent_id}).\n\n" + "\n".join(lines)
    scores, limit = result.take.scores, result.take.parameters.get("atten_limit_db")
    if scores.get("snr_before_db") is not None and limit is not None:
        text += (f"\n\nInput SNR about {scores['snr_before_db']:.0f} dB: the denoiser could take away at most "
                 f"{limit:.0f} dB" + (" (left as it was)." if limit == 0 else "."))
    if scores.get("asr_words_changed") is not None:
        text += (f" The recogniser's confidence in the words: {scores['asr_confidence_before']:.2f} before, "
                 f"{scores['asr_confidence_after']:.2f} after; {scores['asr_words_changed']:.0%} heard differently.")
    text += "".join(f"\n\n**{notice}**" for notice in result.notices)
    if result.criteria:
        verdicts = ["| requirement | measured | allowed | verdict |", "|---|---|---|---|"]
        verdicts += [f"| {c.name} | {c.measured:.1f} {c.unit} | {c.allowed} {c.unit} | "
                     f"{'✓ met' if c.met else '✗ missed'} |" for c in result.criteria]
        missed = sum(not c.met for c in result.criteria)
        headline = ("**Delivery target met.**" if not missed else
                    f"**Delivery target missed on {missed} of {len(result.criteria)} requirements.**")
        text += "\n\n" + headline + "\n\n" + "\n".join(verdicts)
    return text


def _target(target_id) -> str | None:
    return None if target_id == "none" else target_id


@dataclass
class EnhanceTab:
    take: gr.Dropdown
    upload: gr.Audio
    engine: gr.Dropdown
    target: gr.Dropdown
    run: gr.Button
    run_all: gr.Button
    report: gr.Markdown
    before: gr.Audio
    after: gr.Audio
    before_plot: gr.Plot
    after_plot: gr.Plot


class EnhanceHandlers:
    def __init__(self, enhance: Enhance, takes: Takes) -> None:
        self.enhancer, self.takes = enhance, takes

    @user_errors
    def list_sources(self, project_id):
        return take_picker(self.takes, project_id)

    @user_errors
    def more_sources(self, project_id):
        """Fresh choices that keep the take chosen (takes made on other tabs)."""
        return take_picker(self.takes, project_id, keep_choice=True)

    @cancellable
    @user_errors
    def enhance(self, project_id, take_id, path, engine_id, target_id, progress=gr.Progress()):
        if take_id in (None, "") and not path:
            raise ValueError("Choose a take or upload a recording to enhance.")
        result = self.enhancer.enhance(
            int(project_id), take_id=int(take_id) if take_id not in (None, "") and not path else None,
            source=path or None, engine_id=engine_id or NO_ENGINE, target=_target(target_id),
            progress=lambda f, text: progress(f, desc=text), cancel=current_token())
        return (playable(result.original), playable(result.enhanced),
                spectrogram_figure(result.original, "Before"), spectrogram_figure(result.enhanced, "After"),
                level_report(result), self.more_sources(project_id))  # the source stays chosen: try another target

    @cancellable
    @user_errors
    def enhance_all(self, project_id, engine_id, target_id, progress=gr.Progress()):
        takes = self.enhancer.enhance_all(int(project_id), engine_id=engine_id or NO_ENGINE,
                                          target=_target(target_id),
                                          progress=lambda f, text: progress(f, desc=text), cancel=current_token())
        return f"Enhanced {len(takes)} take(s) into new takes.", self.list_sources(project_id)


def render(ctx: UIContext) -> EnhanceTab:
    with gr.Row():
        with gr.Column(scale=1):
            take = gr.Dropdown(label="Take", choices=[], elem_id="enhance-take", allow_custom_value=True)
            upload = gr.Audio(label="…or upload a recording", sources=["upload", "microphone"], type="filepath",
                              elem_id="enhance-upload")
            engine = gr.Dropdown(engine_choices(ctx.studio.engines.statuses(), "enhance")
                                 + [("None (clean-up only)", NO_ENGINE)], value=DEFAULT_DENOISER, label="Denoiser")
            target = gr.Dropdown(TARGET_CHOICES, value="podcast", label="Delivery target")
            run = gr.Button("Enhance", variant="primary", elem_id="enhance-run")
            run_all = gr.Button("Enhance all takes of this project")
            report = gr.Markdown(elem_id="enhance-report")
        with gr.Column(scale=2):
            with gr.Row():
                before = player("Before")
                after = player("After", "enhance-after")
            before_plot = gr.Plot(label="Before", elem_id="enhance-before-plot")
            after_plot = gr.Plot(label="After", elem_id="enhance-after-plot")
    return EnhanceTab(take, upload, engine, target, run, run_all, report, before, after, before_plot, after_plot)


def listen(ctx: UIContext, tab: EnhanceTab) -> None:
    handle, project = EnhanceHandlers(ctx.studio.enhance, ctx.studio.takes), ctx.project
    enhanced = tab.run.click(handle.enhance, [project, tab.take, tab.upload, tab.engine, tab.target],
                             [tab.before, tab.after, tab.before_plot, tab.after_plot, tab.report, tab.take],
                             api_name="enhance", show_progress_on=tab.report, **ctx.gpu)
    enhanced_all = tab.run_all.click(handle.enhance_all, [project, tab.engine, tab.target], [tab.report, tab.take],
                                     api_name="enhance_all", show_progress_on=tab.report, **ctx.gpu)
    project.change(handle.list_sources, project, tab.take, api_name=False)
    ctx.takes_changed.raised_by("enhance", enhanced, enhanced_all)
    ctx.takes_changed.follow("enhance", handle.more_sources, [project], [tab.take])
    ctx.page_load.then(handle.more_sources, [project], [tab.take])  # keeps a take chosen meanwhile
