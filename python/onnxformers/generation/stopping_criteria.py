"""Stopping criteria a user passes to ``generate(stopping_criteria=...)`` (Transformers.js'
``StoppingCriteria``, ``StoppingCriteriaList``, ``MaxLengthCriteria``, ``EosTokenCriteria``,
``InterruptableStoppingCriteria``).

The length, EOS, ``max_time`` and interrupt checks run in the Rust core at every step; an
:class:`InterruptableStoppingCriteria` hands its flag to the core, so interrupting it from another
thread costs the decode loop nothing. Any other criterion is a Python callable
``criterion(input_ids, scores) -> bool | list[bool]`` evaluated after each step on the sequences so
far; generation stops once it returns True for every row (rows are not finished one by one).
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence, Union

import numpy as np


class StoppingCriteria:
    """Base class: ``__call__(input_ids int64[rows, len], scores float32[rows, vocab] | None)``
    returns one bool per row (or one bool for all rows)."""

    def __call__(self, input_ids: np.ndarray, scores: Any = None) -> Union[bool, Sequence[bool]]:
        raise NotImplementedError(f"{type(self).__name__} must implement __call__")


class StoppingCriteriaList(list):
    """A list of criteria; ``push`` adds one, ``extend`` takes a criterion, a list or a
    ``StoppingCriteriaList``. Calling it ORs the criteria row by row."""

    def push(self, item: StoppingCriteria) -> None:
        self.append(item)

    def extend(self, items: Union[StoppingCriteria, Iterable[StoppingCriteria]]) -> None:  # type: ignore[override]
        if callable(items) and not isinstance(items, (list, tuple)):
            self.append(items)
        else:
            super().extend(items)

    def __call__(self, input_ids: np.ndarray, scores: Any = None) -> list[bool]:
        rows = np.asarray(input_ids).shape[0]
        done = np.zeros(rows, dtype=bool)
        for criterion in self:
            done |= _as_rows(criterion(input_ids, scores), rows)
        return done.tolist()


class MaxLengthCriteria(StoppingCriteria):
    """Stops rows once they hold ``max_length`` tokens (prompt included)."""

    def __init__(self, max_length: int, max_position_embeddings: int | None = None):
        self.max_length = int(max_length)
        self.max_position_embeddings = max_position_embeddings

    def __call__(self, input_ids, scores=None):
        ids = np.asarray(input_ids)
        return [ids.shape[1] >= self.max_length] * ids.shape[0]


class EosTokenCriteria(StoppingCriteria):
    """Stops rows whose last token is one of ``eos_token_id`` (an int or a list)."""

    def __init__(self, eos_token_id: Union[int, Sequence[int]]):
        self.eos_token_id = [int(eos_token_id)] if isinstance(eos_token_id, (int, np.integer)) \
            else [int(e) for e in eos_token_id]

    def __call__(self, input_ids, scores=None):
        return np.isin(np.asarray(input_ids)[:, -1], self.eos_token_id).tolist()


class InterruptableStoppingCriteria(StoppingCriteria):
    """``interrupt()`` (from any thread) stops the generation that uses it at its next step;
    ``reset()`` re-arms it for another call."""

    def __init__(self) -> None:
        from .. import _core  # the extension loads with the first criterion, not with the package

        self.flag = _core.InterruptFlag()

    def interrupt(self) -> None:
        self.flag.interrupt()

    def reset(self) -> None:
        self.flag.reset()

    @property
    def interrupted(self) -> bool:
        return bool(self.flag)

    def __call__(self, input_ids, scores=None):
        return [bool(self.flag)] * np.asarray(input_ids).shape[0]


def _as_rows(value: Any, rows: int) -> np.ndarray:
    arr = np.asarray(value, dtype=bool).reshape(-1)
    if arr.size == 1:
        return np.full(rows, bool(arr[0]))
    if arr.size != rows:
        raise ValueError(f"a stopping criterion returned {arr.size} values for {rows} rows")
    return arr


def split_criteria(stopping_criteria: Any) -> tuple[list[Any], list[Any]]:
    """(interrupt flags for the core, Python criteria to evaluate per step)."""
    if stopping_criteria is None:
        return [], []
    items = [stopping_criteria] if callable(stopping_criteria) and not isinstance(stopping_criteria, list) \
        else list(stopping_criteria)
    flags, others = [], []
    for item in items:
        if isinstance(item, StoppingCriteriaList):
            f, o = split_criteria(list(item))
            flags += f
            others += o
        elif isinstance(item, InterruptableStoppingCriteria):
            flags.append(item.flag)
        elif isinstance(item, (MaxLengthCriteria, EosTokenCriteria)) or callable(item):
            others.append(item)
        else:
            raise TypeError(f"stopping_criteria items must be callables (StoppingCriteria), got {type(item).__name__}")
    return flags, others


def stop_rows(state: Any, criteria: Sequence[Any], scores: Any) -> bool:
    """Apply custom criteria after a step: a row stops when any criterion says so (transformers'
    ``unfinished &= ~criteria(...)``; greedy/sampling rows finish one at a time, beam search stops
    when every row is done, see ``GenerationState.stop_rows``). Returns whether generation is done."""
    seqs = state.sequences
    stop = np.zeros(seqs.shape[0], dtype=bool)
    for criterion in criteria:
        stop |= _as_rows(criterion(seqs, scores), seqs.shape[0])
    return bool(state.stop_rows(stop))
