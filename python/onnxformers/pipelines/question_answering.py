"""question-answering: extractive answers from a context."""

from __future__ import annotations

import functools
from typing import Any, Mapping, Sequence

import numpy as np

from ..errors import InvalidInputError, TokenizerError
from .base import Pipeline


class QuestionAnsweringPipeline(Pipeline):
    """``pipe(question, context, top_k=1)`` → ``{"answer", "score", "start", "end"}``.

    Inputs: two strings; two lists of the same length (a batch); a list of questions and one
    context; or ``{"question", "context"}`` dicts (one or a list). ``start``/``end`` are character
    offsets of ``answer`` in the context. ``top_k=1`` gives one dict per example, a larger ``top_k``
    a list (fewer items when the context has fewer candidate spans); a batch gives a list of those.

    The span search is transformers': start and end logits are masked to the context tokens (the
    question, special tokens and padding can never be part of an answer), turned into probabilities,
    and every span of at most ``max_answer_len`` tokens is scored ``p_start * p_end``. With
    ``align_to_words`` (default) a span is widened to whole words, and spans giving the same answer
    text add up their scores. A context longer than ``max_seq_len`` tokens (default: the model's
    limit, at most 384) is split into windows overlapping by ``doc_stride`` tokens (default: half a
    window, at most 128) and the best answers over all windows are kept. ``handle_impossible_answer``
    adds the empty answer ``""`` scored by the ``[CLS]`` token.

    Transformers.js 3.0.0 returns the decoded answer tokens (lowercased by uncased tokenizers),
    no ``start``/``end``, has no ``max_answer_len`` or windows, and answers only the first
    example of a batch when ``top_k`` is 1. This class follows Python ``transformers``; the docs'
    example gives the same answer text either way. All numbers are plain Python ``float``/``int``.
    ``batch_size`` bounds the number of windows per session call (all in one call by default).
    """

    def __call__(self, question: Any = None, context: Any = None, *, top_k: int = 1,
                 doc_stride: int | None = None, max_answer_len: int = 15,
                 max_seq_len: int | None = None, max_question_len: int | None = None,
                 handle_impossible_answer: bool = False, align_to_words: bool = True,
                 batch_size: int | None = None) -> Any:
        # max_question_len is accepted for transformers compatibility; like transformers with a
        # fast tokenizer, the question is never truncated (a too long one is an error).
        examples, is_batch = _examples(question, context)
        _positive_int("top_k", top_k)
        _positive_int("max_answer_len", max_answer_len)
        if max_seq_len is None:
            max_seq_len = min(self.tokenizer.model_max_length or 384, 384)
        _positive_int("max_seq_len", max_seq_len)
        if doc_stride is None:
            doc_stride = min(max_seq_len // 2, 128)
        if isinstance(doc_stride, bool) or not isinstance(doc_stride, int) or doc_stride < 0:
            raise InvalidInputError(f"doc_stride must be a non-negative integer, got {doc_stride!r}")
        if doc_stride > max_seq_len:
            raise InvalidInputError(f"doc_stride ({doc_stride}) is larger than max_seq_len ({max_seq_len})")
        if batch_size is not None:
            _positive_int("batch_size", batch_size)
        if not examples:
            return []

        rows = self._encode(examples, max_seq_len, doc_stride)
        starts, ends = self._logits(rows, batch_size)
        question_first = self.tokenizer.padding_side == "right"
        per_example: list[list[int]] = [[] for _ in examples]
        for r, row in enumerate(rows):
            per_example[row["sample"]].append(r)
        results = []
        for (_, context), row_ids in zip(examples, per_example):
            answers = self._answers(context, [rows[r] for r in row_ids], [starts[r] for r in row_ids],
                                    [ends[r] for r in row_ids], question_first, top_k,
                                    max_answer_len, bool(handle_impossible_answer), bool(align_to_words))
            if top_k == 1:  # one dict (None only if no span exists at all)
                results.append(answers[0] if answers else None)
            else:
                results.append(answers)
        return results if is_batch else results[0]

    # -- internals -----------------------------------------------------------------------------
    def _encode(self, examples: list[tuple[str, str]], max_seq_len: int, doc_stride: int) -> list[dict]:
        tok = self.tokenizer
        questions = [q for q, _ in examples]
        contexts = [c for _, c in examples]
        question_first = tok.padding_side == "right"
        first, second = (questions, contexts) if question_first else (contexts, questions)
        options = dict(truncation="only_second" if question_first else "only_first",
                       max_length=max_seq_len, stride=doc_stride, return_overflowing_tokens=True,
                       return_offsets_mapping=True, return_word_ids=True, return_sequence_ids=True,
                       return_tensors=False)
        try:
            enc = tok(first, second, **options)
        except TokenizerError as exc:
            raise self._explain(examples, max_seq_len, doc_stride, exc) from exc
        keys = [k for k in ("input_ids", "attention_mask", "token_type_ids", "offset_mapping",
                            "word_ids", "sequence_ids") if k in enc]
        rows = []
        for r, sample in enumerate(enc["overflow_to_sample_mapping"]):
            row = {k: enc[k][r] for k in keys}
            row["sample"] = int(sample)
            rows.append(row)
        context_seq = 1 if question_first else 0
        has_context = [False] * len(examples)
        for row in rows:
            has_context[row["sample"]] = has_context[row["sample"]] or context_seq in row["sequence_ids"]
        for i, ok in enumerate(has_context):
            if not ok:
                raise InvalidInputError(f"the context of example {i} gives no tokens: "
                                        f"{examples[i][1]!r}")
        return rows

    def _explain(self, examples, max_seq_len, doc_stride, exc) -> InvalidInputError:
        """Which example failed and why (the tokenizer only says that truncation was impossible)."""
        tok = self.tokenizer
        for i, (q, _) in enumerate(examples):
            n = len(tok(q, "x", return_tensors=False, return_attention_mask=False)["input_ids"])
            if n >= max_seq_len:  # question + special tokens leave no room for the context
                return InvalidInputError(
                    f"question {i} is too long: with its special tokens it takes {n - 1} tokens, "
                    f"leaving no room for the context in a window of max_seq_len={max_seq_len} "
                    f"tokens; shorten the question or raise max_seq_len")
            if doc_stride >= max_seq_len - n + 1:
                return InvalidInputError(
                    f"doc_stride ({doc_stride}) must be smaller than the context tokens of a window "
                    f"({max_seq_len - n + 1} for question {i}); lower doc_stride or raise max_seq_len")
        return InvalidInputError(f"cannot split the inputs into windows of {max_seq_len} tokens: {exc}")

    def _logits(self, rows: list[dict], batch_size: int | None) -> tuple[list, list]:
        """Start/end logits of every row, unpadded; rows padded per session call."""
        tok = self.tokenizer
        pad_id = tok.pad_token_id if tok.pad_token_id is not None else 0
        left = tok.padding_side == "left"
        size = batch_size or len(rows)
        starts: list = []
        ends: list = []
        for lo in range(0, len(rows), size):
            part = rows[lo:lo + size]
            width = max(len(r["input_ids"]) for r in part)
            feed = {}
            for key, fill in (("input_ids", pad_id), ("attention_mask", 0), ("token_type_ids", 0)):
                if key not in part[0]:
                    continue
                array = np.full((len(part), width), fill, dtype=np.int64)
                for i, r in enumerate(part):
                    n = len(r[key])
                    if left:
                        array[i, width - n:] = r[key]
                    else:
                        array[i, :n] = r[key]
                feed[key] = array
            out = self.model(**feed)
            s = np.asarray(out["start_logits"], dtype=np.float32)
            e = np.asarray(out["end_logits"], dtype=np.float32)
            for i, r in enumerate(part):
                n = len(r["input_ids"])
                cols = slice(width - n, width) if left else slice(0, n)
                starts.append(s[i, cols])
                ends.append(e[i, cols])
        return starts, ends

    def _answers(self, context, rows, starts, ends, question_first, top_k, max_answer_len,
                 handle_impossible, align) -> list[dict]:
        cls_id = self.tokenizer.cls_token_id
        context_seq = 1 if question_first else 0
        # transformers keeps about twice as many candidates when aligning to words (some merge)
        pre_topk = top_k * 2 + 10 if align else top_k
        min_null = 1000000.0
        answers: list[dict] = []
        by_text: dict[str, dict] = {}
        for row, start_logits, end_logits in zip(rows, starts, ends):
            seq_ids = row["sequence_ids"]
            # True where a token may be part of the answer: the context, and [CLS] ("no answer")
            allowed = np.fromiter((s == context_seq for s in seq_ids), bool, len(seq_ids))
            if cls_id is not None:
                allowed |= np.asarray(row["input_ids"]) == cls_id
            allowed &= np.asarray(row["attention_mask"]) == 1
            start = _masked_softmax(start_logits, allowed)
            end = _masked_softmax(end_logits, allowed)
            if handle_impossible:
                min_null = min(min_null, float(start[0] * end[0]))
            start[0] = end[0] = 0.0
            words = _WordChars(row, context_seq) if align else None
            for s, e, score in _decode_spans(start, end, pre_topk, max_answer_len, allowed):
                a, b = _char_span(row, s, e, words)
                text = context[a:b]
                same = by_text.get(text.lower())
                if same is not None:  # spans giving the same text add up (as transformers)
                    same["score"] += score
                else:
                    answer = {"answer": text, "score": score, "start": a, "end": b}
                    answers.append(answer)
                    by_text[text.lower()] = answer
        if handle_impossible:
            answers.append({"answer": "", "score": min_null, "start": 0, "end": 0})
        answers.sort(key=lambda x: x["score"], reverse=True)
        return answers[:top_k]


def _examples(question: Any, context: Any) -> tuple[list[tuple[str, str]], bool]:
    """(list of (question, context), whether the caller passed a batch)."""
    if isinstance(question, Mapping):
        if context is not None:
            raise InvalidInputError("pass either a {'question', 'context'} dict or question and context")
        return [_pair(question, 0)], False
    if isinstance(question, Sequence) and not isinstance(question, (str, bytes)) and context is None:
        items = list(question)
        if not all(isinstance(x, Mapping) for x in items):
            raise InvalidInputError("a list without contexts must hold {'question', 'context'} dicts")
        return [_pair(x, i) for i, x in enumerate(items)], True
    if isinstance(question, str) and isinstance(context, str):
        return [_check(question, context, 0)], False
    if isinstance(question, Sequence) and not isinstance(question, (str, bytes)):
        questions = list(question)
        if isinstance(context, str):  # several questions about one context
            contexts = [context] * len(questions)
        elif isinstance(context, Sequence) and not isinstance(context, bytes):
            contexts = list(context)
            if len(contexts) != len(questions):
                raise InvalidInputError(f"got {len(questions)} questions but {len(contexts)} contexts")
        else:
            raise InvalidInputError(f"context must be a string or a list of strings, got "
                                    f"{type(context).__name__}")
        return [_check(q, c, i) for i, (q, c) in enumerate(zip(questions, contexts))], True
    if context is None:
        raise InvalidInputError("question-answering needs a question and a context")
    raise InvalidInputError(
        f"question and context must be strings, lists of strings or {{'question', 'context'}} "
        f"dicts, got {type(question).__name__} and {type(context).__name__}")


def _pair(item: Mapping, i: int) -> tuple[str, str]:
    missing = {"question", "context"} - set(item)
    if missing:
        raise InvalidInputError(f"input {i} lacks {', '.join(sorted(missing))}")
    return _check(item["question"], item["context"], i)


def _check(question: Any, context: Any, i: int) -> tuple[str, str]:
    for name, value in (("question", question), ("context", context)):
        if not isinstance(value, str):
            raise InvalidInputError(f"{name} {i} is {type(value).__name__}; expected a string")
        if not value.strip():
            raise InvalidInputError(f"{name} {i} is empty")
    return question, context


def _positive_int(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidInputError(f"{name} must be a positive integer, got {value!r}")


def _masked_softmax(logits: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    # float32 with a -10000 mask, as transformers: masked tokens get probability exactly 0
    x = np.where(allowed, logits.astype(np.float32), np.float32(-10000.0))
    x = np.exp(x - x.max())
    return x / x.sum()


@functools.lru_cache(maxsize=64)
def _band(n: int, max_answer_len: int) -> np.ndarray:
    """start <= end < start + max_answer_len (numpy's triu then tril, as transformers)."""
    return np.tril(np.triu(np.ones((n, n), dtype=bool)), max_answer_len - 1)


def _decode_spans(start: np.ndarray, end: np.ndarray, topk: int, max_answer_len: int,
                  allowed: np.ndarray):
    """The ``topk`` best (start, end, score) spans with start <= end < start + max_answer_len,
    transformers' ``decode_spans`` step by step (same candidates, same order)."""
    candidates = np.where(_band(len(start), max_answer_len), np.outer(start, end), np.float32(0.0))
    flat = candidates.ravel()
    if topk == 1:
        order = np.array([np.argmax(flat)])
    elif len(flat) < topk:
        order = np.argsort(-flat)
    else:
        idx = np.argpartition(-flat, topk)[:topk]
        order = idx[np.argsort(-flat[idx])]
    starts, ends = np.unravel_index(order, candidates.shape)
    # transformers tests membership against np.nonzero of a [1, seq] mask, whose row indices (0)
    # make position 0 always pass; such spans score 0 ([CLS] is zeroed) and sort last.
    keep_mask = allowed.copy()
    keep_mask[0] |= bool(allowed.any())
    keep = keep_mask[starts] & keep_mask[ends]
    for s, e in zip(starts[keep], ends[keep]):
        yield int(s), int(e), float(candidates[s, e])


def _char_span(row: dict, s: int, e: int, words: "_WordChars | None") -> tuple[int, int]:
    offsets = row["offset_mapping"]
    if words is not None:
        first, last = words.chars(s), words.chars(e)
        if first is not None and last is not None:
            return first[0], last[1]
    # tokens outside any word (special tokens) keep their own offsets, as transformers' fallback
    return offsets[s][0], offsets[e][1]


class _WordChars:
    """``tokenizers.Encoding.word_to_chars(token_to_word(i), seq)`` for the tokens of one row:
    the chars of the whole word a token belongs to, within sequence ``seq``."""

    def __init__(self, row: dict, seq: int):
        self.row, self.seq = row, seq
        self.words = row["word_ids"]
        positions = [i for i, s in enumerate(row["sequence_ids"]) if s == seq]
        self.range = range(positions[0], positions[-1] + 1) if positions else range(0)
        ids = [self.words[i] for i in self.range if self.words[i] is not None]
        self.monotonic = all(a <= b for a, b in zip(ids, ids[1:]))
        self.spans: dict[int, tuple[int, int]] = {}
        if self.monotonic:  # one pass: first and last token of every word
            offsets = row["offset_mapping"]
            for i in self.range:
                w = self.words[i]
                if w is not None:
                    first = self.spans[w][0] if w in self.spans else offsets[i][0]
                    self.spans[w] = (first, offsets[i][1])

    def chars(self, token: int) -> tuple[int, int] | None:
        word = self.words[token]
        if word is None:
            return None
        if self.monotonic:
            return self.spans.get(word)
        # the tokenizers library scans the sequence and stops at the first later word
        first = last = None
        for i in self.range:
            w = self.words[i]
            if w is not None and w > word:
                break
            if w == word:
                first = i if first is None else first
                last = i
        if first is None:
            return None
        offsets = self.row["offset_mapping"]
        return offsets[first][0], offsets[last][1]
