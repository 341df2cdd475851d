"""Sounds tab: bring in sound files (effects, beds) and put one under a narration take, ducked under the speech."""
from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from pipelines.sound.placement import Placement
from studio.engines import Engines
from studio.sound_generation import MAX_CANDIDATES, Generated, SoundGeneration, SoundRequest
from studio.sounds import SOUND_KIND, PlaceRequest, PlaceResult, Sounds
from studio.takes import Takes

from .cancellation import cancellable, current_token
from .choices import PICKER_LIMIT, engine_choices, take_choices
from .context import UIContext
from .errors import require_engine, require_id, user_errors
from .fields import optional_box, parse_optional, parse_seed
from .playback import playable, player

OFFLINE_NOTE = ("No text-to-audio model is on this machine yet: download one in the Models tab (several GB, and a "
                "GPU is advised), or bring your own sound files below. Either way each sound is kept as a "
                "*sound* take.")
READY_NOTE = "Each candidate is kept as a *sound* take; pick one by ear, then place it under a narration."


def engine_note(statuses) -> str:
    """Says plainly, before anyone presses Generate, whether a text-to-audio model can run here."""
    usable = [s for s in statuses if s.engine.task == "sound" and s.state in ("loaded", "cached", "embedded")]
    return READY_NOTE if usable else OFFLINE_NOTE


def generated_report(result: Generated) -> str:
    best = result.candidates[0].take
    lines = [f"Made {len(result.candidates)} candidate{'s' if len(result.candidates) > 1 else ''} with "
             f"**{best.engine_id}** for “{best.text}”: "
             + ", ".join(f"#{c.take.id}" for c in result.candidates) + "."]
    if result.ranked_by:
        lines.append(f"Ranked by how well they match the prompt ({result.ranked_by}); the best is chosen.")
    lines += [f"- {notice}" for notice in result.notices]
    return "\n\n".join(lines)


def candidate_choices(result: Generated) -> list[tuple[str, int]]:
    def label(c) -> str:
        score = f" · match {c.similarity:.2f}" if c.similarity is not None else ""
        return f"#{c.take.id} · seed {c.take.seed} · {c.take.duration:.1f} s{score}"
    return [(label(c), c.take.id) for c in result.candidates]


def place_report(result: PlaceResult) -> str:
    placed = result.placed
    lines = [f"Saved as take **#{result.take.id}** (narration #{result.take.parent_id} with sound "
             f"#{result.take.parameters['sound_take']}).", "",
             f"- The sound plays from {placed.start_s:.2f} s to {placed.end_s:.2f} s.",
             f"- Lowered by {result.take.parameters['placement']['duck_db']:g} dB under speech "
             f"({len(result.speech)} stretch{'es' if len(result.speech) != 1 else ''} of speech found)."]
    lines += [f"- {notice}" for notice in result.notices]
    return "\n".join(lines)


@dataclass
class SoundsTab:
    engine: gr.Dropdown
    engine_note: gr.Markdown
    prompt: gr.Textbox
    seconds: gr.Number
    count: gr.Slider
    seed: gr.Textbox
    steps: gr.Textbox
    guidance: gr.Textbox
    seamless: gr.Checkbox
    generate: gr.Button
    candidates: gr.Radio
    audition: gr.Audio
    upload: gr.File
    name: gr.Textbox
    add: gr.Button
    narration: gr.Dropdown
    sound: gr.Dropdown
    at_s: gr.Number
    at_word: gr.Textbox
    length_s: gr.Textbox
    loop: gr.Checkbox
    gain_db: gr.Slider
    duck_db: gr.Slider
    fade_in_s: gr.Number
    fade_out_s: gr.Number
    run: gr.Button
    report: gr.Markdown
    mix: gr.Audio


