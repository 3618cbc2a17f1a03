"""Language-code tokenizers (NLLB, M2M100, mBART, mBART-50) against transformers' fast tokenizers:
source-language prefix/suffix tokens, src_lang switching, and the forced BOS of the target."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from onnxformers import AutoTokenizer, InvalidInputError
from onnxformers.tokenizers.multilingual import (
    M2M100Tokenizer,
    MBart50Tokenizer,
    MBartTokenizer,
    NllbTokenizer,
)

transformers = pytest.importorskip("transformers")

NLLB = Path(__file__).parent.parent / "fixtures" / "models" / "tiny-nllb-translation"
TEXTS = ["The river runs", "In summer, children swim near the banks while their parents read.",
         "café déjà vu", ""]


def _compare(ours, ref, src_langs, texts=TEXTS):
    for src in src_langs:
        ref.src_lang = src
        view = ours.with_src_lang(src)
        for text in texts:
            assert view.encode(text) == ref(text)["input_ids"], (src, text)
        assert view.encode(texts[0], texts[1]) == ref(texts[0], texts[1])["input_ids"], src
        got = view(texts, padding=True, truncation=True, max_length=9)
        want = ref(texts, padding=True, truncation=True, max_length=9, return_tensors="np")
        np.testing.assert_array_equal(got["input_ids"], want["input_ids"])
        np.testing.assert_array_equal(got["attention_mask"], want["attention_mask"])


@pytest.fixture(scope="module")
def nllb():
    return AutoTokenizer.from_pretrained(str(NLLB))


def test_nllb_matches_transformers(nllb):
    ref = transformers.NllbTokenizerFast.from_pretrained(str(NLLB))
    assert isinstance(nllb, NllbTokenizer)
    from transformers.models.nllb.tokenization_nllb_fast import FAIRSEQ_LANGUAGE_CODES

    assert nllb.language_codes == list(FAIRSEQ_LANGUAGE_CODES)
    assert nllb.lang_code_to_id == {c: ref.convert_tokens_to_ids(c) for c in FAIRSEQ_LANGUAGE_CODES}
    _compare(nllb, ref, ["eng_Latn", "fra_Latn", "zho_Hans", "ace_Arab"])
    assert "token_type_ids" not in nllb("hello")


def test_nllb_legacy_behaviour_matches_transformers(tmp_path):
    folder = tmp_path / "nllb"
    shutil.copytree(NLLB, folder)
    cfg = json.loads((folder / "tokenizer_config.json").read_text())
    cfg["legacy_behaviour"] = True
    (folder / "tokenizer_config.json").write_text(json.dumps(cfg))
    ref = transformers.NllbTokenizerFast.from_pretrained(str(folder))
    ours = AutoTokenizer.from_pretrained(str(folder))
    assert ours.encode("hi")[-2:] == [ours.eos_token_id, ours.lang_token_id("eng_Latn")]
    _compare(ours, ref, ["eng_Latn", "deu_Latn"])


def test_src_lang_setter_and_per_call_views(nllb):
    tok = AutoTokenizer.from_pretrained(str(NLLB))
    fra = tok.lang_token_id("fra_Latn")
    view = tok.with_src_lang("fra_Latn")
    assert view.encode("hi")[0] == fra
    assert tok.encode("hi")[0] == tok.lang_token_id("eng_Latn")  # the shared tokenizer is unchanged
    tok.src_lang = "fra_Latn"  # transformers-style: sticky
    assert tok.src_lang == "fra_Latn" and tok.encode("hi")[0] == fra
    assert tok.decode(tok.encode("The river runs"), skip_special_tokens=True) == "The river runs"


def test_translation_inputs_and_bad_languages(nllb):
    inputs, forced = nllb.build_translation_inputs(["The river runs"], src_lang="deu_Latn",
                                                   tgt_lang="fra_Latn", padding=True)
    assert forced == nllb.convert_tokens_to_ids("fra_Latn")
    assert inputs["input_ids"][0, 0] == nllb.convert_tokens_to_ids("deu_Latn")
    kwargs = {"tgt_lang": "spa_Latn"}
    nllb._build_translation_inputs("hi", {}, kwargs)  # Transformers.js' signature
    assert kwargs["forced_bos_token_id"] == nllb.convert_tokens_to_ids("spa_Latn")
    with pytest.raises(InvalidInputError, match="tgt_lang 'xx_YY'.*eng_Latn"):
        nllb.build_translation_inputs("hi", tgt_lang="xx_YY")
    with pytest.raises(InvalidInputError, match="src_lang 'english'.*fra_Latn"):
        nllb.build_translation_inputs("hi", src_lang="english", tgt_lang="fra_Latn")
    with pytest.raises(InvalidInputError, match="needs tgt_lang"):
        nllb.build_translation_inputs("hi", tgt_lang=None)


def _save_family(tmp_path, cls_name: str, **kwargs):
    """A transformers fast tokenizer of family ``cls_name`` over the NLLB fixture's BPE (its
    ``__init__`` adds the family's language codes), saved and reloaded."""
    from tokenizers import Tokenizer

    base = Tokenizer.from_file(str(NLLB / "tokenizer.json"))
    cls = getattr(transformers, cls_name)
    ref = cls(tokenizer_object=base, **kwargs)
    folder = tmp_path / cls_name
    ref.save_pretrained(str(folder))
    return cls.from_pretrained(str(folder)), AutoTokenizer.from_pretrained(str(folder))


