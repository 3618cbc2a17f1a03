"""The ``UnicodeScripts`` pre-tokenizer against ``tokenizers``: every code point (in order and
shuffled, so that every pair of script classes meets), the two "is it Any?" probes, a
multilingual corpus, whole tokenizers built on it, and hypothesis strings."""

from __future__ import annotations

import json
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from onnxformers._core import Tokenizer as OurTokenizer
from tk_helpers import CORPUS, HARD_CASES, _train_corpus

from tokenizers import Tokenizer, models, pre_tokenizers, trainers

CPS = [chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
# Every code point that can have a script (BMP, planes 1-3, plane 14) plus a sample of the
# planes that are all unassigned or private use (alike within each plane): for the probes.
_RANGES = [range(0, 0xD800), range(0xE000, 0x32400), range(0xE0000, 0xE0200),
           range(0x40000, 0xE0000, 97), range(0xF0000, 0x110000, 89)]
SAMPLED = [chr(c) for r in _RANGES for c in r]
MULTILINGUAL = [
    "どこで生れ。Yes", "Apples are りんご 林檎", "東京タワーは333メートル。", "カタカナーとひらがな",
    "Привет, мир! Hello мир", "مرحبا بالعالم 123 hello", "नमस्ते दुनिया, hello", "Ελληνικά και English",
    "한국어 텍스트와 English 混合", "עברית ו-English", "ภาษาไทย ไม่มีช่องว่าง", "Ünïcödé ąčęėįšųūž",
    "e\u0301te\u0301 combining", "emoji 😀👩‍👩‍👧 mixed", "  leading spaces", "trailing spaces   ",
    "tabs\tand\nnewlines", " ", "", "\u3000ideographic space", "x\u0378y unassigned", "ꙮ Ⰰ ᚠ 𐌰 𓀀",
]


def pair():
    t = Tokenizer(models.WordLevel({"[UNK]": 0}, unk_token="[UNK]"))
    t.pre_tokenizer = pre_tokenizers.UnicodeScripts()
    return t, OurTokenizer.from_str(t.to_str())


REF, OURS = pair()


def check(text: str) -> None:
    assert OURS.pre_tokenize_str(text) == REF.pre_tokenizer.pre_tokenize_str(text), text


def test_every_code_point_in_order_and_shuffled():
    size = 4096
    for i in range(0, len(CPS), size):
        check("".join(CPS[i:i + size]))
    shuffled = SAMPLED[:]
    random.Random(0).shuffle(shuffled)
    for i in range(0, len(shuffled), size):
        check("".join(shuffled[i:i + size]))
        check(" ".join(shuffled[i:i + size]))


def test_any_probes():
    """"ア" + c + "a" and "a" + c + "ア" split differently for each kind of c (Any: at neither c
    nor next to it; Han: not before c in the first; Latin: not before "a"...): together they tell
    Any (space, unassigned) from every script. A leading Any char is dropped: c + "a" alone."""
    for i in range(0, len(SAMPLED), 4096):
        chunk = SAMPLED[i:i + 4096]
        check("".join("ア" + c + "a" for c in chunk))
        check("".join("a" + c + "ア" for c in chunk))
    for c in random.Random(1).sample(CPS, 300) + [" ", "\u0378", "ー", "a", "0", "\u0301"]:
        check(c + "a")
        check(c)


@pytest.mark.parametrize("text", MULTILINGUAL + HARD_CASES[:60] + CORPUS[:200])
def test_multilingual(text):
    check(text)


def test_inside_a_sequence_and_a_trained_tokenizer():
    """UnicodeScripts as SentencePiece-converted tokenizers use it, before a Unigram model."""
    t = Tokenizer(models.Unigram())
    t.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.WhitespaceSplit(), pre_tokenizers.UnicodeScripts(),
         pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")])
    t.train_from_iterator(_train_corpus() + MULTILINGUAL,
                          trainers.UnigramTrainer(vocab_size=700, special_tokens=["<unk>"], unk_token="<unk>"))
    ours = OurTokenizer.from_str(t.to_str())
    for text in MULTILINGUAL + HARD_CASES:
        want = t.encode(text)
        got = ours.encode(text)
        assert got.ids == want.ids, text
        assert got.offsets == want.offsets, text
    doc = json.loads(t.to_str())
    assert doc["pre_tokenizer"]["pretokenizers"][1] == {"type": "UnicodeScripts"}


_ALPHABET = st.sampled_from(
    list(" \t\n.,!?0123456789aZéß")
    + list("ぁアー漢字한글абвαβγابתशक्षกขꙮ\u0301\u0378\u3000😀\u200d"))


@settings(max_examples=400, deadline=None)
@given(st.text(_ALPHABET, max_size=40) | st.text(max_size=40))
def test_hypothesis(text):
    check(text)
