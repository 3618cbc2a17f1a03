"""Tokenizer classes against ``transformers`` (4.57, fast classes, no torch) loading the same
folder: the trained test tokenizers of ``tk_helpers`` saved with a tokenizer_config.json naming
each class (with config options that change behaviour), plus every committed model fixture.

Compared: ids, attention masks and token type ids (single texts and pairs), offsets, decode with
and without special tokens, special tokens and their ids, model input names, padding side."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

transformers = pytest.importorskip("transformers")

import onnxformers  # noqa: E402
import onnxformers.tokenizers  # noqa: E402
from onnxformers import AutoTokenizer  # noqa: E402
from onnxformers.tokenizers import TOKENIZER_CLASSES, tokenizer_class  # noqa: E402
from onnxformers.tokenizers.families import CodeGenTokenizer  # noqa: E402
from tk_helpers import HARD_CASES, _train_corpus, tokenizer_json  # noqa: E402

from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers  # noqa: E402,E501

MODELS = Path(__file__).parents[1] / "fixtures" / "models"
TEXTS = ["Hello world!", "The Soup was COLD, and the waiter was rude.", "", "  leading and trailing  ",
         "Héllo wörld naïve café — Ünïcödé", "東京タワーは333メートル。中文字符", "tabs\tand\nnewlines  here",
         "def f(x):\n    return x ** 2  # code", "emoji 😀👩‍👩‍👧 ok", "it's I'm we'll they'd",
         "text <s> with </s> specials [SEP] [MASK] <|endoftext|> <mask> inside"] + \
        [c for c in HARD_CASES if 0 < len(c) < 200][:25]
PAIRS = ["short", "a much longer second sequence here", "x", "", "pair five", "six"] * 10
SPECIAL_NAMES = ("bos", "eos", "unk", "sep", "pad", "cls", "mask")


def build_clip() -> Tokenizer:
    """The structure transformers' CLIPConverter produces (CLIPTokenizerFast insists on it)."""
    t = Tokenizer(models.BPE(unk_token="<|endoftext|>", continuing_subword_prefix="", end_of_word_suffix="</w>"))
    t.normalizer = normalizers.Sequence(
        [normalizers.NFC(), normalizers.Replace(Regex(r"\s+"), " "), normalizers.Lowercase()])
    t.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(r"'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"),
                             behavior="removed", invert=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False)])
    t.train_from_iterator(_train_corpus(), trainers.BpeTrainer(
        vocab_size=700, special_tokens=["<|startoftext|>", "<|endoftext|>"], end_of_word_suffix="</w>",
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    t.decoder = decoders.ByteLevel()
    t.post_processor = processors.RobertaProcessing(
        ("<|endoftext|>", t.token_to_id("<|endoftext|>")), ("<|startoftext|>", t.token_to_id("<|startoftext|>")),
        add_prefix_space=False, trim_offsets=False)
    return t


def _json(name: str) -> str:
    return build_clip().to_str() if name == "clip" else tokenizer_json(name)


LLAMA_SPECIALS = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"}
GPT2_SPECIALS = {"bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>", "unk_token": "<|endoftext|>"}
L3_SPECIALS = {"bos_token": "<|begin_of_text|>", "eos_token": "<|end_of_text|>", "unk_token": None}

#: (id, tokenizer_class, test tokenizer, tokenizer_config.json extras)
CASES = [
    ("bert", "BertTokenizer", "bert", {}),
    ("bert-cased-config", "BertTokenizer", "bert", {"do_lower_case": False}),
    ("bert-accents-cjk", "BertTokenizer", "bert", {"strip_accents": False, "tokenize_chinese_chars": False}),
    ("bert-strip-accents", "BertTokenizer", "bert_cased", {"do_lower_case": False, "strip_accents": True}),
    ("bert-cased-json-uncased-default", "BertTokenizer", "bert_cased", {}),
    ("distilbert", "DistilBertTokenizer", "bert_cased", {"do_lower_case": False}),
    ("convbert", "ConvBertTokenizer", "bert", {}),
    ("electra", "ElectraTokenizer", "bert", {"do_lower_case": False}),
    ("mobilebert", "MobileBertTokenizer", "bert", {}),
    ("squeezebert", "SqueezeBertTokenizer", "bert_cased", {}),
    ("mpnet", "MPNetTokenizer", "bert", {"bos_token": "[CLS]", "eos_token": "[SEP]", "sep_token": "[SEP]",
                                        "cls_token": "[CLS]", "pad_token": "[PAD]", "mask_token": "[MASK]"}),
    ("roberta", "RobertaTokenizer", "roberta", {}),
    ("roberta-prefix-space", "RobertaTokenizer", "roberta", {"add_prefix_space": True, "trim_offsets": False}),
    ("bart", "BartTokenizer", "roberta", {"trim_offsets": False}),
    ("blenderbot", "BlenderbotTokenizer", "roberta", {"add_prefix_space": True}),
    ("gpt2", "GPT2Tokenizer", "gpt2", {}),
    ("gpt2-prefix-space", "GPT2Tokenizer", "gpt2", {"add_prefix_space": True}),
    ("codegen", "CodeGenTokenizer", "gpt2", {}),
    ("generic-prefix-space", "PreTrainedTokenizerFast", "roberta", {}),
    ("qwen2", "Qwen2Tokenizer", "qwen2", {"eos_token": "<|end_of_text|>", "pad_token": "<|end_of_text|>",
                                          "unk_token": None}),
    ("gptneox", "GPTNeoXTokenizer", "gpt2", {}),
    ("gptneox-bos-eos", "GPTNeoXTokenizer", "gpt2", {"add_bos_token": True, "add_eos_token": True}),
    ("bloom", "BloomTokenizer", "gpt2", {**GPT2_SPECIALS, "pad_token": None}),
    ("bloom-prefix-space", "BloomTokenizer", "llama3", {**L3_SPECIALS, "pad_token": None, "add_prefix_space": True}),
    ("cohere", "CohereTokenizer", "llama3", L3_SPECIALS),
    ("cohere-prefix-space-eos", "CohereTokenizer", "llama3",
     {**L3_SPECIALS, "add_prefix_space": True, "add_eos_token": True}),
    ("llama", "LlamaTokenizer", "llama_spbpe", LLAMA_SPECIALS),
    ("llama-no-bos-eos", "LlamaTokenizer", "llama_spbpe", {**LLAMA_SPECIALS, "add_bos_token": False,
                                                          "add_eos_token": True}),
    ("llama-metaspace-nonlegacy", "LlamaTokenizer", "sp_metaspace_bpe", {**LLAMA_SPECIALS, "legacy": False}),
    ("llama-metaspace-legacy", "LlamaTokenizer", "sp_metaspace_bpe", {**LLAMA_SPECIALS, "legacy": True}),
    ("llama-defaults", "LlamaTokenizer", "llama_spbpe", {}),
    ("codellama", "CodeLlamaTokenizer", "llama_spbpe", {**LLAMA_SPECIALS, "add_eos_token": True}),
    ("gemma", "GemmaTokenizer", "llama_spbpe", {**LLAMA_SPECIALS, "pad_token": "<unk>"}),
    ("t5", "T5Tokenizer", "t5_unigram", {"extra_ids": 0}),
    ("t5-nonlegacy", "T5Tokenizer", "t5_unigram", {"extra_ids": 0, "legacy": False}),
    ("xlmroberta", "XLMRobertaTokenizer", "unigram_nfkc", {"mask_token": None}),
    ("camembert", "CamembertTokenizer", "unigram_nfkc", {"mask_token": None}),
    ("albert", "AlbertTokenizer", "t5_unigram", {"bos_token": None, "eos_token": "</s>", "sep_token": "</s>",
                                                 "cls_token": None, "mask_token": None}),
    ("debertav2", "DebertaV2Tokenizer", "t5_unigram", {"bos_token": None, "eos_token": "</s>", "sep_token": "</s>",
                                                       "cls_token": None, "mask_token": None, "unk_token": "<unk>",
                                                       "pad_token": "<pad>"}),
    ("deberta", "DebertaTokenizer", "roberta", {"bos_token": "<s>", "eos_token": "</s>", "sep_token": "</s>",
                                                "cls_token": "<s>", "unk_token": "<unk>", "pad_token": "<pad>",
                                                "mask_token": "<mask>"}),
    ("clip", "CLIPTokenizer", "clip", {}),
    ("clip-cleanup", "CLIPTokenizer", "clip", {"clean_up_tokenization_spaces": True}),
    ("nougat", "NougatTokenizer", "llama_spbpe", {"pad_token": None}),
]


def _vocab(doc: dict) -> set[str]:
    vocab = doc["model"]["vocab"]
    names = set(vocab) if isinstance(vocab, dict) else {p for p, _ in vocab}
    return names | {t["content"] for t in doc["added_tokens"]}


def make_folder(root: Path, case_id: str, cls: str, tok: str, extras: dict) -> Path:
    folder = root / case_id
    folder.mkdir()
    text = _json(tok)
    (folder / "tokenizer.json").write_text(text, encoding="utf-8")
    config = {"tokenizer_class": cls, **extras}
    # transformers adds a default special token that the vocabulary lacks as a new token; the
    # cases avoid that by naming only tokens that exist (or none).
    vocab = _vocab(json.loads(text))
    name = cls.removesuffix("Fast").removesuffix("Tokenizer")
    defaults = tokenizer_class(name).default_special_tokens if name in TOKENIZER_CLASSES else {}
    for key, value in defaults.items():
        if key not in config and value not in vocab:
            config[key] = None
    (folder / "tokenizer_config.json").write_text(json.dumps(config), encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return tmp_path_factory.mktemp("tokenizer_classes")


def load_both(folder: Path):
    ours = AutoTokenizer.from_pretrained(str(folder))
    theirs = transformers.AutoTokenizer.from_pretrained(str(folder))
    assert theirs.is_fast
    return ours, theirs


def compare(ours, theirs, texts=TEXTS, pairs=PAIRS) -> None:
    assert tuple(ours.model_input_names) == tuple(theirs.model_input_names)
    assert ours.padding_side == theirs.padding_side
    for name in SPECIAL_NAMES:
        assert getattr(ours, f"{name}_token") == getattr(theirs, f"{name}_token"), name
        mine = getattr(ours, f"{name}_token_id")
        if mine is not None:
            assert mine == getattr(theirs, f"{name}_token_id"), name
    keys = [k for k in theirs.model_input_names if k in ("input_ids", "attention_mask", "token_type_ids")]
    got = ours(texts, return_tensors=False, return_offsets_mapping=True)
    want = theirs(texts, return_offsets_mapping=True)
    assert set(got) == set(keys) | {"offset_mapping"}
    for k in keys:
        assert got[k] == want[k], k
    assert [[tuple(o) for o in row] for row in got["offset_mapping"]] == \
        [[tuple(o) for o in row] for row in want["offset_mapping"]]
    pairs = pairs[:len(texts)]
    got = ours(texts, pairs, return_tensors=False)
    want = theirs(texts, pairs)
    for k in keys:
        assert got[k] == want[k], ("pair", k)
    for t in texts:
        assert ours.tokenize(t) == theirs.tokenize(t), t
    batch = theirs(texts, pairs)["input_ids"]
    for skip in (False, True):
        for ids in batch:
            assert ours.decode(ids, skip_special_tokens=skip) == theirs.decode(ids, skip_special_tokens=skip)
        assert ours.batch_decode(batch, skip_special_tokens=skip) == theirs.batch_decode(
            batch, skip_special_tokens=skip)


@pytest.mark.parametrize("case_id,cls,tok,extras", CASES, ids=[c[0] for c in CASES])
def test_class_matches_transformers(root, case_id, cls, tok, extras):
    ours, theirs = load_both(make_folder(root, case_id, cls, tok, extras))
    compare(ours, theirs)


def _fixture_folders():
    return sorted(p.name for p in MODELS.iterdir()
                  if (p / "tokenizer.json").exists() and (p / "tokenizer_config.json").exists())


@pytest.mark.parametrize("name", _fixture_folders())
def test_committed_fixtures_match_transformers(name):
    folder = MODELS / name
    try:
        theirs = transformers.AutoTokenizer.from_pretrained(str(folder))
    except Exception as exc:  # a slow-only class (needs sentencepiece / vocab files)
        pytest.skip(f"transformers cannot load it without the slow tokenizer: {exc!r:.120}")
    if not theirs.is_fast:
        pytest.skip("transformers uses a slow tokenizer here")
    compare(AutoTokenizer.from_pretrained(str(folder)), theirs)


# -- behaviours in detail --------------------------------------------------------------------------
def test_add_bos_eos_setters_rebuild_the_post_processor(root):
    ours, theirs = load_both(make_folder(root, "llama-setters", "LlamaTokenizer", "llama_spbpe", LLAMA_SPECIALS))
    assert ours.add_bos_token is theirs.add_bos_token is True
    assert ours.add_eos_token is theirs.add_eos_token is False
    for bos, eos in [(False, True), (True, True), (False, False), (True, False)]:
        ours.add_bos_token, ours.add_eos_token = bos, eos
        theirs.add_bos_token, theirs.add_eos_token = bos, eos
        compare(ours, theirs, TEXTS[:6], PAIRS[:6])


def test_llama_missing_bos_token_is_an_error(root):
    folder = make_folder(root, "llama-no-bos", "LlamaTokenizer", "llama_spbpe", {**LLAMA_SPECIALS, "bos_token": None})
    with pytest.raises(ValueError, match="bos_token"):
        transformers.AutoTokenizer.from_pretrained(str(folder))
    with pytest.raises(onnxformers.TokenizerError, match="bos_token"):
        AutoTokenizer.from_pretrained(str(folder))


def test_bert_config_overrides_normalizer(root):
    """The behaviour the BERT cases above pin, spelled out: tokenizer.json says lowercase=False,
    tokenizer_config.json has no do_lower_case → transformers (and we) lowercase."""
    ours, theirs = load_both(make_folder(root, "bert-override", "BertTokenizer", "bert_cased", {}))
    assert ours.tokenize("HELLO World") == theirs.tokenize("HELLO World") == \
        theirs.tokenize("hello world")


def test_clip_decode_strips_word_suffix(root):
    ours, theirs = load_both(make_folder(root, "clip-decode", "CLIPTokenizer", "clip", {}))
    ids = theirs("A photo of a CAT.")["input_ids"]
    assert "</w>" in "".join(theirs.convert_ids_to_tokens(ids))
    assert ours.decode(ids, skip_special_tokens=True) == theirs.decode(ids, skip_special_tokens=True) \
        == "a photo of a cat ."


def test_codegen_truncate_before_pattern(root):
    ours, theirs = load_both(make_folder(root, "codegen-trunc", "CodeGenTokenizer", "gpt2", {}))
    assert isinstance(ours, CodeGenTokenizer)
    code = "def f(x):\n    return x\n\n# comment\nprint(1)\nprint(2)\ndef g():\n    pass\n"
    ids = theirs(code)["input_ids"]
    for patterns in (["^#", "\n\n\n"], ["^'''"], [r"\bprint"], []):
        assert ours.decode(ids, truncate_before_pattern=patterns) == \
            theirs.decode(ids, truncate_before_pattern=patterns), patterns
        assert ours.batch_decode([ids, ids[:9]], truncate_before_pattern=patterns) == \
            theirs.batch_decode([ids, ids[:9]], truncate_before_pattern=patterns), patterns


@pytest.mark.parametrize("cls,tok", [("LlamaTokenizer", "llama_spbpe"), ("T5Tokenizer", "t5_unigram")])
def test_sentencepiece_classes_with_add_prefix_space_warn(root, cls, tok):
    """An explicit add_prefix_space makes transformers re-convert from tokenizer.model (it cannot
    here: no sentencepiece model in the folder); we keep tokenizer.json and say so."""
    folder = make_folder(root, f"{cls}-aps", cls, tok, {"add_prefix_space": False, "extra_ids": 0,
                                                           **(LLAMA_SPECIALS if cls == "LlamaTokenizer" else {})})
    with pytest.raises(Exception):
        transformers.AutoTokenizer.from_pretrained(str(folder))
    with pytest.warns(UserWarning, match="SentencePiece model"):
        ours = AutoTokenizer.from_pretrained(str(folder))
    plain = json.loads(_json(tok))
    assert ours.encode("Hello world", add_special_tokens=False) == \
        Tokenizer.from_str(json.dumps(plain)).encode("Hello world", add_special_tokens=False).ids


def test_legacy_flag_does_not_change_a_tokenizer_json(root):
    """transformers 4.57 fast Llama/T5 tokenizers take the pipeline from tokenizer.json whatever
    ``legacy`` says (legacy only matters when converting from the SentencePiece model).
    Transformers.js 3.0.0 differs: its LlamaTokenizer with ``legacy: false`` swaps the normalizer
    and pre-tokenizer for a Metaspace(prepend_scheme="first") and drops the "▁" it adds before a
    special token; we follow Python."""
    texts = ["Hello <s>. world", "<s>Hello", "Hello</s> there", " leading", "a  b"]
    results = {}
    for legacy in (True, False, None):
        extras = dict(LLAMA_SPECIALS) if legacy is None else {**LLAMA_SPECIALS, "legacy": legacy}
        ours, theirs = load_both(make_folder(root, f"llama-legacy-{legacy}", "LlamaTokenizer", "llama_spbpe", extras))
        assert ours.legacy is (True if legacy is None else legacy)
        got = ours(texts, return_tensors=False)["input_ids"]
        assert got == theirs(texts)["input_ids"]
        results[legacy] = got
    assert results[True] == results[False] == results[None]


def test_real_mistral_legacy_and_nonlegacy(tmp_path):
    """The real Mistral v1 SentencePiece tokenizer converted with legacy=True and legacy=False,
    each loaded with both values of ``legacy`` in its config."""
    pypi_assets = pytest.importorskip("pypi_assets")
    texts = ["Hello <s>. world", "Hello</s> there", "  two spaces", "Déjà vu 東京", "<unk>x", ""]
    for converted in (True, False):
        try:
            src = pypi_assets.mistral_dir(converted)
        except Exception as exc:  # noqa: BLE001 - needs sentencepiece when not cached yet
            pytest.skip(f"mistral tokenizer unavailable: {exc!r:.100}")
        for legacy in (True, False):
            folder = tmp_path / f"m-{converted}-{legacy}"
            folder.mkdir()
            (folder / "tokenizer.json").write_bytes((src / "tokenizer.json").read_bytes())
            cfg = json.loads((src / "tokenizer_config.json").read_text(encoding="utf-8"))
            cfg["legacy"] = legacy
            (folder / "tokenizer_config.json").write_text(json.dumps(cfg), encoding="utf-8")
            ours, theirs = load_both(folder)
            compare(ours, theirs, texts, PAIRS[:len(texts)])


def test_marian_language_codes():
    """Marian (no fast class in transformers: the slow one needs SentencePiece files). The
    oracle is its ``remove_language_code``: a leading ``>>xx<<`` becomes one token and the rest
    is tokenized alone (here by ``tokenizers`` on the same tokenizer.json)."""
    doc = json.loads(tokenizer_json("t5_unigram"))
    for code in (">>fr<<", ">>de<<", ">>pt_BR<<"):
        doc["model"]["vocab"].append([code, -20.0])
    ref = Tokenizer.from_str(json.dumps(doc))
    ours = tokenizer_class("Marian")(doc, {"eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>"})
    assert ours.supported_language_codes == [">>fr<<", ">>de<<", ">>pt_BR<<"]
    fr = ref.token_to_id(">>fr<<")
    for text in ["Hello world", " Hello world", "Hello", "", "  spaced  out  "]:
        got = ours.encode(">>fr<<" + text)
        assert got == [fr] + ref.encode(text).ids, text
        assert ours.encode(text) == ref.encode(text).ids
    # decode keeps the code (it is not a special token), as transformers and Transformers.js do
    ids = ours.encode(">>de<< Guten Tag")
    assert ours.decode(ids, skip_special_tokens=True).startswith(">>de<<")
    assert ours.tokenize(">>pt_BR<< Olá")[0] == ">>pt_BR<<"


def test_every_inventory_class_is_registered():
    inventory = ("T5 DistilBert Camembert Deberta DebertaV2 Bert Herbert ConvBert RoFormer XLM Electra "
                 "MobileBert SqueezeBert Albert GPT2 Bart MBart MBart50 Roberta Whisper CodeGen CLIP "
                 "Siglip Marian Bloom Nllb M2M100 Llama CodeLlama XLMRoberta MPNet Falcon GPTNeoX Esm "
                 "Wav2Vec2CTC Blenderbot BlenderbotSmall SpeechT5 Nougat Vits Qwen2 Gemma Grok1 Cohere").split()
    assert len(inventory) == 44 and set(inventory) <= set(TOKENIZER_CLASSES)
    for name in inventory:
        cls = tokenizer_class(name)
        assert cls.__name__ == f"{name}Tokenizer"
        assert getattr(onnxformers.tokenizers, f"{name}Tokenizer") is cls
        # model input names and padding side follow the transformers class where there is one
        ref = getattr(transformers, f"{name}TokenizerFast", None) or getattr(transformers, f"{name}Tokenizer", None)
        if ref is not None:
            assert tuple(cls.model_input_names) == tuple(ref.model_input_names), name
            assert cls.default_padding_side == ref.padding_side, name


def test_tokenizer_json_is_not_reparsed_without_need(monkeypatch):
    """Classes without rewrites hand the text to Rust untouched (no JSON round trip)."""
    calls = []
    real = json.loads
    monkeypatch.setattr(json, "loads", lambda s, *a, **k: calls.append(1) or real(s, *a, **k))
    tokenizer_class("T5")(tokenizer_json("t5_unigram"), {})
    tokenizer_class("GPT2")(tokenizer_json("gpt2"), {})  # ByteLevel add_prefix_space already False
    assert calls == [1]  # gpt2: parsed once to check the ByteLevel pre-tokenizer


def test_tokenizer_doc_splices_the_model_back():
    """The partial parse used by the rewriting classes: sections before "model" are parsed, the
    model text is kept verbatim unless a class reads it; other layouts parse fully."""
    from onnxformers.tokenizers.base import TokenizerDoc

    for name in ["gpt2", "bert", "t5_unigram", "llama_spbpe"]:
        text = tokenizer_json(name)
        doc = TokenizerDoc.parse(text)
        assert doc._model_text is not None and "model" in doc
        assert json.loads(doc.dumps()) == json.loads(text)
        doc["post_processor"] = None
        want = json.loads(text)
        want["post_processor"] = None
        assert json.loads(doc.dumps()) == want
        assert doc["model"]["type"] == want["model"]["type"]  # read on demand
        assert doc._model_text is None and json.loads(doc.dumps()) == want
    # "model" first, or a section missing before it: a full parse
    full = json.loads(tokenizer_json("bert"))
    reordered = json.dumps({"model": full["model"], **{k: v for k, v in full.items() if k != "model"}})
    doc = TokenizerDoc.parse(reordered)
    assert doc._model_text is None and dict(doc) == full
    partial = json.dumps({"added_tokens": [{"id": 0, "content": '"model": x', "special": True}],
                          "model": full["model"], "decoder": None})
    doc = TokenizerDoc.parse(partial)
    assert doc._model_text is None and json.loads(doc.dumps()) == json.loads(partial)
    assert TokenizerDoc.parse("not json") is None and TokenizerDoc.parse("[1]") is None
