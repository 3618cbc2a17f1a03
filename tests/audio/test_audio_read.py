"""read_audio: decoding (soundfile), down-mixing, band-limited resampling (soxr) and typed errors,
on files generated here."""

import functools
import http.server
import io
import threading

import numpy as np
import pytest
import soundfile as sf

from onnxformers import InvalidInputError
from onnxformers.utils.audio import read_audio


def tone(freq, sr, seconds, amp=0.5, phase=0.0):
    t = np.arange(int(sr * seconds)) / sr
    return (amp * np.sin(2 * np.pi * freq * t + phase)).astype(np.float32)


def tone_params(x, sr):
    """(frequency, amplitude) of the dominant sinusoid: Hann-windowed FFT peak with parabolic
    interpolation on the log magnitude (frequency), RMS * sqrt(2) (amplitude)."""
    x = x[len(x) // 10 : -len(x) // 10]  # skip resampler edge transients
    w = np.hanning(len(x))
    mag = np.abs(np.fft.rfft(x * w))
    k = int(np.argmax(mag))
    a, b, c = np.log(mag[k - 1 : k + 2])
    offset = 0.5 * (a - c) / (a - 2 * b + c)
    return (k + offset) * sr / len(x), float(np.sqrt(2 * np.mean(x.astype(np.float64) ** 2)))


def test_wav_at_target_rate_is_returned_unchanged(tmp_path):
    x = tone(440, 16000, 1.0)
    path = tmp_path / "mono.wav"
    sf.write(path, x, 16000, subtype="FLOAT")
    out = read_audio(str(path), 16000)
    assert out.dtype == np.float32 and out.ndim == 1
    np.testing.assert_array_equal(out, x)
    np.testing.assert_array_equal(read_audio(path, 16000), x)  # pathlib.Path too


def test_stereo_is_averaged_to_mono(tmp_path):
    left, right = tone(440, 16000, 1.0, 0.6), tone(1000, 16000, 1.0, 0.2)
    path = tmp_path / "stereo.wav"
    sf.write(path, np.stack([left, right], axis=1), 16000, subtype="FLOAT")
    np.testing.assert_allclose(read_audio(path, 16000), (left + right) / 2, atol=1e-7)


def test_441k_stereo_resampled_to_16k_keeps_tone_frequency_and_amplitude(tmp_path):
    sr = 44100
    wanted = tone(1000, sr, 2.0, amp=0.5)
    # a 12 kHz tone is above the 8 kHz Nyquist of 16 kHz audio: a band-limited resampler removes it
    # (a naive one would alias it down to 4 kHz)
    alias = tone(12000, sr, 2.0, amp=0.3)
    stereo = np.stack([wanted + alias, wanted - alias], axis=1)  # both channels carry the 1 kHz tone
    path = tmp_path / "tone.wav"
    sf.write(path, stereo, sr, subtype="PCM_24")
    out = read_audio(path, 16000)
    assert out.dtype == np.float32
    assert abs(len(out) - 32000) <= 1
    freq, amp = tone_params(out, 16000)
    assert abs(freq - 1000) < 0.5, freq
    assert abs(amp - 0.5) < 0.005, amp
    mag = np.abs(np.fft.rfft(out[4000:-4000] * np.hanning(len(out) - 8000)))
    k4 = int(round(4000 * (len(out) - 8000) / 16000))
    assert mag[k4 - 3 : k4 + 4].max() < 1e-3 * mag.max()  # no alias at 4 kHz


def test_flac_48k_to_16k_and_native_rate(tmp_path):
    sr = 48000
    x = tone(3000, sr, 1.5, amp=0.25)
    path = tmp_path / "tone.flac"
    sf.write(path, np.stack([x, x], axis=1), sr, subtype="PCM_16")
    native = read_audio(path)  # sampling_rate=None: the file's own rate
    assert len(native) == len(x)
    np.testing.assert_allclose(native, x, atol=1 / 32768 + 1e-7)
    out = read_audio(path, 16000)
    assert len(out) == len(x) // 3
    freq, amp = tone_params(out, 16000)
    assert abs(freq - 3000) < 0.5 and abs(amp - 0.25) < 0.005


@pytest.mark.parametrize("fmt,subtype", [("OGG", "VORBIS"), ("MP3", "MPEG_LAYER_III")])
def test_lossy_formats(tmp_path, fmt, subtype):
    if fmt not in sf.available_formats() or subtype not in sf.available_subtypes(fmt):
        pytest.skip(f"libsndfile without {fmt}/{subtype}")
    sr = 44100
    path = tmp_path / f"tone.{fmt.lower()}"
    sf.write(path, tone(800, sr, 2.0, amp=0.4), sr, format=fmt, subtype=subtype)
    out = read_audio(path, 16000)
    assert abs(len(out) - 32000) < 2000  # codecs add priming/padding samples
    freq, amp = tone_params(out, 16000)
    assert abs(freq - 800) < 1.0 and abs(amp - 0.4) < 0.03


def test_bytes_and_file_objects(tmp_path):
    x = tone(500, 22050, 0.5)
    buf = io.BytesIO()
    sf.write(buf, x, 22050, format="WAV", subtype="FLOAT")
    data = buf.getvalue()
    ref = read_audio(data, 16000)
    np.testing.assert_array_equal(read_audio(bytearray(data), 16000), ref)
    np.testing.assert_array_equal(read_audio(memoryview(data), 16000), ref)
    np.testing.assert_array_equal(read_audio(io.BytesIO(data), 16000), ref)
    path = tmp_path / "x.wav"
    path.write_bytes(data)
    with open(path, "rb") as f:
        np.testing.assert_array_equal(read_audio(f, 16000), ref)
        assert not f.closed  # the caller's file stays open

    class Stream(io.RawIOBase):  # a non-seekable stream, like a socket or a pipe
        def __init__(self, payload):
            self._inner = io.BytesIO(payload)

        def readable(self):
            return True

        def seekable(self):
            return False

        def readinto(self, b):
            chunk = self._inner.read(len(b))
            b[: len(chunk)] = chunk
            return len(chunk)

    np.testing.assert_array_equal(read_audio(Stream(data), 16000), ref)


@pytest.fixture
def http_root(tmp_path):
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    handler.log_message = lambda *a, **k: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield tmp_path, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_url(http_root):
    root, base = http_root
    x = tone(700, 16000, 0.5)
    sf.write(root / "a.wav", x, 16000, subtype="FLOAT")
    np.testing.assert_array_equal(read_audio(f"{base}/a.wav", 16000), x)
    with pytest.raises(InvalidInputError, match="could not download.*missing.wav"):
        read_audio(f"{base}/missing.wav", 16000, timeout=5)


def _wav_bytes():
    buf = io.BytesIO()
    sf.write(buf, tone(440, 16000, 0.5), 16000, format="WAV", subtype="PCM_16")
    return buf.getvalue()


@pytest.mark.parametrize("content,match", [
    (b"", "could not decode"),
    (b"this is not audio at all, just some text" * 10, "could not decode"),
    (_wav_bytes()[:12], "could not decode"),  # header cut short
    (_wav_bytes()[:44], "no samples"),  # a header and no data
])
def test_bad_files_raise_typed_errors_naming_the_file(tmp_path, content, match):
    path = tmp_path / "broken.wav"
    path.write_bytes(content)
    with pytest.raises(InvalidInputError, match=match) as info:
        read_audio(path, 16000)
    assert "broken.wav" in str(info.value)
    assert isinstance(info.value, ValueError)
    with pytest.raises(InvalidInputError, match=match):
        read_audio(content, 16000)


def test_truncated_data_decodes_what_is_there(tmp_path):
    # like ffmpeg and librosa, a file cut in the middle of its samples yields the samples present
    data = _wav_bytes()
    out = read_audio(data[: 44 + 2 * 1000], 16000)
    assert len(out) == 1000


def test_missing_file_and_bad_arguments(tmp_path):
    with pytest.raises(InvalidInputError, match="not found.*nope.wav"):
        read_audio(str(tmp_path / "nope.wav"), 16000)
    with pytest.raises(InvalidInputError, match="sampling_rate"):
        read_audio(_wav_bytes(), 0)
    with pytest.raises(InvalidInputError, match="sampling_rate"):
        read_audio(_wav_bytes(), 16000.5)
    assert len(read_audio(_wav_bytes(), 8000.0)) == 4000  # integral floats are fine
    with pytest.raises(InvalidInputError, match="path, an http"):
        read_audio(12345, 16000)


# --------------------------------------------------------------------------- streaming, robustness


def test_streamed_decode_equals_one_shot_decode_and_resample(tmp_path):
    # blocks of 65536 frames through soxr's ResampleStream: bit-identical to decoding the whole
    # file and calling soxr.resample once (what read_audio did before streaming)
    import soxr

    rng = np.random.default_rng(4)
    sr = 44100
    stereo = (rng.standard_normal((sr * 7 + 123, 2)) * 0.2).astype(np.float32)
    path = tmp_path / "noise.wav"
    sf.write(path, stereo, sr, subtype="PCM_24")
    data, _ = sf.read(path, dtype="float32", always_2d=True)
    mono = data.mean(axis=1, dtype=np.float64).astype(np.float32)
    for target in (16000, 22050, 48000):
        np.testing.assert_array_equal(read_audio(path, target), soxr.resample(mono, sr, target, quality="HQ"))
    np.testing.assert_array_equal(read_audio(path), mono)


def test_hours_long_file_is_streamed_with_bounded_memory(tmp_path):
    import tracemalloc

    sr, hours = 8000, 2
    path = tmp_path / "long.flac"
    minute = np.zeros(sr * 60, np.float32)
    with sf.SoundFile(path, "w", samplerate=sr, channels=1, format="FLAC", subtype="PCM_16") as f:
        for _ in range(60 * hours):  # silence compresses to ~200 kB: cheap to write and keep
            f.write(minute)
    target = 2000
    tracemalloc.start()
    try:
        out = read_audio(path, target)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert out.dtype == np.float32 and len(out) == hours * 3600 * target
    assert not out.any()
    # a whole-file decode would hold 2 h x 8 kHz float32 = 230 MB before resampling; streaming
    # needs the 58 MB output plus a few 64k-frame blocks
    assert peak <= out.nbytes + 8 * 2**20, f"peak {peak / 2**20:.1f} MiB for a {out.nbytes / 2**20:.1f} MiB output"


def test_truncated_flac_raises_naming_the_position(tmp_path):
    x = tone(300, 16000, 10.0, amp=0.3)
    buf = io.BytesIO()
    sf.write(buf, x, 16000, format="FLAC", subtype="PCM_16")
    path = tmp_path / "cut.flac"
    path.write_bytes(buf.getvalue()[: len(buf.getvalue()) * 2 // 3])
    with pytest.raises(InvalidInputError, match=r"cut\.flac.*corrupt or truncated after \d+ samples"):
        read_audio(path, 16000)


def test_unsupported_format_names_the_readable_ones(tmp_path):
    # an MP4/M4A (AAC) header: libsndfile can't read it
    path = tmp_path / "song.m4a"
    path.write_bytes(b"\x00\x00\x00\x20ftypM4A \x00\x00\x02\x00M4A isomiso2" + bytes(2000))
    with pytest.raises(InvalidInputError, match=r"song\.m4a.*readable formats: .*FLAC.*ffmpeg"):
        read_audio(path, 16000)


def test_non_finite_float_samples_pass_through_and_extractors_reject_them(tmp_path):
    # documented: read_audio returns the file's samples as they are (a FLOAT WAV can hold NaN);
    # the feature extractors reject non-finite samples with the index of the first one
    from onnxformers.processors.audio import WhisperFeatureExtractor

    x = tone(440, 16000, 0.5)
    x[1000] = np.nan
    path = tmp_path / "nan.wav"
    sf.write(path, x, 16000, subtype="FLOAT")
    out = read_audio(path, 16000)
    assert np.isnan(out[1000]) and np.isfinite(np.delete(out, 1000)).all()
    with pytest.raises(InvalidInputError, match="non-finite.*index 1000"):
        WhisperFeatureExtractor()(out, sampling_rate=16000)
