"""Type stubs of the Rust extension ``onnxformers._core`` (one section per part)."""

from __future__ import annotations

from typing import Any, Iterable, Literal, Optional, Sequence

import numpy as np
import numpy.typing as npt

__version__: str

# --- tokenizer ---
# The tokenizer.json pipeline (rust/py/src/tokenizer.rs, rust/core/src/tokenizer). Same results
# as Hugging Face `tokenizers`; offsets are char offsets into the original text. Errors:
# onnxformers.TokenizerError (bad tokenizer.json, bad ids), InvalidInputError (bad arguments).

class Encoding:
    """The result of encoding one input (or pair). Immutable."""

    @property
    def ids(self) -> list[int]: ...
    @property
    def type_ids(self) -> list[int]: ...
    @property
    def tokens(self) -> list[str]: ...
    @property
    def offsets(self) -> list[tuple[int, int]]:
        """Char offsets ``(start, end)`` into the original input string."""
    @property
    def attention_mask(self) -> list[int]: ...
    @property
    def special_tokens_mask(self) -> list[int]: ...
    @property
    def word_ids(self) -> list[Optional[int]]: ...
    @property
    def sequence_ids(self) -> list[Optional[int]]: ...
    @property
    def overflowing(self) -> list[Encoding]: ...
    def __len__(self) -> int: ...

class AddedToken:
    """One added token of a tokenizer's vocabulary."""

    @property
    def id(self) -> int: ...
    @property
    def content(self) -> str: ...
    @property
    def special(self) -> bool: ...
    @property
    def single_word(self) -> bool: ...
    @property
    def lstrip(self) -> bool: ...
    @property
    def rstrip(self) -> bool: ...
    @property
    def normalized(self) -> bool: ...

_TruncationStrategy = Literal["longest_first", "only_first", "only_second"]
_Side = Literal["left", "right"]
_Padding = Optional[Literal["longest", "max_length"]]

class Tokenizer:
    """A tokenizer.json pipeline (same results as Hugging Face ``tokenizers``). Immutable and
    thread-safe; batch calls release the GIL. Errors raise ``onnxformers.TokenizerError``."""

    @staticmethod
    def from_str(json: str) -> Tokenizer: ...
    @staticmethod
    def from_file(path: str) -> Tokenizer: ...
    def encode(
        self, text: str, pair: Optional[str] = None, add_special_tokens: bool = True
    ) -> Encoding: ...
    def encode_batch(
        self,
        texts: Sequence[str],
        pairs: Optional[Sequence[str]] = None,
        add_special_tokens: bool = True,
        *,
        max_length: Optional[int] = None,
        truncation_strategy: _TruncationStrategy = "longest_first",
        stride: int = 0,
        truncation_side: _Side = "right",
        padding: _Padding = None,
        pad_to_multiple_of: Optional[int] = None,
        padding_side: _Side = "right",
        pad_id: int = 0,
        pad_type_id: int = 0,
        pad_token: str = "[PAD]",
        padding_length: Optional[int] = None,
    ) -> list[Encoding]: ...
    def encode_batch_ids(
        self, texts: Sequence[str], add_special_tokens: bool = True
    ) -> list[list[int]]: ...
    def encode_batch_arrays(
        self,
        texts: Sequence[str],
        pairs: Optional[Sequence[str]] = None,
        add_special_tokens: bool = True,
        *,
        max_length: Optional[int] = None,
        truncation_strategy: _TruncationStrategy = "longest_first",
        stride: int = 0,
        truncation_side: _Side = "right",
        padding: _Padding = "longest",
        pad_to_multiple_of: Optional[int] = None,
        padding_side: _Side = "right",
        pad_id: int = 0,
        pad_type_id: int = 0,
        pad_token: str = "[PAD]",
        padding_length: Optional[int] = None,
    ) -> dict[str, npt.NDArray[np.int64]]:
        """int64 ``[B, T]`` ``input_ids``, ``attention_mask`` and ``token_type_ids``."""
    def decode(self, ids: Iterable[int], skip_special_tokens: bool = False) -> str: ...
    def decode_batch(
        self, sequences: Iterable[Iterable[int]], skip_special_tokens: bool = False
    ) -> list[str]: ...
    def token_to_id(self, token: str) -> Optional[int]: ...
    def id_to_token(self, id: int) -> Optional[str]: ...
    def get_vocab(self, with_added_tokens: bool = True) -> dict[str, int]: ...
    def get_vocab_size(self, with_added_tokens: bool = True) -> int: ...
    def is_special_token(self, token: str) -> bool: ...
    def normalize_str(self, text: str) -> str:
        """Apply only the normalizer."""
    def pre_tokenize_str(self, text: str) -> list[tuple[str, tuple[int, int]]]:
        """Apply only the pre-tokenizer; char offsets into ``text``."""
    @property
    def added_tokens(self) -> list[AddedToken]:
        """Added tokens sorted by id."""
    @property
    def model_type(self) -> Literal["BPE", "WordPiece", "Unigram", "WordLevel"]: ...
    @property
    def unk_token(self) -> Optional[str]: ...
    @property
    def truncation(self) -> Optional[dict[str, Any]]:
        """The file's own ``truncation`` section (never applied by the core)."""
    @property
    def padding(self) -> Optional[dict[str, Any]]:
        """The file's own ``padding`` section (never applied by the core)."""

