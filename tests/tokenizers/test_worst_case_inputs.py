"""Worst-case inputs: exact against ``tokenizers``. (Their time per MB against 10 KB inputs is
measured in benches/bench_tokenizers.py, not asserted here: speed is never a unit test.)

The inputs that used to be slow: one long word with no spaces (one BPE piece of 200k symbols),
a base64 blob (many short unique pieces), and SentencePiece-style text with many spaces (the
``" " -> "▁"`` Replace normalizer was quadratic, and without a pre-tokenizer the whole text is
one BPE piece, cut by the model at the ``▁`` boundaries where no merge can cross).
"""

from __future__ import annotations

import base64
import random

import pytest

from test_conformance import diff_encoding
from tk_helpers import load_pair

N = 200_000


def _inputs() -> dict[str, str]:
    rng = random.Random(0)
    words = ["the", "tokenizer", "a", "of", "ünïcode", "東京", "123", "x" * 40, "-", "'s"]
    return {
        "letters": "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(N)),
        "base64": base64.b64encode(rng.randbytes(N * 3 // 4)).decode(),
        "spaced": " ".join(rng.choice(words) for _ in range(N // 5))[:N],
        "space runs": "".join(rng.choice(["a", "b", " ", "  ", "    "]) for _ in range(N // 2))[:N],
    }


INPUTS = _inputs()
MODELS = ["gpt2", "llama_spbpe", "sp_metaspace_bpe", "t5_unigram", "bert"]


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("case", list(INPUTS))
def test_worst_case_inputs_match_tokenizers(model, case):
    ref, ours = load_pair(model)
    text = INPUTS[case]
    r = ref.encode(text, add_special_tokens=False)
    o = ours.encode(text, None, False)
    assert diff_encoding(r, o) is None, diff_encoding(r, o)
    # The ids-only batch path goes through the same model code without token strings.
    assert ours.encode_batch_ids([text, text[: N // 3]], False) == [r.ids, ref.encode(
        text[: N // 3], add_special_tokens=False).ids]
