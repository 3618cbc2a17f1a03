"""Every code point through each Unicode-sensitive normalizer and pre-tokenizer, compared with
``tokenizers`` (this is what pins the frozen tables in ``rust/core/src/tokenizer/unicode_tables.rs``
and the Unicode 9 normalization data)."""

from __future__ import annotations

import json

import pytest

from onnxformers._core import Tokenizer as OurTokenizer
from tk_helpers import charsmap_b64

from tokenizers import Tokenizer, models, normalizers, pre_tokenizers

# Every code point that can be assigned (BMP, planes 1-3, plane 14) plus a sample of the
# unassigned planes 4-13 and the private-use planes 15-16 (all alike within each plane).
_RANGES = [range(0, 0xD800), range(0xE000, 0x32400), range(0xE0000, 0xE0200),
           range(0x40000, 0xE0000, 97), range(0xF0000, 0x110000, 89), range(0xFFFE, 0x110000, 0x10000)]
ALL = sorted({chr(c) for r in _RANGES for c in r})


def chunks(sep: str, size: int = 2048):
    for i in range(0, len(ALL), size):
        yield sep.join(ALL[i : i + size])


def pair_with(normalizer=None, pre_tokenizer=None):
    t = Tokenizer(models.WordLevel({"[UNK]": 0}, unk_token="[UNK]"))
    t.normalizer = normalizer
    t.pre_tokenizer = pre_tokenizer
    return t, OurTokenizer.from_str(t.to_str())


NORMALIZERS = {
    "bert_clean": normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=False, strip_accents=False, lowercase=False),
    "bert_chinese": normalizers.BertNormalizer(clean_text=False, handle_chinese_chars=True, strip_accents=False, lowercase=False),
    "bert_accents": normalizers.BertNormalizer(clean_text=False, handle_chinese_chars=False, strip_accents=True, lowercase=False),
    "bert_lower": normalizers.BertNormalizer(clean_text=False, handle_chinese_chars=False, strip_accents=False, lowercase=True),
    "strip_accents": normalizers.StripAccents(),
    "nfc": normalizers.NFC(),
    "nfd": normalizers.NFD(),
    "nfkc": normalizers.NFKC(),
    "nfkd": normalizers.NFKD(),
    "lowercase": normalizers.Lowercase(),
    "nmt": normalizers.Nmt(),
    "strip": normalizers.Strip(),
    "bytelevel": normalizers.ByteLevel(),
}


@pytest.mark.parametrize("name", list(NORMALIZERS))
def test_normalizer_all_code_points(name):
    ref, ours = pair_with(normalizer=NORMALIZERS[name])
    for sep in ("", " "):
        for text in chunks(sep):
            assert ours.normalize_str(text) == ref.normalizer.normalize_str(text)


def test_precompiled_all_code_points():
    doc = {"type": "Precompiled", "precompiled_charsmap": charsmap_b64()}
    t = Tokenizer(models.WordLevel({"[UNK]": 0}, unk_token="[UNK]"))
    js = json.loads(t.to_str())
    js["normalizer"] = doc
    ref = Tokenizer.from_str(json.dumps(js))
    ours = OurTokenizer.from_str(json.dumps(js))
    for sep in ("", " ", "a"):
        for text in chunks(sep, 1024):
            assert ours.normalize_str(text) == ref.normalizer.normalize_str(text)


PRE_TOKENIZERS = {
    "bert": pre_tokenizers.BertPreTokenizer(),
    "whitespace": pre_tokenizers.Whitespace(),
    "whitespace_split": pre_tokenizers.WhitespaceSplit(),
    "punctuation": pre_tokenizers.Punctuation(),
    "digits": pre_tokenizers.Digits(individual_digits=True),
    "bytelevel": pre_tokenizers.ByteLevel(add_prefix_space=True),
    "metaspace": pre_tokenizers.Metaspace(),
}


@pytest.mark.parametrize("name", list(PRE_TOKENIZERS))
def test_pre_tokenizer_all_code_points(name):
    ref, ours = pair_with(pre_tokenizer=PRE_TOKENIZERS[name])
    for sep in ("", "a", " "):
        for text in chunks(sep, 1024):
            assert ours.pre_tokenize_str(text) == ref.pre_tokenizer.pre_tokenize_str(text)


SPLIT_PATTERNS = [r"\w+", r"\W+", r"[\w\-]+", r"[^\w\s]+", r"\s+", r"\d+", r"\p{L}+", r"\p{N}+",
                  r"[^\s\p{L}\p{N}]+", r"[\]a]+", r"\h+", r"(?i:[a-z]+)"]


@pytest.mark.parametrize("pattern", SPLIT_PATTERNS)
def test_split_regex_all_code_points(pattern):
    """Oniguruma semantics of user patterns (``\\w`` differs from the regex crate's)."""
    from tokenizers import Regex

    ref, ours = pair_with(pre_tokenizer=pre_tokenizers.Split(Regex(pattern), "isolated"))
    for text in chunks("a", 1024):
        assert ours.pre_tokenize_str(text) == ref.pre_tokenizer.pre_tokenize_str(text)