# --- end tokenizer ---

# --- audio ---
# Audio DSP (rust/py/src/audio.rs). Arrays are numpy; float inputs must be 1-D contiguous
# float32/float64 (onnxformers.utils.audio normalises them). Errors: onnxformers.InvalidInputError.

def window_function(
    window_length: int,
    name: str = "hann",
    periodic: bool = True,
    frame_length: Optional[int] = None,
    center: bool = True,
) -> npt.NDArray[np.float64]: ...
def hertz_to_mel(freq: npt.NDArray[np.float64], mel_scale: str = "htk") -> npt.NDArray[np.float64]: ...
def mel_to_hertz(mels: npt.NDArray[np.float64], mel_scale: str = "htk") -> npt.NDArray[np.float64]: ...
def mel_filter_bank(
    num_frequency_bins: int,
    num_mel_filters: int,
    min_frequency: float,
    max_frequency: float,
    sampling_rate: float,
    norm: Optional[Literal["slaney"]] = None,
    mel_scale: str = "htk",
    triangularize_in_mel_space: bool = False,
) -> npt.NDArray[np.float64]:
    """``(num_frequency_bins, num_mel_filters)`` triangular filter bank."""
def spectrogram(
    waveform: npt.NDArray[np.float32] | npt.NDArray[np.float64],
    window: npt.NDArray[np.float64],
    frame_length: int,
    hop_length: int,
    fft_length: Optional[int] = None,
    power: Optional[float] = 1.0,
    center: bool = True,
    pad_mode: Literal["constant", "edge", "reflect"] = "reflect",
    onesided: bool = True,
    dither: float = 0.0,
    preemphasis: Optional[float] = None,
    mel_filters: Optional[npt.NDArray[np.float64]] = None,
    mel_floor: float = 1e-10,
    log_mel: Optional[Literal["log", "log10", "dB"]] = None,
    reference: float = 1.0,
    min_value: float = 1e-10,
    db_range: Optional[float] = None,
    remove_dc_offset: bool = False,
    *,
    min_num_frames: Optional[int] = None,
    max_num_frames: Optional[int] = None,
    do_pad: bool = True,
    transpose: bool = False,
    mel_offset: float = 0.0,
    seed: Optional[int] = None,
    num_threads: Optional[int] = None,
) -> npt.NDArray[np.float64] | npt.NDArray[np.complex64]:
    """float64 ``(bins|mels, frames)`` (``(frames, ...)`` with ``transpose``); complex64 if ``power is None``."""