@pytest.mark.parametrize("cls_name,ours_cls", [("MBartTokenizerFast", MBartTokenizer),
                                               ("MBart50TokenizerFast", MBart50Tokenizer)])
def test_mbart_families_match_transformers(tmp_path, cls_name, ours_cls):
    ref, ours = _save_family(tmp_path, cls_name, src_lang="en_XX", tgt_lang="ro_RO")
    assert type(ours) is ours_cls
    assert "ro_RO" in ours.language_codes and "fra_Latn" not in ours.language_codes
    assert ours.src_lang == "en_XX"
    _compare(ours, ref, ["en_XX", "ro_RO", "fr_XX"])
    inputs, forced = ours.build_translation_inputs("hi", src_lang="fr_XX", tgt_lang="ro_RO")
    assert forced == ref.convert_tokens_to_ids("ro_RO")


def test_m2m100_language_tokens(tmp_path):
    """transformers has no fast M2M100 tokenizer: the oracle is its rule (prefix __src__, suffix
    </s>, M2M100Tokenizer.set_src_lang_special_tokens) built with the tokenizers library."""
    from tokenizers import AddedToken, Tokenizer, processors

    base = Tokenizer.from_file(str(NLLB / "tokenizer.json"))
    base.add_special_tokens([AddedToken(t, special=True) for t in ("__en__", "__fr__", "__zh__")])
    base.post_processor = processors.TemplateProcessing(
        single="__en__ $A </s>", pair="__en__ $A $B </s>",
        special_tokens=[("__en__", base.token_to_id("__en__")), ("</s>", 2)])
    folder = tmp_path / "m2m"
    folder.mkdir()
    base.save(str(folder / "tokenizer.json"))
    (folder / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "M2M100Tokenizer", "src_lang": None, "tgt_lang": None}))
    ours = AutoTokenizer.from_pretrained(str(folder))
    assert isinstance(ours, M2M100Tokenizer)
    assert ours.language_codes == ["en", "fr", "zh"]
    assert ours.src_lang == "en"
    for src in ("en", "fr", "__zh__"):
        tok = token = f"__{src.strip('_')}__"
        base.post_processor = processors.TemplateProcessing(
            single=f"{tok} $A </s>", pair=f"{tok} $A $B </s>",
            special_tokens=[(token, base.token_to_id(token)), ("</s>", 2)])
        view = ours.with_src_lang(src)
        for text in TEXTS:
            assert view.encode(text) == base.encode(text).ids
    _, forced = ours.build_translation_inputs("hi", src_lang="fr", tgt_lang="zh")
    assert forced == ours.get_lang_id("zh") == base.token_to_id("__zh__")
    with pytest.raises(InvalidInputError, match="'de'.*en, fr, zh"):
        ours.build_translation_inputs("hi", tgt_lang="de")
