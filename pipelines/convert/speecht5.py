"""SpeechT5 voice conversion: re-speak a recording in the voice of a 512-d x-vector."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..audio import Audio, resample
from ..base import VoicePrompt, seeded_rng
from ..loading import load_model, load_part, pick_device, reject_unknown, require_folder, torch_dtype
from ..speak.speecht5 import check_speaker_encoder, load_vocoder, speaker_embedding, to_audio, vocode
from . import ConvertPipeline

MIN_SECONDS = 0.25  # the waveform encoder's convolutions need a few hundred samples to yield any frame
MAX_SECONDS = 60.0  # utterance-length model: attention cost and drift grow past this; split longer takes


class SpeechT5Convert(ConvertPipeline):
    """SpeechT5ForSpeechToSpeech (microsoft/speecht5_vc) + SpeechT5HifiGan (microsoft/speecht5_hifigan).

    Components: SpeechT5FeatureExtractor (normalises the 16 kHz waveform), the speech-to-mel transformer
    conditioned on a 512-d speaker x-vector, and the HiFi-GAN vocoder. Licence: code Apache-2.0
    (transformers), weights MIT. Trained on CMU ARCTIC (English speakers); 16 kHz in and out.
    The target voice comes from `voice.embeddings["wavlm-base-plus-sv"]` or, failing that, from the
    optional `speaker_encoder` run on the voice's clips.

    The decoder decides when to stop by itself; the output is kept between `min_length_ratio` and
    `max_length_ratio` times the input's duration so a misfiring stop token can neither cut the words
    off nor babble on.
    """

    def __init__(self, model: Any, vocoder: Any, feature_extractor: Any, *, device: str = "cpu",
                 speaker_encoder: Any = None, min_length_ratio: float = 0.5, max_length_ratio: float = 2.0,
                 threshold: float = 0.5) -> None:
        self.model = model
        self.vocoder = vocoder
        self.feature_extractor = feature_extractor
        self.device = device
        self.speaker_encoder = speaker_encoder
        self.min_length_ratio = min_length_ratio
        self.max_length_ratio = max_length_ratio
        self.threshold = threshold

    @classmethod
    def from_pretrained(cls, model_path: str | Path | None, *, vocoder_path: str | Path | None = None,
                        device: str = "cpu", dtype: str | None = None, speaker_encoder: Any = None,
                        min_length_ratio: float = 0.5, max_length_ratio: float = 2.0, threshold: float = 0.5,
                        **options: Any) -> "SpeechT5Convert":
        """`model_path`: the microsoft/speecht5_vc folder; `vocoder_path`: the microsoft/speecht5_hifigan
        folder. `threshold`: stop-token probability that ends the output."""
        reject_unknown("SpeechT5Convert.from_pretrained", options)
        if not 0.0 < min_length_ratio <= max_length_ratio:
            raise ValueError(f"length ratios must satisfy 0 < min_length_ratio <= max_length_ratio, got "
                             f"{min_length_ratio} and {max_length_ratio}.")
        if not 0.0 < threshold < 1.0:
            raise ValueError(f"threshold={threshold!r} must be a probability strictly between 0 and 1.")
        from transformers import SpeechT5FeatureExtractor, SpeechT5ForSpeechToSpeech

        folder = require_folder(model_path, "microsoft/speecht5_vc")
        device = pick_device(device)
        precision = torch_dtype(device, dtype)
        model = load_model(SpeechT5ForSpeechToSpeech, folder, device=device, dtype=precision)
        features = load_part(SpeechT5FeatureExtractor, folder)
        vocoder = load_vocoder(vocoder_path, device)
        check_speaker_encoder(speaker_encoder, model.config.speaker_embedding_dim)
        return cls(model, vocoder, features, device=device, speaker_encoder=speaker_encoder,
                   min_length_ratio=min_length_ratio, max_length_ratio=max_length_ratio, threshold=threshold)

    @property
    def sample_rate(self) -> int:
        return int(self.feature_extractor.sampling_rate)

    @property
    def max_seconds(self) -> float:
        """Longest input whose longest allowed output still fits the decoder's position table."""
        config = self.model.config
        fits = (config.max_speech_positions - 1) * config.reduction_factor * self._hop / self.sample_rate
        return min(MAX_SECONDS, fits / self.max_length_ratio)

    @property
    def _hop(self) -> int:
        """Audio samples per mel frame, which the vocoder's upsampling restores."""
        return int(np.prod(self.vocoder.config.upsample_rates))

    def __call__(self, audio: Audio, *, voice: VoicePrompt, seed: int | None = None) -> Audio:
        """`audio`'s words in `voice`. Decoder-prenet dropout stays on at inference, so it is seeded."""
        import torch

        if not isinstance(audio, Audio):
            raise ValueError(f"audio must be an Audio, got {type(audio).__name__}; use pipelines.audio.load().")
        if audio.duration < MIN_SECONDS:
            raise ValueError(f"audio is {audio.duration:.2f} s long; SpeechT5 needs at least {MIN_SECONDS} s.")
        if audio.duration > self.max_seconds:
            raise ValueError(f"audio is {audio.duration:.1f} s long; SpeechT5 converts at most "
                             f"{self.max_seconds:.0f} s at a time. Split it at pauses.")
        speaker = speaker_embedding(voice, self.model.config.speaker_embedding_dim, self.speaker_encoder)
        samples = resample(audio, self.sample_rate).samples
        inputs = self.feature_extractor(audio=samples, sampling_rate=self.sample_rate, return_tensors="pt")
        values = inputs["input_values"].to(self.device, self.model.dtype)
        speaker_t = torch.from_numpy(speaker)[None].to(self.device, self.model.dtype)
        # Length ratios are per encoder frame; convert "times the input duration" into them.
        per_frame = samples.size / (self._encoder_frames(samples.size) * self._hop)
        with seeded_rng(seed, self.device), torch.inference_mode():
            mels = self.model.generate_speech(
                values, speaker_embeddings=speaker_t, threshold=self.threshold,
                minlenratio=self.min_length_ratio * per_frame, maxlenratio=self.max_length_ratio * per_frame,
            )
            waveform = vocode(self.vocoder, mels)
        return to_audio(waveform, self.vocoder.config.sampling_rate, "SpeechT5")

    def _encoder_frames(self, num_samples: int) -> int:
        """Frames the waveform encoder's strided convolutions make from `num_samples`."""
        length = num_samples
        for kernel, stride in zip(self.model.config.conv_kernel, self.model.config.conv_stride):
            length = (length - kernel) // stride + 1
        return max(length, 1)
