"""Helpers of the tokenizer conformance tests: the test tokenizers and the hard cases.

Every test tokenizer is trained here with the Hugging Face ``tokenizers`` trainers on the small
committed corpus (``data/corpus.txt``), serialised with ``.to_str()`` and loaded into both
``tokenizers.Tokenizer`` (the oracle) and ``onnxformers._core.Tokenizer``.
"""

from __future__ import annotations

import base64
import gzip
import json
from pathlib import Path
from typing import Callable

import pytest

pytest.importorskip("tokenizers")
from tokenizers import (  # noqa: E402
    AddedToken,
    Regex,
    Tokenizer,
    decoders,
    models,
    normalizers,
    pre_tokenizers,
    processors,
    trainers,
)

from onnxformers._core import Tokenizer as OurTokenizer  # noqa: E402

DATA = Path(__file__).parent / "data"
CORPUS = (DATA / "corpus.txt").read_text(encoding="utf-8").splitlines()
HARD_CASES: list[str] = json.loads((DATA / "hard_cases.json").read_text(encoding="utf-8"))
# Built here rather than committed: a 100k-char mixed string.
HARD_CASES.append(("Hello wörld, 東京 😀 123 " * 5000)[:100_000])

GPT2_SPLIT = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
LLAMA3_SPLIT = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)
QWEN2_SPLIT = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)


def _train_corpus() -> list[str]:
    # A few repetitions so that merges/pieces get real counts; hard cases add exotic chars.
    return CORPUS * 3 + [c for c in HARD_CASES if len(c) < 1000]


def _charsmap() -> bytes:
    return gzip.decompress((DATA / "nmt_nfkc.charsmap.gz").read_bytes())


def _add_common_tokens(t: Tokenizer, specials: list[str]) -> None:
    t.add_special_tokens(specials)
    t.add_tokens(
        [
            AddedToken("newword", normalized=True),
            AddedToken("single_word_tok", single_word=True, normalized=False),
        ]
    )


def build_bert() -> Tokenizer:
    t = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    t.normalizer = normalizers.BertNormalizer(lowercase=True)
    t.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    t.train_from_iterator(_train_corpus(), trainers.WordPieceTrainer(vocab_size=600, special_tokens=specials))
    t.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", t.token_to_id("[CLS]")), ("[SEP]", t.token_to_id("[SEP]"))],
    )
    t.decoder = decoders.WordPiece()
    _add_common_tokens(t, [])
    t.add_special_tokens([AddedToken("<mask>", lstrip=True, rstrip=True, special=True)])
    return t


def build_bert_cased() -> Tokenizer:
    t = Tokenizer(models.WordPiece(unk_token="[UNK]", max_input_chars_per_word=20))
    t.normalizer = normalizers.BertNormalizer(lowercase=False, handle_chinese_chars=False, strip_accents=None)
    t.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    t.train_from_iterator(_train_corpus(), trainers.WordPieceTrainer(vocab_size=500, special_tokens=specials))
    t.post_processor = processors.BertProcessing(("[SEP]", t.token_to_id("[SEP]")), ("[CLS]", t.token_to_id("[CLS]")))
    t.decoder = decoders.WordPiece(cleanup=False)
    return t


def build_gpt2() -> Tokenizer:
    t = Tokenizer(models.BPE())
    t.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    t.train_from_iterator(
        _train_corpus(),
        trainers.BpeTrainer(vocab_size=700, special_tokens=["<|endoftext|>"],
                            initial_alphabet=pre_tokenizers.ByteLevel.alphabet()),
    )
    t.post_processor = processors.ByteLevel(trim_offsets=True)
    t.decoder = decoders.ByteLevel()
    _add_common_tokens(t, [])
    return t


def build_roberta() -> Tokenizer:
    t = Tokenizer(models.BPE())
    t.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
    specials = ["<s>", "<pad>", "</s>", "<unk>"]
    t.train_from_iterator(
        _train_corpus(),
        trainers.BpeTrainer(vocab_size=600, special_tokens=specials,
                            initial_alphabet=pre_tokenizers.ByteLevel.alphabet()),
    )
    t.add_special_tokens([AddedToken("<mask>", lstrip=True, special=True)])
    t.post_processor = processors.RobertaProcessing(("</s>", t.token_to_id("</s>")), ("<s>", t.token_to_id("<s>")),
                                                    trim_offsets=True, add_prefix_space=True)
    t.decoder = decoders.ByteLevel()
    return t