def amplitude_to_db(
    spectrogram: npt.NDArray[np.float64], reference: float = 1.0, min_value: float = 1e-5,
    db_range: Optional[float] = None,
) -> npt.NDArray[np.float64]: ...
def power_to_db(
    spectrogram: npt.NDArray[np.float64], reference: float = 1.0, min_value: float = 1e-10,
    db_range: Optional[float] = None,
) -> npt.NDArray[np.float64]: ...

class WhisperLogMel:
    """Whisper's log-mel front end (immutable; safe to share between threads)."""

    def __init__(
        self,
        feature_size: int = 80,
        sampling_rate: float = 16000.0,
        hop_length: int = 160,
        n_fft: int = 400,
        padding_value: float = 0.0,
        dither: float = 0.0,
    ) -> None: ...
    @property
    def mel_filters(self) -> npt.NDArray[np.float64]:
        """``(1 + n_fft // 2, feature_size)`` Slaney filter bank."""
    def num_frames(self, target_length: int) -> int: ...
    def extract_batch(
        self,
        waveforms: Sequence[npt.NDArray[np.float32]],
        target_length: int,
        seed: Optional[int] = None,
        num_threads: Optional[int] = None,
    ) -> npt.NDArray[np.float32]:
        """float32 ``(len(waveforms), feature_size, num_frames(target_length))``, clips in parallel."""

class KaldiFbank:
    """Kaldi-compatible log-mel filter banks (transformers' SeamlessM4T recipe); immutable.
    ``window``: "povey" | "hamming" | "hann" | "boxcar"; ``norm``: None | "mean" (subtract each
    bin's mean) | "mean_var" (per-bin zero mean / unit variance, ddof=1)."""

    def __init__(
        self,
        num_mel_bins: int = 80,
        sampling_rate: float = 16000.0,
        *,
        window: str = "povey",
        frame_length: int = 400,
        hop_length: int = 160,
        fft_length: int = 512,
        low_freq: float = 20.0,
        high_freq: Optional[float] = None,
        preemphasis: Optional[float] = 0.97,
        remove_dc_offset: bool = True,
        dither: float = 0.0,
        mel_floor: float = 1.192092955078125e-07,
        waveform_scale: float = 32768.0,
        min_num_frames: Optional[int] = None,
        norm: Optional[str] = "mean_var",
    ) -> None: ...
    @property
    def mel_filters(self) -> npt.NDArray[np.float64]:
        """``(fft_length // 2 + 1, num_mel_bins)`` Kaldi-scale bank, triangular in mel space."""
    @property
    def window(self) -> npt.NDArray[np.float64]: ...
    @property
    def num_mel_bins(self) -> int: ...
    def num_frames(self, num_samples: int) -> int: ...
    def extract_batch(
        self,
        waveforms: Sequence[npt.NDArray[np.float32]],
        target_frames: int,
        padding_value: float = 0.0,
        pad_left: bool = False,
        seed: Optional[int] = None,
        num_threads: Optional[int] = None,
    ) -> npt.NDArray[np.float32]:
        """float32 ``(len(waveforms), target_frames, num_mel_bins)``: each clip normalised over
        all its frames, then truncated / padded with ``padding_value``; clips in parallel."""

# --- end audio ---

# --- generation ---
# Generation core (rust/core/src/generation): transformers' logits processors, samplers, beam
# search and stopping criteria. One call per decoding step: `logits` is a C-contiguous float32
# array [rows, vocab] processed in place (GIL released); token ids are int64 [rows, seq].
# Configs are dicts of generation-config fields (or objects with `to_dict()`). Bad values raise
# onnxformers.InvalidInputError.