class SoundHandlers:
    def __init__(self, sounds: Sounds, generation: SoundGeneration, takes: Takes, engines: Engines) -> None:
        self.sounds, self.generation, self.takes, self.engines = sounds, generation, takes, engines

    @user_errors
    def list_engines(self):
        statuses = self.engines.statuses()
        return gr.update(choices=engine_choices(statuses, "sound")), engine_note(statuses)

    @cancellable
    @user_errors
    def generate(self, project_id, engine_id, prompt, seconds, count, seed, steps, guidance, seamless,
                 progress=gr.Progress()):
        request = SoundRequest(
            int(project_id), prompt or "", require_engine(engine_id),
            seconds=float(seconds if seconds is not None else 5.0), seed=parse_seed(seed),
            steps=parse_optional(steps, "Steps", whole=True), guidance=parse_optional(guidance, "Guidance"),
            candidates=int(count or 1), loop=bool(seamless))
        result = self.generation.generate(request, progress=lambda f, text: progress(f, desc=text),
                                          cancel=current_token())
        best = result.candidates[0].take
        sounds, narrations = self._take_pickers(project_id)
        return (gr.update(choices=candidate_choices(result), value=best.id), gr.update(choices=sounds, value=best.id),
                gr.update(choices=narrations), generated_report(result), self._playable(best.id, project_id))

    @user_errors
    def audition(self, project_id, take_id):
        """A candidate chosen: heard at once, and made the sound to place."""
        if take_id in (None, ""):
            return None, gr.update()
        return self._playable(int(take_id), project_id), gr.update(value=int(take_id))

    def _playable(self, take_id: int, project_id):
        return playable(self.takes.audio(take_id, project_id=int(project_id)))

    def _take_pickers(self, project_id) -> tuple[list, list]:
        recent = self.takes.list(int(project_id), page_size=PICKER_LIMIT)
        return (take_choices([t for t in recent if t.kind == SOUND_KIND]),
                take_choices([t for t in recent if t.kind != SOUND_KIND]))

    @user_errors
    def pickers(self, project_id):
        """Narrations (every take but sounds) and sounds, newest first."""
        sounds, narrations = self._take_pickers(project_id)
        return gr.update(choices=narrations), gr.update(choices=sounds)

    @user_errors
    def add_sound(self, project_id, path, name):
        if not path:
            raise ValueError("Choose a sound file to add.")
        take = self.sounds.import_sound(int(project_id), path, (name or "").strip() or None)
        sounds, narrations = self._take_pickers(project_id)
        return (gr.update(choices=sounds, value=take.id), gr.update(choices=narrations),
                f"Added sound take **#{take.id}**.")

    @cancellable
    @user_errors
    def place(self, project_id, narration_id, sound_id, at_s, at_word, length_s, loop, gain_db, duck_db, fade_in_s,
              fade_out_s, progress=gr.Progress()):
        narration = require_id(narration_id, "Choose the narration take to put the sound under.")
        sound = require_id(sound_id, "Choose a sound (add one above).")
        placement = Placement(at_s=float(at_s or 0.0), length_s=parse_optional(length_s, "Length"),
                              loop=bool(loop), gain_db=float(gain_db), duck_db=float(duck_db),
                              fade_in_s=float(fade_in_s or 0.0), fade_out_s=float(fade_out_s or 0.0))
        word = parse_optional(at_word, "The word number", whole=True)
        result = self.sounds.place(PlaceRequest(int(project_id), narration, sound, placement, word),
                                   progress=lambda f, text: progress(f, desc=text), cancel=current_token())
        return playable(result.placed.audio), place_report(result)


