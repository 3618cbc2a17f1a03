"""Audio helpers: reading and resampling audio files, and the DSP used by feature extractors.

Mirrors Transformers.js' ``utils/audio`` module (names in snake_case) with the semantics and
defaults of ``transformers.audio_utils``; the numeric work (FFT, STFT, mel projection) runs in the
Rust core with the GIL released. Results match ``transformers``' numpy implementation to ~1e-7.

Policy on bad samples: NaN/inf in a waveform raise :class:`~onnxformers.InvalidInputError` (naming
the first bad index) instead of spreading NaN through the whole spectrogram as numpy would.
"""

from __future__ import annotations

import io
import os
import warnings
from typing import IO, Optional, Union

import numpy as np

from .. import _core
from ..errors import InvalidInputError

__all__ = [
    "read_audio",
    "hanning",
    "hamming",
    "window_function",
    "hertz_to_mel",
    "mel_to_hertz",
    "mel_filter_bank",
    "spectrogram",
    "spectrogram_batch",
    "amplitude_to_db",
    "power_to_db",
]

AudioSource = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview, IO[bytes]]


# --------------------------------------------------------------------------- reading


def _describe(source: object) -> str:
    if isinstance(source, (str, os.PathLike)):
        return repr(os.fspath(source))
    if isinstance(source, (bytes, bytearray, memoryview)):
        return f"<{len(source)} bytes>"
    name = getattr(source, "name", None)
    return repr(name) if isinstance(name, str) else f"<{type(source).__name__}>"


def _open_source(source: AudioSource, timeout: Optional[float]) -> IO[bytes]:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return io.BytesIO(bytes(source))
    if isinstance(source, os.PathLike):
        source = os.fspath(source)
    if isinstance(source, str):
        if source.startswith(("http://", "https://")):
            import urllib.request

            try:
                with urllib.request.urlopen(source, timeout=timeout) as resp:  # noqa: S310 (http(s) only)
                    return io.BytesIO(resp.read())
            except OSError as e:
                raise InvalidInputError(f"could not download audio from {source}: {e}") from e
        if not os.path.isfile(source):
            raise InvalidInputError(f"audio file not found: {source!r}")
        return open(source, "rb")  # noqa: SIM115 (closed by the caller)
    if hasattr(source, "read"):
        # libsndfile needs to seek; buffer streams that can't
        seekable = getattr(source, "seekable", None)
        if callable(seekable) and seekable():
            return source  # type: ignore[return-value]
        return io.BytesIO(source.read())
    raise InvalidInputError(
        "read_audio expects a path, an http(s) URL, bytes or a binary file object, "
        f"got {type(source).__name__}"
    )


def resample(audio: np.ndarray, orig_sr: int, target_sr: int) -> np.ndarray:
    """Band-limited resampling (libsoxr, "HQ" as in ``transformers``) of a 1-D float32 signal."""
    if orig_sr == target_sr:
        return audio
    import soxr

    return np.ascontiguousarray(soxr.resample(audio, orig_sr, target_sr, quality="HQ"), dtype=np.float32)


#: frames decoded per block: bounds the working memory of read_audio whatever the file's length
_BLOCK_FRAMES = 1 << 16
#: a frame count above this is "unknown" (libsndfile reports SF_COUNT_MAX for unseekable streams)
_MAX_KNOWN_FRAMES = 1 << 40