def _byte_level_split(pattern: str, normalizer=None, vocab_size: int = 700) -> Tokenizer:
    t = Tokenizer(models.BPE(ignore_merges=True))
    t.normalizer = normalizer
    t.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(pattern), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    t.train_from_iterator(
        _train_corpus(),
        trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=["<|begin_of_text|>", "<|end_of_text|>"],
                            initial_alphabet=pre_tokenizers.ByteLevel.alphabet()),
    )
    bos = t.token_to_id("<|begin_of_text|>")
    t.post_processor = processors.Sequence(
        [
            processors.ByteLevel(trim_offsets=False),
            processors.TemplateProcessing(
                single="<|begin_of_text|> $A",
                pair="<|begin_of_text|> $A <|begin_of_text|>:1 $B:1",
                special_tokens=[("<|begin_of_text|>", bos)],
            ),
        ]
    )
    t.decoder = decoders.ByteLevel()
    return t


def build_llama3() -> Tokenizer:
    return _byte_level_split(LLAMA3_SPLIT)


def build_qwen2() -> Tokenizer:
    return _byte_level_split(QWEN2_SPLIT, normalizer=normalizers.NFC())


def build_llama_spbpe() -> Tokenizer:
    """Llama-2 style: SentencePiece BPE with byte fallback, normalizer Prepend + Replace."""
    t = Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=True, fuse_unk=True))
    t.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
    specials = ["<unk>", "<s>", "</s>"] + [f"<0x{i:02X}>" for i in range(256)]
    t.train_from_iterator(_train_corpus(), trainers.BpeTrainer(vocab_size=600, special_tokens=specials))
    t.post_processor = processors.TemplateProcessing(
        single="<s> $A", pair="<s> $A <s>:1 $B:1", special_tokens=[("<s>", t.token_to_id("<s>"))]
    )
    t.decoder = decoders.Sequence(
        [decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(), decoders.Strip(" ", 1, 0)]
    )
    return t


def build_sp_metaspace_bpe() -> Tokenizer:
    """Older SentencePiece-BPE export: Metaspace pre-tokenizer (prepend_scheme=first, no split)."""
    t = Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=True))
    t.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first", split=False)
    specials = ["<unk>", "<s>", "</s>"] + [f"<0x{i:02X}>" for i in range(256)]
    t.train_from_iterator(_train_corpus(), trainers.BpeTrainer(vocab_size=600, special_tokens=specials))
    t.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="first", split=False)
    return t


def build_t5_unigram() -> Tokenizer:
    t = Tokenizer(models.Unigram())
    t.normalizer = normalizers.Sequence(
        [normalizers.Precompiled(_charsmap()), normalizers.Replace(Regex(" {2,}"), " ")]
    )
    t.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    t.train_from_iterator(
        _train_corpus(), trainers.UnigramTrainer(vocab_size=900, special_tokens=["<pad>", "</s>", "<unk>"], unk_token="<unk>")
    )
    t.post_processor = processors.TemplateProcessing(
        single="$A </s>", pair="$A </s> $B </s>", special_tokens=[("</s>", t.token_to_id("</s>"))]
    )
    t.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    return t


def build_unigram_nfkc() -> Tokenizer:
    """XLM-R style without charsmap: NFKC + Lowercase, WhitespaceSplit + Metaspace, byte fallback."""
    t = Tokenizer(models.Unigram())
    t.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase(), normalizers.Strip()])
    t.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")]
    )
    t.train_from_iterator(
        _train_corpus(),
        trainers.UnigramTrainer(vocab_size=900, special_tokens=["<s>", "<pad>", "</s>", "<unk>"], unk_token="<unk>"),
    )
    t.post_processor = processors.RobertaProcessing(("</s>", t.token_to_id("</s>")), ("<s>", t.token_to_id("<s>")),
                                                    trim_offsets=False)
    t.decoder = decoders.Metaspace()
    return t


def build_wordlevel_misc() -> Tokenizer:
    """Normalizer and pre-tokenizer zoo on a WordLevel model."""
    t = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    t.normalizer = normalizers.Sequence(
        [
            normalizers.Strip(left=True, right=False),
            normalizers.NFD(),
            normalizers.StripAccents(),
            normalizers.Lowercase(),
            normalizers.Replace("``", '"'),
            normalizers.Replace(Regex(r"\d{4}"), "<year>"),
            normalizers.Nmt(),
        ]
    )
    t.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.WhitespaceSplit(),
            pre_tokenizers.Split("-", behavior="merged_with_previous"),
            pre_tokenizers.Digits(individual_digits=True),
            pre_tokenizers.Punctuation(behavior="contiguous"),
        ]
    )
    t.train_from_iterator(_train_corpus(), trainers.WordLevelTrainer(vocab_size=500, special_tokens=["[UNK]", "[SEP]"]))
    t.post_processor = processors.TemplateProcessing(
        single="$A [SEP]", pair="$A [SEP] $B:1 [SEP]:1", special_tokens=[("[SEP]", t.token_to_id("[SEP]"))]
    )
    return t


