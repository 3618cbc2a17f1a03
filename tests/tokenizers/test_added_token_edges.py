"""Added tokens at their edges, against Hugging Face ``tokenizers`` (the oracle).

Four base pipelines (lowercasing WordLevel, byte-level BPE, Metaspace Unigram with NFKC, BERT
WordPiece with a template) each get one of three added-token sets:

* ``flags``: 32 tokens, one per combination of lstrip / rstrip / single_word / normalized /
  special (mixed case, so a lowercasing normalizer decides whether ``normalized`` matters);
* ``overlap``: tokens that overlap or are prefixes of each other (leftmost-longest matching),
  contain spaces, or are whitespace themselves, with mixed flags;
* ``realistic``: the tokens real models add (``<mask>`` with lstrip, ``<|im_start|>``, ``[MASK]``,
  a normalized non-ASCII word, an emoji, ``▁``, a newline token…).

Inputs glue those tokens (and case/whitespace variants, truncated copies) to text, spaces, tabs,
punctuation and non-ASCII letters: a deterministic batch per combination plus hypothesis strings.
Compared: every Encoding field, ``encode_batch``, ``decode`` with and without skipping specials,
and the added-token listing itself.
"""

from __future__ import annotations

import itertools
import random

import pytest

pytest.importorskip("tokenizers")
pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from tokenizers import (  # noqa: E402
    AddedToken,
    Tokenizer,
    decoders,
    models,
    normalizers,
    pre_tokenizers,
    processors,
    trainers,
)

from tk_helpers import CORPUS  # noqa: E402

from onnxformers._core import Tokenizer as OurTokenizer  # noqa: E402

# --------------------------------------------------------------------------------------------
# base pipelines

_TRAIN = CORPUS * 3 + ["ñandú café über straße 東京 😀 mask token word", "abc abcd bcd cde x y z"]


def base_wordlevel_lower() -> Tokenizer:
    t = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    t.normalizer = normalizers.Lowercase()
    t.pre_tokenizer = pre_tokenizers.Whitespace()
    t.train_from_iterator(_TRAIN, trainers.WordLevelTrainer(vocab_size=400, special_tokens=["[UNK]"]))
    return t


def base_byte_level() -> Tokenizer:
    t = Tokenizer(models.BPE())
    t.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    t.train_from_iterator(_TRAIN, trainers.BpeTrainer(vocab_size=500,
                                                      initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    t.post_processor = processors.ByteLevel(trim_offsets=True)
    t.decoder = decoders.ByteLevel()
    return t


def base_metaspace_unigram() -> Tokenizer:
    t = Tokenizer(models.Unigram())
    t.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()])
    t.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    t.train_from_iterator(_TRAIN, trainers.UnigramTrainer(vocab_size=300, special_tokens=["<unk>"],
                                                          unk_token="<unk>"))
    t.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    return t