class _Output:
    """A float32 buffer filled block by block: allocated once at the expected size (known from
    the header), grown only if the header under-counted, trimmed in place at the end."""

    def __init__(self, expected: int) -> None:
        self.data = np.empty(max(expected, 0), dtype=np.float32)
        self.n = 0

    def append(self, piece: np.ndarray) -> None:
        end = self.n + len(piece)
        if end > len(self.data):
            grown = np.empty(max(end, len(self.data) + len(self.data) // 2, 1 << 16), dtype=np.float32)
            grown[: self.n] = self.data[: self.n]
            self.data = grown
        self.data[self.n:end] = piece
        self.n = end

    def result(self) -> np.ndarray:
        if self.n == len(self.data):
            return self.data
        try:
            self.data.resize((self.n,), refcheck=False)  # realloc in place: no second copy
            return self.data
        except ValueError:
            return self.data[: self.n].copy()


def _decode_blocks(f, sampling_rate: Optional[int], what: str) -> np.ndarray:
    """Decode ``f`` (an open ``soundfile.SoundFile``) block by block: down-mix each block, feed
    it to a streaming soxr resampler (bit-identical to one-shot ``soxr.resample``), append to the
    output. Peak memory: the output plus a few blocks, never the whole decoded file."""
    file_sr, channels = int(f.samplerate), int(f.channels)
    target = file_sr if sampling_rate is None else int(sampling_rate)
    frames = int(f.frames) if 0 <= f.frames < _MAX_KNOWN_FRAMES else -1
    resampler = None
    if target != file_sr:
        import soxr

        resampler = soxr.ResampleStream(file_sr, target, 1, dtype="float32", quality="HQ")
        expected = -(-frames * target // file_sr) + 16 if frames >= 0 else 1 << 20
    else:
        expected = frames if frames >= 0 else 1 << 20
    out = _Output(expected)
    buf = np.empty((_BLOCK_FRAMES, channels), dtype=np.float32)
    decoded = 0
    while True:
        try:
            block = f.read(_BLOCK_FRAMES, dtype="float32", always_2d=True, out=buf)
        except (RuntimeError, ValueError, EOFError, OSError) as e:
            raise InvalidInputError(
                f"could not decode audio {what}: the data is corrupt or truncated after "
                f"{decoded} samples ({decoded / file_sr:.2f} s): {e}"
            ) from e
        if len(block) == 0:
            break
        decoded += len(block)
        # same float64 average as one np.mean over the whole file (mono: a plain copy)
        mono = block[:, 0] if channels == 1 else block.mean(axis=1, dtype=np.float64).astype(np.float32)
        if resampler is not None:
            mono = resampler.resample_chunk(np.ascontiguousarray(mono, dtype=np.float32))
        out.append(mono)
    if decoded == 0:
        raise InvalidInputError(f"audio {what} contains no samples")
    if resampler is not None:
        out.append(resampler.resample_chunk(np.zeros(0, dtype=np.float32), last=True))
    return out.result()


def read_audio(
    source: AudioSource,
    sampling_rate: Optional[int] = None,
    *,
    timeout: Optional[float] = 30.0,
) -> np.ndarray:
    """Read an audio file into a mono float32 array at ``sampling_rate``.

    ``source`` is a path, an http(s) URL, raw bytes or a binary file object; any format
    libsndfile decodes (WAV, FLAC, OGG/Vorbis, Opus, MP3, AIFF, ...). Multi-channel audio is
    down-mixed to mono by averaging the channels (as ffmpeg's ``-ac 1`` and ``transformers`` do),
    then resampled with libsoxr ("HQ", as ``transformers``) when the file's rate differs.
    ``sampling_rate=None`` keeps the file's own rate.

    Long files are streamed: decoded, down-mixed and resampled in blocks of 65536 frames, so the
    memory used is the output array plus a few blocks (hours of audio never exist as a decoded
    multi-channel float array). URLs and non-seekable streams are first read into memory
    (compressed bytes).

    Raises :class:`~onnxformers.InvalidInputError` naming the source when it is missing, can't be
    downloaded, is in a format libsndfile does not know (e.g. AAC/M4A: convert it with ffmpeg), or
    is corrupt/truncated (a WAV cut in its data yields the samples present, as with ffmpeg).
    """
    import soundfile as sf

    if sampling_rate is not None:
        if isinstance(sampling_rate, bool) or not isinstance(sampling_rate, (int, float, np.integer, np.floating)) \
                or sampling_rate != int(sampling_rate) or sampling_rate <= 0:
            raise InvalidInputError(f"sampling_rate must be a positive integer, got {sampling_rate!r}")
        sampling_rate = int(sampling_rate)
    what = _describe(source)
    stream = _open_source(source, timeout)
    try:
        try:
            f = sf.SoundFile(stream)
        except (RuntimeError, TypeError, ValueError, EOFError, OSError) as e:  # LibsndfileError is a RuntimeError
            raise InvalidInputError(
                f"could not decode audio {what}: {e} (readable formats: "
                f"{', '.join(sorted(sf.available_formats()))}; convert others, e.g. AAC/M4A, with ffmpeg)"
            ) from e
        with f:
            return _decode_blocks(f, sampling_rate, what)
    finally:
        if stream is not source:
            stream.close()


# --------------------------------------------------------------------------- windows and mel


def window_function(
    window_length: int,
    name: str = "hann",
    periodic: bool = True,
    frame_length: Optional[int] = None,
    center: bool = True,
) -> np.ndarray:
    """A float64 window (``"hann"``, ``"hamming"``, ``"povey"``, ``"boxcar"``), periodic or
    symmetric, zero-padded to ``frame_length`` (centred when ``center``) if given."""
    return _core.window_function(int(window_length), name, bool(periodic),
                                 None if frame_length is None else int(frame_length), bool(center))


def hanning(M: int) -> np.ndarray:
    """Symmetric Hann window of length ``M`` (``numpy.hanning``)."""
    return window_function(M, "hann", periodic=False)


def hamming(M: int) -> np.ndarray:
    """Symmetric Hamming window of length ``M`` (``numpy.hamming``)."""
    return window_function(M, "hamming", periodic=False)


def _mel_map(fn, values, mel_scale: str):
    arr = np.asarray(values, dtype=np.float64)
    out = fn(np.ascontiguousarray(arr.reshape(-1)), mel_scale).reshape(arr.shape)
    return float(out) if arr.ndim == 0 else out


def hertz_to_mel(freq, mel_scale: str = "htk"):
    """Hertz to mels (``"htk"``, ``"kaldi"`` or ``"slaney"``); float in, float out, arrays too."""
    return _mel_map(_core.hertz_to_mel, freq, mel_scale)


def mel_to_hertz(mels, mel_scale: str = "htk"):
    """Mels to hertz (``"htk"``, ``"kaldi"`` or ``"slaney"``); float in, float out, arrays too."""
    return _mel_map(_core.mel_to_hertz, mels, mel_scale)


def mel_filter_bank(
    num_frequency_bins: int,
    num_mel_filters: int,
    min_frequency: float,
    max_frequency: float,
    sampling_rate: int,
    norm: Optional[str] = None,
    mel_scale: str = "htk",
    triangularize_in_mel_space: bool = False,
) -> np.ndarray:
    """Triangular mel filter bank, float64 of shape ``(num_frequency_bins, num_mel_filters)``."""
    bank = _core.mel_filter_bank(int(num_frequency_bins), int(num_mel_filters), float(min_frequency),
                                 float(max_frequency), float(sampling_rate), norm, mel_scale,
                                 bool(triangularize_in_mel_space))
    if num_mel_filters and (bank.max(axis=0) == 0.0).any():
        warnings.warn(
            "At least one mel filter has all zero values. "
            f"The value for `num_mel_filters` ({num_mel_filters}) may be set too high. "
            f"Or, the value for `num_frequency_bins` ({num_frequency_bins}) may be set too low.",
            stacklevel=2,
        )
    return bank


# --------------------------------------------------------------------------- spectrograms


def _as_waveform(waveform) -> np.ndarray:
    arr = np.asarray(waveform)
    if np.iscomplexobj(arr):
        raise InvalidInputError("Complex-valued input waveforms are not currently supported")
    if arr.ndim != 1:
        raise InvalidInputError(f"Input waveform must have only one dimension, shape is {arr.shape}")
    if arr.dtype not in (np.float32, np.float64):
        arr = arr.astype(np.float64)
    return np.ascontiguousarray(arr)


def spectrogram(
    waveform: np.ndarray,
    window: np.ndarray,
    frame_length: int,
    hop_length: int,
    fft_length: Optional[int] = None,
    power: Optional[float] = 1.0,
    center: bool = True,
    pad_mode: str = "reflect",
    onesided: bool = True,
    dither: float = 0.0,
    preemphasis: Optional[float] = None,
    mel_filters: Optional[np.ndarray] = None,
    mel_floor: float = 1e-10,
    log_mel: Optional[str] = None,
    reference: float = 1.0,
    min_value: float = 1e-10,
    db_range: Optional[float] = None,
    remove_dc_offset: bool = False,
    dtype: np.dtype = np.float32,
    *,
    min_num_frames: Optional[int] = None,
    max_num_frames: Optional[int] = None,
    do_pad: bool = True,
    transpose: bool = False,
    mel_offset: float = 0.0,
    seed: Optional[int] = None,
    num_threads: Optional[int] = None,
) -> np.ndarray:
    """Short-time Fourier transform spectrogram of one mono waveform.

    Same options, defaults and output as ``transformers.audio_utils.spectrogram``: shape
    ``(num_frequency_bins, num_frames)``, or ``(num_mel_filters, num_frames)`` with
    ``mel_filters``; float64, cast to ``dtype`` when ``log_mel`` is set; complex64 when
    ``power=None``. Keyword-only extras from Transformers.js: ``min_num_frames`` /
    ``max_num_frames`` (compute at least / at most that many frames; with ``do_pad`` the output
    is zero-padded to ``max_num_frames``), ``transpose`` (``(num_frames, bins)`` output) and
    ``mel_offset`` (added to mel values before the log). ``seed`` makes ``dither`` reproducible;
    ``num_threads`` bounds the parallelism of this call.

    Differences from Transformers.js: ``center`` pads by ``frame_length // 2`` (as
    ``transformers`` does) whatever ``fft_length``, and ``pad_mode="edge"`` is supported.
    """
    win = np.ascontiguousarray(np.asarray(window, dtype=np.float64))
    if win.ndim != 1:
        raise InvalidInputError(f"window must be 1-D, shape is {win.shape}")
    filters = None
    if mel_filters is not None:
        filters = np.ascontiguousarray(np.asarray(mel_filters, dtype=np.float64))
        if filters.ndim != 2:
            raise InvalidInputError(f"mel_filters must be 2-D (num_frequency_bins, num_mel_filters), "
                                    f"shape is {filters.shape}")
    out = _core.spectrogram(
        _as_waveform(waveform), win, int(frame_length), int(hop_length),
        None if fft_length is None else int(fft_length),
        None if power is None else float(power), bool(center), pad_mode, bool(onesided), float(dither),
        None if preemphasis is None else float(preemphasis), filters, float(mel_floor), log_mel,
        float(reference), float(min_value), None if db_range is None else float(db_range),
        bool(remove_dc_offset),
        min_num_frames=min_num_frames, max_num_frames=max_num_frames, do_pad=bool(do_pad),
        transpose=bool(transpose), mel_offset=float(mel_offset), seed=seed, num_threads=num_threads,
    )
    if power is not None and log_mel is not None:
        out = np.asarray(out, dtype)
    return out


def spectrogram_batch(waveform_list, window: np.ndarray, frame_length: int, hop_length: int,
                      **kwargs) -> list:
    """``transformers.audio_utils.spectrogram_batch``: one spectrogram per waveform (each at
    its own length, as transformers trims the batch padding off again)."""
    return [spectrogram(w, window, frame_length, hop_length, **kwargs) for w in waveform_list]


def _to_db(fn, spectrogram, reference, min_value, db_range):
    arr = np.asarray(spectrogram)
    out = fn(np.ascontiguousarray(arr, dtype=np.float64), float(reference), float(min_value),
             None if db_range is None else float(db_range))
    # keep float32 inputs float32, as numpy does in transformers
    return out.astype(np.float32) if arr.dtype == np.float32 else out


def amplitude_to_db(spectrogram: np.ndarray, reference: float = 1.0, min_value: float = 1e-5,
                    db_range: Optional[float] = None) -> np.ndarray:
    """``20 * log10(max(spectrogram, min_value) / reference)``, clipped to ``max - db_range``."""
    return _to_db(_core.amplitude_to_db, spectrogram, reference, min_value, db_range)


def power_to_db(spectrogram: np.ndarray, reference: float = 1.0, min_value: float = 1e-10,
                db_range: Optional[float] = None) -> np.ndarray:
    """``10 * log10(max(spectrogram, min_value) / reference)``, clipped to ``max - db_range``."""
    return _to_db(_core.power_to_db, spectrogram, reference, min_value, db_range)
