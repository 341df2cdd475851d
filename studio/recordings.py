"""Recordings people bring in (takes, references, uploads to enhance), loaded with the checks that make the
refusal say what is actually wrong: a file too short to be a take, real sound that is merely too quiet
(with its level, so the person knows how far off it is) apart from a dead microphone (no sound at all)."""
from __future__ import annotations

from pipelines import audio as au

MIN_TAKE_SECONDS = 0.1
DEAD_DBFS = -90.0  # below this there is no sound at all: a muted or unplugged microphone


def load_recording(source: au.AudioSource, *, max_seconds: float, min_seconds: float = MIN_TAKE_SECONDS,
                   what: str = "The recording") -> au.Audio:
    """Decoded mono audio of at least `min_seconds` and audible; au.AudioError saying why not."""
    audio = au.load(source, max_seconds=max_seconds, allow_silent=True)
    if audio.duration < min_seconds:
        raise au.AudioError(f"{what} lasts only {audio.duration * 1000:.0f} ms; it must last at least "
                            f"{min_seconds:g} s.")
    peak = au.peak_dbfs(audio)
    if peak < DEAD_DBFS:
        raise au.AudioError(f"{what} is silent: there is no sound in it at all. Check that the microphone is "
                            "connected and not muted.")
    if au.is_silent(audio):
        raise au.AudioError(f"{what} is too quiet: its loudest moment is {peak:.0f} dBFS, and a usable recording "
                            f"peaks above {au.SILENCE_DBFS:.0f} dBFS. Raise the input level (or record closer to "
                            "the microphone), or amplify the file, and try again.")
    return audio
