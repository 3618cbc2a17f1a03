"""Exact parity with Hugging Face ``tokenizers`` on the committed hard-case corpus.

For every test tokenizer (see conftest) and every case: ids, tokens, type ids, char offsets,
word ids, special-token mask and attention mask of ``encode`` (single and pair, with and without
special tokens), and ``decode`` with and without ``skip_special_tokens``.
"""

from __future__ import annotations

import pytest

from tk_helpers import BUILDERS, CORPUS, HARD_CASES, load_pair

FIELDS = ("ids", "tokens", "type_ids", "offsets", "word_ids", "special_tokens_mask", "attention_mask")
CASES = HARD_CASES + CORPUS


def diff_encoding(ref, ours) -> str | None:
    for f in FIELDS:
        a, b = getattr(ref, f), getattr(ours, f)
        if list(a) != list(b):
            i = next((k for k, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
            return f"{f} differ at {i}: ref={list(a)[max(0, i - 3):i + 3]} ours={list(b)[max(0, i - 3):i + 3]}"
    return None


def compare_case(ref, ours, text: str, pair: str | None = None) -> list[str]:
    errors = []
    for add_special in (True, False):
        r = ref.encode(text, pair, add_special_tokens=add_special)
        o = ours.encode(text, pair, add_special_tokens=add_special)
        d = diff_encoding(r, o)
        if d:
            errors.append(f"encode({text[:40]!r}, pair={pair and pair[:20]!r}, special={add_special}): {d}")
            continue
        for skip in (False, True):
            a = ref.decode(r.ids, skip_special_tokens=skip)
            b = ours.decode(r.ids, skip_special_tokens=skip)
            if a != b:
                errors.append(f"decode({text[:40]!r}, skip={skip}): ref={a[:60]!r} ours={b[:60]!r}")
    return errors


@pytest.mark.parametrize("name", list(BUILDERS))
def test_hard_cases_single(name):
    ref, ours = load_pair(name)
    errors = []
    for text in CASES:
        errors += compare_case(ref, ours, text)
    assert not errors, f"{len(errors)} mismatches on {name}:\n" + "\n".join(errors[:15])


@pytest.mark.parametrize("name", list(BUILDERS))
def test_hard_cases_pairs(name):
    ref, ours = load_pair(name)
    errors = []
    short = [c for c in CASES if len(c) < 2000]
    for a, b in zip(short, short[1:] + short[:1]):
        errors += compare_case(ref, ours, a, b)
    assert not errors, f"{len(errors)} mismatches on {name}:\n" + "\n".join(errors[:15])


@pytest.mark.parametrize("name", list(BUILDERS))
def test_vocab_and_lookups(name):
    ref, ours = load_pair(name)
    assert ours.get_vocab(True) == ref.get_vocab(True)
    assert ours.get_vocab(False) == ref.get_vocab(False)
    assert ours.get_vocab_size(True) == ref.get_vocab_size(True)
    assert ours.get_vocab_size(False) == ref.get_vocab_size(False)
    for tok, i in list(ref.get_vocab(True).items())[:200]:
        assert ours.token_to_id(tok) == i
        assert ours.id_to_token(i) == ref.id_to_token(i)
    assert ours.token_to_id("surely-not-a-token-\u2603\u2603") is None
    assert ours.id_to_token(10**6) is None
    added = {(t.id, t.content, t.special) for t in ours.added_tokens}
    expected = {(i, t.content, t.special) for i, t in ref.get_added_tokens_decoder().items()}
    assert added == expected


@pytest.mark.parametrize("name", list(BUILDERS))
def test_normalize_and_pre_tokenize_str(name):
    ref, ours = load_pair(name)
    for text in CASES[:80]:
        if ref.normalizer is not None:
            assert ours.normalize_str(text) == ref.normalizer.normalize_str(text), text
        if ref.pre_tokenizer is not None:
            assert ours.pre_tokenize_str(text) == ref.pre_tokenizer.pre_tokenize_str(text), text


@pytest.mark.parametrize("name", list(BUILDERS))
def test_decode_arbitrary_ids(name):
    """Decoding id sequences that no encode produces (random order, all specials)."""
    import random

    ref, ours = load_pair(name)
    rng = random.Random(0)
    n = ref.get_vocab_size(True)
    for _ in range(100):
        ids = [rng.randrange(n) for _ in range(rng.randrange(0, 30))]
        for skip in (False, True):
            assert ours.decode(ids, skip) == ref.decode(ids, skip_special_tokens=skip), ids
    batch = [[rng.randrange(n) for _ in range(10)] for _ in range(20)]
    for skip in (False, True):
        assert ours.decode_batch(batch, skip) == ref.decode_batch(batch, skip_special_tokens=skip)