def build_whitespace_bpe() -> Tokenizer:
    """Classic BPE with Whitespace pre-tokenizer, subword prefix/suffix, NFKD + Nmt + Prepend."""
    t = Tokenizer(models.BPE(unk_token="<unk>", continuing_subword_prefix="##", end_of_word_suffix="</w>"))
    t.normalizer = normalizers.Sequence([normalizers.NFKD(), normalizers.Nmt(), normalizers.Strip(left=False, right=True)])
    t.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Whitespace(), pre_tokenizers.Digits(individual_digits=False)])
    t.train_from_iterator(
        _train_corpus(),
        trainers.BpeTrainer(vocab_size=600, special_tokens=["<unk>"], continuing_subword_prefix="##",
                            end_of_word_suffix="</w>"),
    )
    t.decoder = decoders.BPEDecoder(suffix="</w>")
    return t


def build_split_zoo() -> Tokenizer:
    """Split behaviours (regex and string, inverted), CharDelimiterSplit, NFC, Prepend."""
    t = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    t.normalizer = normalizers.Sequence([normalizers.NFC(), normalizers.Prepend("^")])
    t.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(r"\s+"), behavior="removed"),
            pre_tokenizers.Split(Regex(r"[,.;:!?]"), behavior="isolated"),
            pre_tokenizers.Split("_", behavior="merged_with_next"),
            pre_tokenizers.Split(Regex(r"\p{Lu}"), behavior="merged_with_next"),
            pre_tokenizers.Split(Regex(r"[0-9]+"), behavior="contiguous", invert=True),
            pre_tokenizers.CharDelimiterSplit("/"),
        ]
    )
    t.train_from_iterator(_train_corpus(), trainers.WordPieceTrainer(vocab_size=500, special_tokens=["[UNK]"]))
    t.decoder = decoders.WordPiece()
    return t


def build_metaspace_never() -> Tokenizer:
    t = Tokenizer(models.Unigram())
    t.normalizer = normalizers.Lowercase()
    t.pre_tokenizer = pre_tokenizers.Metaspace(replacement="_", prepend_scheme="never", split=True)
    t.train_from_iterator(_train_corpus(), trainers.UnigramTrainer(vocab_size=900, special_tokens=["<unk>"], unk_token="<unk>"))
    t.decoder = decoders.Metaspace(replacement="_", prepend_scheme="never")
    return t


def build_fixed_length() -> Tokenizer:
    t = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    t.pre_tokenizer = pre_tokenizers.FixedLength(length=3)
    t.train_from_iterator(_train_corpus(), trainers.WordLevelTrainer(vocab_size=400, special_tokens=["[UNK]"]))
    return t


def build_bytelevel_normalizer() -> Tokenizer:
    """ByteLevel as a *normalizer* (no pre-tokenizer), Strip decoder."""
    t = Tokenizer(models.BPE())
    t.normalizer = normalizers.ByteLevel()
    t.train_from_iterator(
        _train_corpus(),
        trainers.BpeTrainer(vocab_size=500, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()),
    )
    t.decoder = decoders.ByteLevel()
    return t


BUILDERS: dict[str, Callable[[], Tokenizer]] = {
    "bert": build_bert,
    "bert_cased": build_bert_cased,
    "gpt2": build_gpt2,
    "roberta": build_roberta,
    "llama3": build_llama3,
    "qwen2": build_qwen2,
    "llama_spbpe": build_llama_spbpe,
    "sp_metaspace_bpe": build_sp_metaspace_bpe,
    "t5_unigram": build_t5_unigram,
    "unigram_nfkc": build_unigram_nfkc,
    "wordlevel_misc": build_wordlevel_misc,
    "whitespace_bpe": build_whitespace_bpe,
    "split_zoo": build_split_zoo,
    "metaspace_never": build_metaspace_never,
    "fixed_length": build_fixed_length,
    "bytelevel_normalizer": build_bytelevel_normalizer,
}

_CACHE: dict[str, str] = {}


def tokenizer_json(name: str) -> str:
    """The tokenizer.json text of a test tokenizer (trained once per session)."""
    if name not in _CACHE:
        _CACHE[name] = BUILDERS[name]().to_str()
    return _CACHE[name]


def load_pair(name: str):
    """(reference, ours) loaded from the same tokenizer.json."""
    js = tokenizer_json(name)
    ref = Tokenizer.from_str(js)
    ref.no_padding()
    ref.no_truncation()
    return ref, OurTokenizer.from_str(js)


@pytest.fixture(scope="session", params=list(BUILDERS))
def tok_pair(request):
    return (request.param, *load_pair(request.param))


def charsmap_b64() -> str:
    return base64.b64encode(_charsmap()).decode()
