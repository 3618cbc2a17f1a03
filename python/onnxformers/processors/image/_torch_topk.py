"""The order in which ``torch.topk(values, k, sorted=False)`` returns indices on the CPU.

MaskFormer / Mask2Former instance segmentation (``transformers``) walks the top-k (query, class) pairs in
the order ``topk(sorted=False)`` gives, and that order decides segment ids and which instance wins an
overlapping pixel. On the CPU torch fills a vector of ``(value, index)`` pairs and calls libstdc++'s
``std::partial_sort`` (when ``k * 64 <= n``: the top k, sorted descending) or ``std::nth_element`` (an
implementation-defined order), with "greater, NaN first" as the comparison. This module replays both
algorithms step by step (libstdc++'s introselect, heap and insertion-sort code), so the order is the one
torch gives on Linux. (libc++, on macOS, orders differently: there transformers' own output differs.)
"""

from __future__ import annotations

import math
from typing import List, Sequence, Tuple

import numpy as np

_Pair = Tuple[float, int]


def _gt(a: _Pair, b: _Pair) -> bool:
    x, y = a[0], b[0]
    return (math.isnan(x) and not math.isnan(y)) or x > y


def _adjust_heap(q: List[_Pair], first: int, hole: int, length: int, value: _Pair) -> None:
    top = hole
    child = hole
    while child < (length - 1) // 2:
        child = 2 * (child + 1)
        if _gt(q[first + child], q[first + child - 1]):
            child -= 1
        q[first + hole] = q[first + child]
        hole = child
    if length % 2 == 0 and child == (length - 2) // 2:
        child = 2 * (child + 1)
        q[first + hole] = q[first + child - 1]
        hole = child - 1
    parent = (hole - 1) // 2  # __push_heap
    while hole > top and _gt(q[first + parent], value):
        q[first + hole] = q[first + parent]
        hole = parent
        parent = (hole - 1) // 2
    q[first + hole] = value


def _make_heap(q: List[_Pair], first: int, last: int) -> None:
    length = last - first
    if length < 2:
        return
    for parent in range((length - 2) // 2, -1, -1):
        _adjust_heap(q, first, parent, length, q[first + parent])


def _pop_heap(q: List[_Pair], first: int, last: int, result: int) -> None:
    value = q[result]
    q[result] = q[first]
    _adjust_heap(q, first, 0, last - first, value)


def _heap_select(q: List[_Pair], first: int, middle: int, last: int) -> None:
    _make_heap(q, first, middle)
    for i in range(middle, last):
        if _gt(q[i], q[first]):
            _pop_heap(q, first, middle, i)


def _sort_heap(q: List[_Pair], first: int, last: int) -> None:
    while last - first > 1:
        last -= 1
        _pop_heap(q, first, last, last)


def _insertion_sort(q: List[_Pair], first: int, last: int) -> None:
    for i in range(first + 1, last):
        value = q[i]
        if _gt(value, q[first]):
            q[first + 1:i + 1] = q[first:i]
            q[first] = value
        else:
            j = i
            while _gt(value, q[j - 1]):
                q[j] = q[j - 1]
                j -= 1
            q[j] = value


def _move_median_to_first(q: List[_Pair], result: int, a: int, b: int, c: int) -> None:
    if _gt(q[a], q[b]):
        if _gt(q[b], q[c]):
            pick = b
        elif _gt(q[a], q[c]):
            pick = c
        else:
            pick = a
    elif _gt(q[a], q[c]):
        pick = a
    elif _gt(q[b], q[c]):
        pick = c
    else:
        pick = b
    q[result], q[pick] = q[pick], q[result]


def _unguarded_partition(q: List[_Pair], first: int, last: int, pivot: int) -> int:
    while True:
        while _gt(q[first], q[pivot]):
            first += 1
        last -= 1
        while _gt(q[pivot], q[last]):
            last -= 1
        if not first < last:
            return first
        q[first], q[last] = q[last], q[first]
        first += 1


def _introselect(q: List[_Pair], first: int, nth: int, last: int, depth: int) -> None:
    while last - first > 3:
        if depth == 0:
            _heap_select(q, first, nth + 1, last)
            q[first], q[nth] = q[nth], q[first]
            return
        depth -= 1
        _move_median_to_first(q, first, first + 1, first + (last - first) // 2, last - 1)
        cut = _unguarded_partition(q, first + 1, last, first)
        if cut <= nth:
            first = cut
        else:
            last = cut
    _insertion_sort(q, first, last)


def topk_unsorted_indices(values: Sequence[float], k: int) -> List[int]:
    """Indices of the ``k`` largest ``values`` in ``torch.topk(values, k, sorted=False)``'s CPU order."""
    arr = np.asarray(values, dtype=np.float64).reshape(-1)
    n = arr.shape[0]
    if not 0 <= k <= n:
        raise ValueError(f"k={k} out of range for {n} values")
    if k == 0:
        return []
    if k * 64 <= n:
        # partial_sort: the top k sorted descending; only ties (and NaN) depend on the heap's path, so
        # without them a stable numpy sort gives the same order, much faster
        order = np.argsort(-arr, kind="stable")
        top = arr[order[:k + 1]]
        if not np.isnan(arr).any() and np.all(np.diff(top) < 0):
            return [int(i) for i in order[:k]]
        q = [(float(v), i) for i, v in enumerate(arr)]
        _heap_select(q, 0, k, n)
        _sort_heap(q, 0, k)
        return [i for _, i in q[:k]]
    q = [(float(v), i) for i, v in enumerate(arr)]
    # nth_element(first, first + k - 1, last), depth limit 2 * floor(log2(n)) as libstdc++ sets it
    _introselect(q, 0, k - 1, n, 2 * (n.bit_length() - 1))
    return [i for _, i in q[:k]]