def render(ctx: UIContext) -> SoundsTab:
    with gr.Row():
        with gr.Column(scale=1):
            gr.Markdown("### Make a sound from a description")
            statuses = ctx.studio.engines.statuses()
            engine = gr.Dropdown(engine_choices(statuses, "sound"), value=None, label="Engine", elem_id="sound-engine")
            note = gr.Markdown(engine_note(statuses), elem_id="sound-engine-note")
            prompt = gr.Textbox(label="Describe the sound", placeholder="rain on a tin roof, distant thunder",
                                elem_id="sound-prompt", lines=2)
            with gr.Row():
                seconds = gr.Number(5.0, label="Length (s)", minimum=0.5, elem_id="sound-seconds")
                count = gr.Slider(1, MAX_CANDIDATES, value=2, step=1, label="Candidates", elem_id="sound-count")
            with gr.Row():
                seed = optional_box("Seed", "empty = random", "sound-seed")
                steps = optional_box("Steps", "empty = the engine's", "sound-steps")
                guidance = optional_box("Guidance", "empty = the engine's", "sound-guidance")
            seamless = gr.Checkbox(False, label="Seamless loop (for beds repeated under a narration)")
            generate = gr.Button("Generate", elem_id="sound-generate")
            gr.Markdown("### …or bring your own")
            upload = gr.File(label="Sound file", type="filepath", elem_id="sound-upload")
            name = gr.Textbox(label="What it is", placeholder="rain on a window", elem_id="sound-name")
            add = gr.Button("Add sound", elem_id="sound-add")
            narration = gr.Dropdown(label="Narration take", choices=[], elem_id="sound-narration",
                                    allow_custom_value=True)
            sound = gr.Dropdown(label="Sound", choices=[], elem_id="sound-sound", allow_custom_value=True)
            with gr.Row():
                at_s = gr.Number(0.0, label="Start (s)", minimum=0, elem_id="sound-at")
                at_word = optional_box("…or at word no. (from 0)", "empty = use the time", "sound-word")
            with gr.Row():
                length_s = optional_box("Length (s)", "empty = the sound's own", "sound-length")
                loop = gr.Checkbox(False, label="Loop to the length (or to the end)")
            gain_db = gr.Slider(-40, 12, value=0, step=0.5, label="Sound level (dB)")
            duck_db = gr.Slider(0, 40, value=12, step=0.5, label="Lower under speech by (dB)", elem_id="sound-duck")
            with gr.Row():
                fade_in_s = gr.Number(0.05, label="Fade in (s)", minimum=0)
                fade_out_s = gr.Number(0.5, label="Fade out (s)", minimum=0)
            run = gr.Button("Place under the narration", variant="primary", elem_id="sound-place")
        with gr.Column(scale=2):
            candidates = gr.Radio(label="Candidates (best match first)", choices=[], elem_id="sound-candidates")
            audition = player("Candidate", "sound-audition")
            mix = player("Mix", "sound-mix")
            report = gr.Markdown(elem_id="sound-report")
    return SoundsTab(engine, note, prompt, seconds, count, seed, steps, guidance, seamless, generate, candidates,
                     audition, upload, name, add, narration, sound, at_s, at_word, length_s, loop, gain_db, duck_db,
                     fade_in_s, fade_out_s, run, report, mix)


def listen(ctx: UIContext, tab: SoundsTab) -> None:
    studio = ctx.studio
    handle, project = SoundHandlers(studio.sounds, studio.sound_generation, studio.takes, studio.engines), ctx.project
    generated = tab.generate.click(
        handle.generate, [project, tab.engine, tab.prompt, tab.seconds, tab.count, tab.seed, tab.steps, tab.guidance,
                          tab.seamless],
        [tab.candidates, tab.sound, tab.narration, tab.report, tab.audition], api_name="generate_sound",
        show_progress_on=tab.report, **ctx.gpu)
    tab.candidates.input(handle.audition, [project, tab.candidates], [tab.audition, tab.sound],
                         api_visibility="private")
    added = tab.add.click(handle.add_sound, [project, tab.upload, tab.name], [tab.sound, tab.narration, tab.report],
                          api_name="add_sound")
    placed = tab.run.click(
        handle.place, [project, tab.narration, tab.sound, tab.at_s, tab.at_word, tab.length_s, tab.loop, tab.gain_db,
                       tab.duck_db, tab.fade_in_s, tab.fade_out_s],
        [tab.mix, tab.report], api_name="place_sound", show_progress_on=tab.report, **ctx.gpu)
    project.change(handle.pickers, project, [tab.narration, tab.sound], api_visibility="private")
    ctx.takes_changed.raised_by("sounds", added, placed, generated)
    ctx.takes_changed.follow("sounds", handle.pickers, [project], [tab.narration, tab.sound])
    ctx.page_load.then(handle.pickers, [project], [tab.narration, tab.sound])
    ctx.page_load.then(handle.list_engines, [], [tab.engine, tab.engine_note])