def base_bert() -> Tokenizer:
    t = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    t.normalizer = normalizers.BertNormalizer(lowercase=True)
    t.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    t.train_from_iterator(_TRAIN, trainers.WordPieceTrainer(vocab_size=400,
                                                            special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]"]))
    t.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", t.token_to_id("[CLS]")), ("[SEP]", t.token_to_id("[SEP]"))])
    t.decoder = decoders.WordPiece()
    return t


BASES = {
    "wordlevel_lower": base_wordlevel_lower,
    "byte_level": base_byte_level,
    "metaspace_unigram": base_metaspace_unigram,
    "bert": base_bert,
}

# --------------------------------------------------------------------------------------------
# added-token sets: (content, lstrip, rstrip, single_word, normalized, special)

FLAG_COMBOS = list(itertools.product((False, True), repeat=5))
FLAGS = [(f"Mk{i:02d}", *combo) for i, combo in enumerate(FLAG_COMBOS)]

OVERLAP = [
    ("abc", False, False, False, False, False),
    ("abcd", False, False, False, True, False),   # longer: wins where both start
    ("bcd", False, False, True, False, True),     # starts inside "abcd"
    ("cde", True, True, False, False, False),
    ("<<", False, False, False, False, True),
    ("<<<", False, True, False, False, True),
    ("[x]", True, False, False, False, True),
    ("x]", False, False, False, True, False),
    ("a b", False, False, False, False, False),   # contains a space
    (" spaced ", False, False, False, False, True),
    ("\t", False, False, False, False, False),    # whitespace as a token
    ("Word", False, False, True, True, False),    # single word, normalized (lowercased: "word")
    ("WORDS", False, False, True, False, False),
]

REALISTIC = [
    ("<mask>", True, False, False, False, True),   # RoBERTa
    ("[MASK]", False, False, False, False, True),
    ("<|im_start|>", False, False, False, False, True),
    ("<|im_end|>", False, False, False, False, True),
    ("<|endoftext|>", False, False, False, False, True),
    ("ñandú", False, False, False, True, False),  # normalized non-ASCII word
    ("🤗", False, False, False, False, False),
    ("▁", False, False, False, False, False),
    ("\n", False, False, False, False, False),
    ("  ", False, False, False, True, False),    # double space (code tokenizers)
    ("<tool_call>", True, True, False, False, False),
    ("Ĉ", False, False, False, False, True),       # a byte-level char as a special token
]

SETS = {"flags": FLAGS, "overlap": OVERLAP, "realistic": REALISTIC}


def build(base: str, token_set: str) -> str:
    t = BASES[base]()
    tokens = [AddedToken(c, lstrip=l, rstrip=r, single_word=s, normalized=n, special=sp)
              for c, l, r, s, n, sp in SETS[token_set]]
    # add_tokens keeps the `special` flag given; add_special_tokens would force it to True
    t.add_tokens(tokens)
    return t.to_str()


_PAIRS: dict[tuple[str, str], tuple] = {}


def load(base: str, token_set: str):
    key = (base, token_set)
    if key not in _PAIRS:
        js = build(base, token_set)
        ref = Tokenizer.from_str(js)
        _PAIRS[key] = (ref, OurTokenizer.from_str(js))
    return _PAIRS[key]


COMBOS = [(b, s) for b in BASES for s in SETS]

# --------------------------------------------------------------------------------------------
# inputs

_FILLERS = [" ", "  ", "\t", "\n", " \n ", "a", "xx", "Hello", "word", ".", ",", "!", "é", "東京", "😀",
            "_", "-", "0", "42", "\u00a0", "\u3000", "'s"]


def variants(content: str) -> list[str]:
    out = [content, content.lower(), content.upper(), content[:-1], content[1:], content + content]
    return [v for v in dict.fromkeys(out) if v]


def texts_for(token_set: str, n: int = 400, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    pieces = [v for c, *_ in SETS[token_set] for v in variants(c)]
    out = [c for c, *_ in SETS[token_set]]
    out += [f"{f}{c}{g}" for c, *_ in SETS[token_set] for f, g in
            [("", ""), (" ", " "), ("  ", "  "), ("x", "y"), ("\t", "\n"), ("a ", " b"), (".", "!")]]
    for _ in range(n):
        k = rng.randrange(1, 9)
        out.append("".join(rng.choice(pieces) if rng.random() < 0.5 else rng.choice(_FILLERS)
                           for _ in range(k)))
    return out


# --------------------------------------------------------------------------------------------
# comparison

FIELDS = ("ids", "tokens", "type_ids", "offsets", "word_ids", "special_tokens_mask", "attention_mask")


def compare(ref, ours, text: str, pair: str | None = None) -> list[str]:
    errors = []
    for add_special in (True, False):
        r = ref.encode(text, pair, add_special_tokens=add_special)
        o = ours.encode(text, pair, add_special_tokens=add_special)
        for f in FIELDS:
            a, b = list(getattr(r, f)), list(getattr(o, f))
            if a != b:
                errors.append(f"encode({text!r}, pair={pair!r}, special={add_special}).{f}: "
                              f"ref={a[:12]} ours={b[:12]}")
                break
        else:
            for skip in (False, True):
                a, b = ref.decode(r.ids, skip_special_tokens=skip), ours.decode(r.ids, skip)
                if a != b:
                    errors.append(f"decode({text!r}, skip={skip}): ref={a!r} ours={b!r}")
    return errors


# --------------------------------------------------------------------------------------------
# tests


@pytest.mark.parametrize("base,token_set", COMBOS)
def test_added_tokens_listing(base, token_set):
    ref, ours = load(base, token_set)
    expected = {(i, t.content, t.lstrip, t.rstrip, t.single_word, t.normalized, t.special)
                for i, t in ref.get_added_tokens_decoder().items()}
    got = {(t.id, t.content, t.lstrip, t.rstrip, t.single_word, t.normalized, t.special)
           for t in ours.added_tokens}
    assert got == expected
    assert ours.get_vocab(True) == ref.get_vocab(True)
    for content, *_, special in SETS[token_set]:
        assert ours.is_special_token(content) == special, content


@pytest.mark.parametrize("base,token_set", COMBOS)
def test_generated_texts(base, token_set):
    ref, ours = load(base, token_set)
    texts = texts_for(token_set)
    errors = [e for t in texts for e in compare(ref, ours, t)]
    rng = random.Random(5)
    pairs = [(rng.choice(texts), rng.choice(texts)) for _ in range(60)]
    errors += [e for a, b in pairs for e in compare(ref, ours, a, b)]
    assert not errors, f"{len(errors)} mismatches / {len(texts) + len(pairs)} inputs:\n" + "\n".join(errors[:20])


@pytest.mark.parametrize("base,token_set", COMBOS)
def test_batch_matches(base, token_set):
    ref, ours = load(base, token_set)
    texts = texts_for(token_set, n=100, seed=9)
    want = [e.ids for e in ref.encode_batch(texts)]
    assert ours.encode_batch_ids(texts, True) == want
    assert [e.offsets for e in ours.encode_batch(texts)] == [e.offsets for e in ref.encode_batch(texts)]
    for skip in (False, True):
        assert ours.decode_batch(want, skip) == ref.decode_batch(want, skip_special_tokens=skip)


@pytest.mark.parametrize("base,token_set", COMBOS)
def test_decode_added_ids_anywhere(base, token_set):
    """Added-token ids mixed with model ids in any order (as a generator would emit them)."""
    ref, ours = load(base, token_set)
    rng = random.Random(7)
    added = [t.id for t in ours.added_tokens]
    n = ref.get_vocab_size(False)
    for _ in range(150):
        ids = [rng.choice(added) if rng.random() < 0.4 else rng.randrange(n) for _ in range(rng.randrange(12))]
        for skip in (False, True):
            assert ours.decode(ids, skip) == ref.decode(ids, skip_special_tokens=skip), (ids, skip)


def _text_strategy(token_set: str):
    pieces = [v for c, *_ in SETS[token_set] for v in variants(c)] + _FILLERS
    return st.lists(st.one_of(st.sampled_from(pieces), st.text(max_size=4)), max_size=10).map("".join)


@pytest.mark.parametrize("base,token_set", COMBOS)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_hypothesis(base, token_set, data):
    ref, ours = load(base, token_set)
    strategy = _text_strategy(token_set)
    text = data.draw(strategy, label="text")
    pair = data.draw(st.one_of(st.none(), strategy), label="pair")
    errors = compare(ref, ours, text, pair)
    assert not errors, "\n".join(errors)