class LogitsProcessorList:
    """The processors generate() builds from a config, in transformers' order (immutable)."""

    def __init__(
        self,
        config: Any,
        prompt_length: int,
        encoder_input_ids: Optional[npt.ArrayLike] = None,
    ) -> None: ...
    def __call__(self, input_ids: npt.ArrayLike, logits: npt.NDArray[np.float32]) -> None:
        """Modifies ``logits`` in place (2x rows with guidance_scale; result in the first half)."""
    def __len__(self) -> int: ...
    @property
    def names(self) -> list[str]: ...

class InterruptFlag:
    """A flag another thread can raise to stop a generation at its next step."""

    def __init__(self) -> None: ...
    def interrupt(self) -> None: ...
    def reset(self) -> None: ...
    @property
    def is_set(self) -> bool: ...
    def __bool__(self) -> bool: ...

class GenerationState:
    """The state of one generate() call: greedy, sampling, beam search or beam sampling."""

    def __init__(
        self,
        config: Any,
        input_ids: npt.ArrayLike,
        *,
        encoder_input_ids: Optional[npt.ArrayLike] = None,
        seed: Optional[int] = None,
        interrupt: Optional[InterruptFlag] = None,
    ) -> None: ...
    def step(
        self, logits: npt.NDArray[np.float32]
    ) -> tuple[npt.NDArray[np.int64], Optional[npt.NDArray[np.int64]], bool]:
        """``(next_tokens[num_rows], beam_indices[num_rows] | None, done)``; logits are scratch."""
    def process_logits(self, logits: npt.NDArray[np.float32]) -> None:
        """First half of a split step (custom processors): beam modes log_softmax, then the
        built-in processors, in place. Modify ``logits[:num_rows]``, then call ``select``."""
    def select(
        self, logits: npt.NDArray[np.float32]
    ) -> tuple[npt.NDArray[np.int64], Optional[npt.NDArray[np.int64]], bool]:
        """Second half of a split step: the warpers and the token choice (as ``step``)."""
    def finalize(self) -> tuple[npt.NDArray[np.int64], Optional[npt.NDArray[np.float32]]]:
        """``(sequences[rows, len], scores[rows] | None)`` (beam modes: best hypotheses)."""
    def finalize_with_beam_indices(
        self,
    ) -> tuple[
        npt.NDArray[np.int64], Optional[npt.NDArray[np.float32]], Optional[npt.NDArray[np.int64]]
    ]:
        """``finalize()`` + ``beam_indices[rows, len - prompt_length]`` (beam modes; -1 padded)."""
    def stop_rows(self, stop: npt.NDArray[np.bool_]) -> bool:
        """Custom stopping criteria's verdict after a step (``[num_rows]``): greedy/sampling rows
        finish one by one, beam modes stop once every row says so. Returns ``done``."""
    def interrupt(self) -> None: ...
    @property
    def sequences(self) -> npt.NDArray[np.int64]: ...
    @property
    def unfinished(self) -> npt.NDArray[np.bool_]: ...
    @property
    def beam_scores(self) -> Optional[npt.NDArray[np.float32]]: ...
    @property
    def mode(self) -> Literal["greedy", "sample", "beam_search", "beam_sample"]: ...
    @property
    def done(self) -> bool: ...
    @property
    def batch_size(self) -> int: ...
    @property
    def expand_size(self) -> int: ...
    @property
    def num_rows(self) -> int: ...
    @property
    def logits_rows(self) -> int: ...
    @property
    def prompt_length(self) -> int: ...
    @property
    def cur_len(self) -> int: ...
    @property
    def max_length(self) -> int: ...
    @property
    def pad_token_id(self) -> Optional[int]: ...
    @property
    def processor_names(self) -> list[str]: ...

def gather_rows_in_place(arrays: Sequence[npt.NDArray[Any]], rows_index: npt.NDArray[np.int64]) -> None:
    """Beam search's cache reorder, in place: row ``i`` of every (C-contiguous, writeable) array
    becomes its old row ``rows_index[i]``; axis 0 holds ``len(rows_index)`` rows (or rows of heads)."""

