"""Long-form narration over any `SpeakPipeline`: split a script, speak it chunk by chunk, join the chunks.

Engines are trained on sentence-length utterances and degrade (or refuse) on long text, so a script is
split into paragraphs, sentences and, where a sentence is still too long, clauses or word runs. Each
chunk is spoken with its own seed derived from the narration's seed and the chunk's index: reruns are
identical, and one chunk can be redone without touching the others. Chunks are trimmed at the edges,
brought to one loudness, and followed by the pause the settings ask for (longer after a paragraph, or
exactly what a `[pause 0.8s]` mark in the script says). `Narrator.events` reports each chunk as soon as it
is synthesised, so playback can start after the first sentence (or, when that sentence is long, after its
first clause); an optional `QualityGate` scores chunks on its own thread meanwhile, regenerates those that
fail its checks behind the player and reports every attempt, so the studio can keep them all as takes.

script: splitting a script into segments. planning: the chunks a narration will have. narrator: speaking
them. chunks: what a narration produces. live: the gate's scoring thread and when retries are spoken.
"""
from ..audio import match_loudness
from ..scoring import Attempt
from .chunks import NarrationChunk, NarrationEvent, in_order
from .live import RETRY_LEAD_S, ScoringWorker
from .narrator import RETRY_SPEED_STEP, Narrator, chunk_seed, surround
from .planning import NarrationSettings, PlannedChunk, plan_chunks
from .script import DEFAULT_MAX_CHARS, MAX_PAUSE_S, Segment, parse_pause, split

__all__ = ["Segment", "split", "parse_pause", "NarrationSettings", "PlannedChunk", "plan_chunks", "NarrationChunk",
           "NarrationEvent", "in_order", "ScoringWorker", "RETRY_LEAD_S", "RETRY_SPEED_STEP", "Narrator", "Attempt", "chunk_seed", "match_loudness", "surround", "DEFAULT_MAX_CHARS", "MAX_PAUSE_S"]
