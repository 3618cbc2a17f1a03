"""Regenerate ``nmt_nfkc.charsmap.gz``: the SentencePiece ``precompiled_charsmap`` of the standard
``nmt_nfkc`` normalization rule (the one T5, ALBERT, XLNet, mT5... ship), gzip-compressed.

Needs ``sentencepiece`` (not a test dependency): ``pip install sentencepiece`` then
``python tests/tokenizers/data/make_charsmap.py``. The charsmap only depends on the rule name,
not on the corpus.
"""

import gzip
import io
from pathlib import Path

import sentencepiece as spm


def _varint(b: bytes, i: int):
    r = s = 0
    while True:
        x = b[i]
        i += 1
        r |= (x & 0x7F) << s
        s += 7
        if x < 0x80:
            return r, i


def _fields(b: bytes):
    i = 0
    while i < len(b):
        key, i = _varint(b, i)
        f, wt = key >> 3, key & 7
        if wt == 0:
            v, i = _varint(b, i)
        elif wt == 2:
            n, i = _varint(b, i)
            v, i = b[i : i + n], i + n
        elif wt == 5:
            v, i = b[i : i + 4], i + 4
        elif wt == 1:
            v, i = b[i : i + 8], i + 8
        else:
            raise ValueError(f"wire type {wt}")
        yield f, v


def charsmap(model_proto: bytes) -> bytes:
    # ModelProto.normalizer_spec = 3; NormalizerSpec.precompiled_charsmap = 2
    for f, v in _fields(model_proto):
        if f == 3:
            for g, w in _fields(v):
                if g == 2:
                    return bytes(w)
    raise ValueError("no precompiled_charsmap")


def main() -> None:
    here = Path(__file__).parent
    lines = ["a small corpus for a throwaway model"] * 8
    out = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines), model_writer=out, vocab_size=20, hard_vocab_limit=False,
        model_type="unigram", normalization_rule_name="nmt_nfkc",
    )
    data = charsmap(out.getvalue())
    (here / "nmt_nfkc.charsmap.gz").write_bytes(gzip.compress(data, 9, mtime=0))
    print(f"wrote {len(data)} bytes of charsmap")


if __name__ == "__main__":
    main()
