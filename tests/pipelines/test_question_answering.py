"""question-answering against transformers' pipeline on the tiny DistilBERT QA fixture."""

from __future__ import annotations

import pytest
from pipe_helpers import CountingRuns, assert_plain_json, assert_same, case_params, model_path, reference

from onnxformers import InvalidInputError, pipeline

NAME = "tiny-distilbert-qa"
CONTEXT = ("The library opens at nine o'clock on weekdays and at ten on Saturdays. It is closed on "
           "Sundays and public holidays. Visitors can borrow up to twelve books for three weeks.")


@pytest.fixture(scope="module")
def qa():
    return pipeline("question-answering", model_path(NAME))


def as_lists(out, batched: bool):
    """The references store lists of answers (one list per example for a batch)."""
    wrap = (lambda o: [o] if isinstance(o, dict) else o)
    return [wrap(o) for o in out] if batched else wrap(out)


def run_case(pipe, case, **extra):
    q, c = case["inputs"]["question"], case["inputs"]["context"]
    return as_lists(pipe(q, c, **case["call"], **extra), isinstance(q, list))


@pytest.mark.parametrize("case", case_params(NAME))
def test_matches_transformers(qa, case):
    """Answers, character offsets, scores (summed over spans giving the same text) and order equal
    transformers', doc_stride windows, max_answer_len, align_to_words and the empty answer included."""
    ours = run_case(qa, case)
    assert_same(ours, case["torch"])
    assert_plain_json(ours)


@pytest.mark.parametrize("case", case_params(NAME, backend="onnx_q8"))
def test_q8_matches_transformers_on_the_q8_file(case):
    # batch_size=1: one unpadded window per session call, exactly the rows transformers runs
    pipe = pipeline("question-answering", model_path(NAME), dtype="q8")
    assert_same(run_case(pipe, case, batch_size=1), case["onnx_q8"])


def test_docs_example_shape(qa):
    out = qa("Who was Jim Henson?", "Jim Henson was a nice puppet.")
    assert set(out) == {"answer", "score", "start", "end"}
    assert "Jim Henson was a nice puppet."[out["start"]:out["end"]] == out["answer"]
    two = qa("Who was Jim Henson?", "Jim Henson was a nice puppet.", top_k=2)
    assert isinstance(two, list) and len(two) == 2 and two[0] == out
    assert two[0]["score"] >= two[1]["score"]


def test_answer_keeps_the_context_casing(qa):
    """Transformers.js decodes the answer tokens (lowercase with an uncased vocabulary) and gives
    no offsets; transformers (followed here) cuts the answer out of the context."""
    out = qa("Who was Jim Henson?", "Jim Henson was a nice puppet.")
    assert out["answer"] == "Henson was a"
    assert out["answer"] != out["answer"].lower()


def test_input_forms_agree(qa):
    questions = ["When does the library open?", "How many books can I borrow?"]
    pairs = qa(questions, [CONTEXT, CONTEXT])
    assert qa(questions, CONTEXT) == pairs  # one context for several questions
    assert qa([{"question": q, "context": CONTEXT} for q in questions]) == pairs
    assert qa({"question": questions[0], "context": CONTEXT}) == pairs[0]
    assert qa(question=questions[1], context=CONTEXT) == pairs[1]
    assert qa([], []) == []


def test_one_session_call_for_all_windows_unless_batch_size(qa):
    long = reference(NAME)["cases"][-1]["inputs"]["context"]
    counter = CountingRuns(qa.model)
    try:
        whole = qa(["What did the researchers measure?", "Who opens the shop?"], long,
                   max_seq_len=40, doc_stride=12, top_k=2)
        assert len(counter.batches) == 1 and counter.batches[0] > 2
        parts = qa(["What did the researchers measure?", "Who opens the shop?"], long,
                   max_seq_len=40, doc_stride=12, top_k=2, batch_size=3)
        assert counter.batches[1:] and max(counter.batches[1:]) == 3
    finally:
        qa.model.sessions["model"] = counter.session
    assert_same(parts, whole, atol=1e-6)