class Sampler:
    """Argmax, or a seeded multinomial draw per row from softmax(logits)."""

    def __init__(self, do_sample: bool = False, seed: Optional[int] = None) -> None: ...
    def sample(self, logits: npt.NDArray[np.float32]) -> npt.NDArray[np.int64]: ...

class BeamSearchScorer:
    """transformers' BeamSearchScorer (process / finalize)."""

    def __init__(
        self,
        batch_size: int,
        num_beams: int,
        max_length: int,
        *,
        length_penalty: float = 1.0,
        early_stopping: Optional[bool | Literal["never"]] = None,
        num_return_sequences: int = 1,
    ) -> None: ...
    def process(
        self,
        input_ids: npt.ArrayLike,
        next_scores: npt.NDArray[np.float32],
        next_tokens: npt.ArrayLike,
        next_indices: npt.ArrayLike,
        *,
        pad_token_id: Optional[int] = None,
        eos_token_id: Optional[Sequence[int]] = None,
        decoder_prompt_len: int = 0,
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64], npt.NDArray[np.int64]]: ...
    @property
    def is_done(self) -> bool: ...
    def finalize(
        self,
        input_ids: npt.ArrayLike,
        final_beam_scores: Sequence[float],
        *,
        pad_token_id: Optional[int] = None,
        eos_token_id: Optional[Sequence[int]] = None,
        decoder_prompt_len: int = 0,
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]: ...

# --- end generation ---

# --- alignment ---
# Whisper word-level timestamps (rust/py/src/alignment.rs)

def median_filter(x: npt.ArrayLike, filter_width: int) -> npt.NDArray[np.float32]:
    """Median over odd windows of ``filter_width`` along the last axis, reflect-padded (float32)."""
def dynamic_time_warping(
    matrix: npt.ArrayLike,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """``(text_indices, time_indices)``: least-cost monotonic path through a 2-D cost matrix."""

# --- end alignment ---

# --- image ---
# Vision preprocessing kernels (rust/py/src/image.rs); errors are InvalidInputError

def resample_u8(
    pixels: npt.NDArray[np.uint8],
    width: int,
    height: int,
    filter: int,
    horizontal_first: bool = False,
) -> npt.NDArray[np.uint8]:
    """``PIL.Image.resize((width, height), filter)`` of (H, W, C) uint8 C-contiguous pixels (C 1-4, each
    channel independently), bit for bit; ``filter``: 1 lanczos, 2 bilinear, 3 bicubic, 4 box, 5 hamming.
    ``horizontal_first``: the pass order of Pillow < 13 instead of Pillow 13's. Returns (height, width, C)."""
def resample_arrow(
    array: Any,
    width: int,
    height: int,
    channels: int,
    out_width: int,
    out_height: int,
    filter: int,
    horizontal_first: bool = False,
) -> npt.NDArray[np.uint8]:
    """:func:`resample_u8` reading Pillow's memory through ``PIL.Image.__arrow_c_array__()[1]`` (an
    ``arrow_array`` PyCapsule) instead of a copy; ``channels`` 1 (mode L) or 3 (mode RGB, stored as 4
    bytes per pixel). Returns (out_height, out_width, channels)."""
def u8_to_f32_chw(
    pixels: npt.NDArray[np.uint8],
    table: npt.NDArray[np.float32],
    out: npt.NDArray[np.float32],
    flip: bool = False,
) -> None:
    """``out[c', y, x] = table[c, pixels[y, x, c]]`` (``c' = C - 1 - c`` with ``flip``); ``pixels`` (H, W, C)
    uint8 C-contiguous, ``table`` (C, 256) float32, ``out`` a writable (C, H, W) float32 view with a
    contiguous last axis (e.g. ``batch[i, :, :h, :w]``)."""

# --- end image ---
