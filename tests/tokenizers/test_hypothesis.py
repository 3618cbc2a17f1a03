"""Property test: on generated strings, our tokenizer gives exactly what ``tokenizers`` gives."""

from __future__ import annotations

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from test_conformance import compare_case  # noqa: E402
from tk_helpers import BUILDERS, load_pair  # noqa: E402

PIECES = [
    " ", "  ", "\t", "\n", "\r\n", "\u00a0", "\u3000", "\u200b", "\u200d", "\ufeff",
    "'s", "'LL", "n't", "...", "--", "__", "/", "@", "#", "$", "%", "&", "*",
    "[CLS]", "[SEP]", "[MASK]", "<mask>", "<|endoftext|>", "<s>", "</s>", "<unk>", "newword", "single_word_tok",
    "'ſ", "'Re", "\r\n", "▁", "Ġ", "é", "e\u0301", "ﬁ", "①", "½", "²", "Ⅻ", "ß", "İ", "Σ", "ǅ",
    "東京", "한국", "مرحبا", "नमस्ते", "😀", "👍🏽", "👨‍👩‍👧", "🇫🇷", "\x00", "\x7f", "\ufffd",
]

text_strategy = st.lists(
    st.one_of(
        st.sampled_from(PIECES),
        st.text(max_size=6),
        st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=6),
        st.from_regex(r"[A-Za-z0-9]{1,8}", fullmatch=True),
    ),
    max_size=12,
).map("".join)


@pytest.mark.parametrize("name", list(BUILDERS))
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=text_strategy, pair=st.one_of(st.none(), text_strategy))
def test_random_strings(name, text, pair):
    ref, ours = _pair(name)
    errors = compare_case(ref, ours, text, pair)
    assert not errors, "\n".join(errors)


_LOADED: dict = {}


def _pair(name):
    if name not in _LOADED:
        _LOADED[name] = load_pair(name)
    return _LOADED[name]
