"""text2text-generation, summarization and translation pipelines against transformers' pipelines
(references in the tiny-t5-split-decoder and tiny-nllb-translation fixtures, built by
scripts/fixture_builders/seq2seq.py; also the T5/BART generate() references)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from onnxformers import InvalidInputError, pipeline
from onnxformers.generation import TextStreamer

MODELS = Path(__file__).resolve().parent.parent / "fixtures" / "models"
T5 = MODELS / "tiny-t5-split-decoder"
NLLB = MODELS / "tiny-nllb-translation"

pytestmark = pytest.mark.skipif(not (T5 / "reference.json").exists()
                                or not (NLLB / "reference.json").exists(),
                                reason="seq2seq pipeline fixtures not built")


def reference(folder: Path) -> dict:
    return json.loads((folder / "reference.json").read_text(encoding="utf-8"))


def pipeline_cases(folder: Path):
    if not (folder / "reference.json").exists():
        return []
    return [pytest.param(c, id=c["id"]) for c in reference(folder)["pipelines"]]


_pipes: dict = {}


def get_pipe(task: str, folder: Path):
    key = (task, folder)
    if key not in _pipes:
        _pipes[key] = pipeline(task, str(folder))
    return _pipes[key]


@pytest.mark.parametrize("case", pipeline_cases(T5))
def test_t5_pipelines_match_transformers(case):
    """text2text-generation, summarization (task_specific_params: prefix + beams + length) and
    translation_en_to_xx (T5 prefixes) on the split-decoder T5."""
    out = get_pipe(case["task"], T5)(case["inputs"], **case["kwargs"])
    assert out == case["output"]


@pytest.mark.parametrize("case", pipeline_cases(NLLB))
def test_nllb_translation_pipeline_matches_transformers(case):
    out = get_pipe("translation", NLLB)(case["inputs"], **case["kwargs"])
    assert out == case["output"]


def test_nllb_generate_cases_through_the_pipeline():
    """The batched generate() references (several texts per call, padding) through the pipeline."""
    pipe = get_pipe("translation", NLLB)
    for case in reference(NLLB)["cases"]:
        if "tgt_lang" not in case or case["call"].get("num_return_sequences", 1) > 1:
            continue
        call = {k: v for k, v in case["call"].items()
                if k not in ("forced_bos_token_id", "do_sample")}
        out = pipe(case["inputs"], src_lang=case["src_lang"], tgt_lang=case["tgt_lang"], **call)
        assert [o["translation_text"] for o in out] == case["decoded"], case["id"]


def test_output_shapes_and_several_sequences():
    pipe = get_pipe("text2text-generation", T5)
    case = next(c for c in reference(T5)["cases"] if c["id"] == "beam4_ret2")
    out = pipe(case["inputs"], **case["call"])
    assert out == [{"generated_text": t} for t in case["decoded"]]
    both = pipe([case["inputs"], case["inputs"]], **case["call"])
    assert both == [out, out]
    assert pipe([]) == []


def test_t5_generate_references_through_text2text():
    pipe = get_pipe("text2text-generation", MODELS / "tiny-t5-seq2seq")
    case = next(c for c in reference(MODELS / "tiny-t5-seq2seq")["cases"]
                if c["id"] == "greedy_batch")
    out = pipe(case["inputs"], **case["call"])
    assert [o["generated_text"] for o in out] == case["decoded"]


def test_bart_summarization_forced_bos_eos():
    """BART's generation_config forces <s> first and </s> at max_length (summarization models)."""
    folder = MODELS / "tiny-bart-seq2seq"
    case = next(c for c in reference(folder)["cases"] if c["id"] == "greedy_20")
    out = get_pipe("summarization", folder)(case["inputs"], **case["call"])
    assert out == [{"summary_text": case["decoded"][0]}]


def test_streamer_through_pipeline():
    pipe = get_pipe("translation", NLLB)
    case = next(c for c in reference(NLLB)["pipelines"] if c["id"] == "pipe_en_fr")
    pieces: list[str] = []
    streamer = TextStreamer(pipe.tokenizer, skip_prompt=True, skip_special_tokens=True,
                            callback_function=pieces.append)
    out = pipe(case["inputs"], streamer=streamer, **case["kwargs"])
    assert out == case["output"]
    assert "".join(pieces).strip() == out[0]["translation_text"].strip()


def test_translation_task_names_and_bad_languages():
    nllb = get_pipe("translation", NLLB)
    with pytest.raises(InvalidInputError, match="tgt_lang 'xx_Xxxx'.*fra_Latn"):
        nllb("hello", src_lang="eng_Latn", tgt_lang="xx_Xxxx")
    with pytest.raises(InvalidInputError, match="src_lang 'english'.*eng_Latn"):
        nllb("hello", src_lang="english", tgt_lang="fra_Latn")
    with pytest.raises(InvalidInputError, match="needs tgt_lang"):
        nllb("hello")
    # translation_xx_to_yy with a multilingual tokenizer: xx/yy must be its codes
    with pytest.raises(InvalidInputError, match="tgt_lang 'fr'"):
        pipeline("translation_en_to_fr", str(NLLB))("hello")
    # T5: the task name picks the prefix
    t5 = pipeline("translation_en_to_fr", str(T5))
    case = next(c for c in reference(T5)["pipelines"] if c["id"] == "translation_en_to_fr")
    assert t5(case["inputs"], **case["kwargs"]) == case["output"]


def test_bad_inputs():
    pipe = get_pipe("text2text-generation", T5)
    with pytest.raises(InvalidInputError):
        pipe(42)
    with pytest.raises(InvalidInputError):
        pipe(["ok", None])
    assert pipe("hello", max_new_tokens=0) == [{"generated_text": ""}]