def test_windows_find_answers_past_the_first_window(qa):
    long = reference(NAME)["cases"][-1]["inputs"]["context"]
    out = qa("When will the committee meet?", long, max_seq_len=40, doc_stride=12, top_k=10)
    assert max(a["start"] for a in out) > 200
    for a in out:
        assert long[a["start"]:a["end"]] == a["answer"]
    first_window = qa("When will the committee meet?", long[:120], max_seq_len=40, top_k=1)
    assert first_window["end"] <= 120


def test_max_answer_len(qa):
    out = qa("How many books can I borrow?", CONTEXT, max_answer_len=1, top_k=8)
    assert all(" " not in a["answer"] for a in out)  # one token, widened to its word
    longer = qa("How many books can I borrow?", CONTEXT, max_answer_len=30, top_k=8)
    assert max(len(a["answer"].split()) for a in longer) > 1


@pytest.mark.parametrize("question,context,options,match", [
    ("Who?", "", {}, "context 0 is empty"),
    ("Who?", "   ", {}, "context 0 is empty"),
    ("", "Some context.", {}, "question 0 is empty"),
    ("word " * 150, "Some context.", {}, "question 0 is too long"),
    ("Who?", "Some context.", {"max_seq_len": 8, "doc_stride": 6}, "doc_stride"),
    ("Who?", "Some context.", {"doc_stride": 500}, "doc_stride"),
    ("Who?", "Some context.", {"top_k": 0}, "top_k"),
    ("Who?", "Some context.", {"max_answer_len": 0}, "max_answer_len"),
    (["a?", "b?"], ["one context"], {}, "2 questions but 1 contexts"),
    ("Who?", None, {}, "needs a question and a context"),
    ("Who?", ["a", "b"], {}, "must be strings"),
    ([{"question": "Who?"}], None, {}, "lacks context"),
    (3, "ctx", {}, "must be strings"),
])
def test_bad_inputs(qa, question, context, options, match):
    with pytest.raises(InvalidInputError, match=match):
        qa(question, context, **options)


def test_context_without_tokens_is_an_error(qa):
    with pytest.raises(InvalidInputError, match="gives no tokens"):
        qa("Who?", "\u200b")  # removed by the normalizer


@pytest.mark.parametrize("name", ["tiny-bert-wordpiece", "tiny-roberta-bpe"])
def test_tokenizer_windows_match_transformers(name):
    """The tokenizer options the pipelines use (overflowing windows with a stride, offsets,
    special-token masks, word and sequence ids) equal transformers' fast tokenizer."""
    import numpy as np
    transformers = pytest.importorskip("transformers")
    from onnxformers import AutoTokenizer

    theirs = transformers.AutoTokenizer.from_pretrained(model_path(name))
    ours = AutoTokenizer.from_pretrained(model_path(name))
    questions = ["Who opens the shop?", "Héllo?"]
    contexts = [reference(NAME)["cases"][-1]["inputs"]["context"], "Wörld 😀 naïve café."]
    options = dict(truncation="only_second", max_length=24, stride=6, padding=True,
                   return_overflowing_tokens=True, return_offsets_mapping=True,
                   return_special_tokens_mask=True)
    want = theirs(questions, contexts, **options)
    got = ours(questions, contexts, **options, return_word_ids=True, return_sequence_ids=True)
    assert len(want["input_ids"]) > 10
    for key in want:
        np.testing.assert_array_equal(np.asarray(got[key]), np.asarray(want[key]), err_msg=key)
    for i in range(len(want["input_ids"])):
        assert got["word_ids"][i] == want.word_ids(i)
        assert got["sequence_ids"][i] == want.sequence_ids(i)
    lists = ours(questions[0], contexts[0], **options, return_tensors=False)
    assert lists["input_ids"] == want["input_ids"][:len(lists["input_ids"])]
    assert lists["overflow_to_sample_mapping"] == [0] * len(lists["input_ids"])
