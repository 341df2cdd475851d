"""Delivery targets: what a platform accepts (loudness, peak ceiling, noise floor), and the reports that
say whether a clip meets one."""
from __future__ import annotations

from dataclasses import dataclass

from ..audio import Audio

__all__ = ["LevelReport", "Criterion", "DeliveryTarget", "TARGETS", "MasteringResult", "delivery_target"]


@dataclass(frozen=True)
class LevelReport:
    """The numbers a delivery spec is written in, for one clip. Silent measurements are -inf."""

    integrated_lufs: float  # ITU-R BS.1770-4 gated loudness
    true_peak_dbfs: float  # 4x-oversampled peak (dBTP): what a DAC or a lossy encoder will reach
    sample_peak_dbfs: float
    rms_db: float  # unweighted RMS of the whole clip, as ACX measures it
    noise_floor_db: float  # RMS of the quietest 10 % of 50 ms frames: the room tone in the pauses
    duration: float  # seconds

    def describe(self) -> str:
        """One line for a UI or a log."""
        return (f"{self.integrated_lufs:.1f} LUFS, true peak {self.true_peak_dbfs:.1f} dBTP, "
                f"peak {self.sample_peak_dbfs:.1f} dBFS, RMS {self.rms_db:.1f} dB, "
                f"noise floor {self.noise_floor_db:.1f} dB, {self.duration:.1f} s")


@dataclass(frozen=True)
class Criterion:
    """One line of a delivery spec checked against a clip: what was measured, what is allowed, and the verdict,
    so a person sees which requirement a clip misses and by how much, not just that it misses."""

    name: str  # "Loudness", "True peak", ...
    measured: float
    unit: str
    allowed: str  # the requirement as written, e.g. "-17..-15" or "at most -1"
    met: bool
    problem: str  # how the clip misses it, as a sentence (meaningful when not met)

    def describe(self) -> str:
        verdict = "met" if self.met else "missed"
        return f"{self.name}: {self.measured:.1f} {self.unit} (allowed {self.allowed} {self.unit}) - {verdict}"


@dataclass(frozen=True)
class DeliveryTarget:
    """What a platform accepts. The level is either integrated loudness (`level_kind` "lufs") or whole-file
    RMS ("rms", ACX); `level_db` is where mastering aims inside [`level_min_db`, `level_max_db`]."""

    name: str
    description: str
    level_kind: str
    level_db: float
    level_min_db: float
    level_max_db: float
    true_peak_max_dbfs: float  # the limiter's ceiling; also bounds the sample peak
    sample_peak_max_dbfs: float | None = None
    noise_floor_max_db: float | None = None
    room_tone_s: float = 0.1  # how much lead-in / tail is kept when trimming silence at the ends

    def __post_init__(self) -> None:
        if self.level_kind not in ("lufs", "rms"):
            raise ValueError(f"level_kind must be 'lufs' or 'rms', got {self.level_kind!r}.")
        if not self.level_min_db <= self.level_db <= self.level_max_db:
            raise ValueError(f"level_db {self.level_db} must lie in [{self.level_min_db}, {self.level_max_db}].")
        if not -60.0 <= self.true_peak_max_dbfs <= 0.0:
            raise ValueError(f"true_peak_max_dbfs must be in [-60, 0] dBFS, got {self.true_peak_max_dbfs}.")

    def level(self, report: LevelReport) -> float:
        """The level this target is specified in, read from a report."""
        return report.integrated_lufs if self.level_kind == "lufs" else report.rms_db

    def criteria(self, report: LevelReport) -> tuple[Criterion, ...]:
        """Every requirement of this target with the clip's measurement and a pass/fail verdict each."""
        unit = "LUFS" if self.level_kind == "lufs" else "dB RMS"
        level, true_peak = self.level(report), report.true_peak_dbfs
        lo, hi = self.level_min_db, self.level_max_db
        rows = [
            Criterion("Loudness" if self.level_kind == "lufs" else "RMS level", level, unit, f"{lo:g}..{hi:g}",
                      lo <= level <= hi, f"level {level:.1f} {unit} is outside {lo:g}..{hi:g} {unit}"),
            Criterion("True peak", true_peak, "dBTP", f"at most {self.true_peak_max_dbfs:g}",
                      true_peak <= self.true_peak_max_dbfs,
                      f"true peak {true_peak:.2f} dBTP is above {self.true_peak_max_dbfs:g} dBTP"),
        ]
        if (ceiling := self.sample_peak_max_dbfs) is not None:
            peak = report.sample_peak_dbfs
            rows.append(Criterion("Sample peak", peak, "dBFS", f"at most {ceiling:g}", peak <= ceiling,
                                  f"peak {peak:.2f} dBFS is above {ceiling:g} dBFS"))
        if (floor := self.noise_floor_max_db) is not None:
            noise = report.noise_floor_db
            rows.append(Criterion("Noise floor", noise, "dB", f"at most {floor:g}", noise <= floor,
                                  f"noise floor {noise:.1f} dB is above {floor:g} dB"))
        return tuple(rows)

    def check(self, report: LevelReport) -> tuple[str, ...]:
        """Every way `report` misses this target, as readable sentences; empty when it is met."""
        return tuple(c.problem for c in self.criteria(report) if not c.met)


TARGETS: dict[str, DeliveryTarget] = {
    "podcast": DeliveryTarget(
        name="podcast", description="Podcast / streaming: -16 LUFS integrated, true peak at most -1 dBTP",
        level_kind="lufs", level_db=-16.0, level_min_db=-17.0, level_max_db=-15.0, true_peak_max_dbfs=-1.0),
    "broadcast": DeliveryTarget(
        name="broadcast", description="Broadcast (EBU R128): -23 LUFS +-0.5 LU, true peak at most -1 dBTP",
        level_kind="lufs", level_db=-23.0, level_min_db=-23.5, level_max_db=-22.5, true_peak_max_dbfs=-1.0),
    "audiobook": DeliveryTarget(
        name="audiobook",
        description="Audiobook (ACX): RMS -23..-18 dB, peak at most -3 dBFS, noise floor at most -60 dB",
        level_kind="rms", level_db=-20.5, level_min_db=-23.0, level_max_db=-18.0, true_peak_max_dbfs=-3.0,
        sample_peak_max_dbfs=-3.0, noise_floor_max_db=-60.0, room_tone_s=1.0),  # ACX wants room tone at the ends
}


@dataclass(frozen=True, eq=False)
class MasteringResult:
    """The mastered clip, its levels before and after, and how the chain got there."""

    audio: Audio
    before: LevelReport
    after: LevelReport
    target: DeliveryTarget
    gain_db: float  # the static gain applied after the high-pass
    gate_depth_db: float  # how far the expander pulled the pauses down (0: not needed)
    problems: tuple[str, ...]  # what is still off target (target.check(after)); empty when met

    @property
    def met(self) -> bool:
        return not self.problems


def delivery_target(target: str | DeliveryTarget) -> DeliveryTarget:
    """The target named `target` (or `target` itself); ValueError naming the valid ones otherwise."""
    if isinstance(target, DeliveryTarget):
        return target
    key = str(target).strip().lower()
    if key not in TARGETS:
        raise ValueError(f"Unknown delivery target {target!r}; choose one of: {', '.join(TARGETS)}.")
    return TARGETS[key]
