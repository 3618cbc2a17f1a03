"""fill-mask: predict the token behind the mask token."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ..errors import InvalidInputError, UnsupportedModelError
from .base import Pipeline, chunks, text_batch


class FillMaskPipeline(Pipeline):
    """``pipe(texts, top_k=5, targets=None)`` → ``[{"score", "token", "token_str", "sequence"}]``.

    Each text must contain the tokenizer's mask token (``[MASK]``, ``<mask>``…); a text without
    one raises :class:`~onnxformers.InvalidInputError`. Predictions are sorted by score. One
    string gives one list; a list of strings gives one list per text (also for a list of one).
    A text with several masks gives one list per mask (transformers' experimental behaviour: each
    mask is predicted independently, and ``sequence`` keeps the other masks and the special tokens).
    ``targets`` (a string or a list) restricts the predictions to those tokens; a target that is
    not in the vocabulary is replaced by its first token, with a warning. Texts longer than the
    model limit are truncated (a mask cut off by truncation is an error).

    Transformers.js 3.0.0 only fills the first mask and reports ``token_str`` as the raw
    vocabulary entry (``"Ġlove"``, ``"##ing"``); this class follows Python ``transformers``:
    ``token_str`` is the decoded token (``" love"``, ``"##ing"``) and every mask is filled.
    """

    def __call__(self, texts: Any, *, top_k: int = 5, targets: Any = None,
                 batch_size: int | None = None) -> list:
        batch, is_list = text_batch(texts)
        tok = self.tokenizer
        mask_id = tok.mask_token_id
        if mask_id is None:
            raise UnsupportedModelError(
                "fill-mask needs a tokenizer with a mask token; this tokenizer has none "
                f"(mask_token={tok.mask_token!r})")
        if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1:
            raise InvalidInputError(f"top_k must be a positive integer, got {top_k!r}")
        target_ids = None if targets is None else self._target_ids(targets)
        results: list = []
        for _, part in chunks(batch, batch_size):
            if part:
                results.extend(self._fill(part, mask_id, top_k, target_ids))
        return results if is_list else results[0]

    def _target_ids(self, targets: Any) -> np.ndarray:
        if isinstance(targets, str):
            targets = [targets]
        if not isinstance(targets, (list, tuple)) or not all(isinstance(t, str) for t in targets):
            raise InvalidInputError(f"targets must be a string or a list of strings, got {targets!r}")
        ids: list[int] = []
        for target in targets:
            found = self.tokenizer._tokenizer.token_to_id(target)
            if found is None:
                pieces = self.tokenizer(target, add_special_tokens=False, return_tensors=False,
                                        return_attention_mask=False, return_token_type_ids=False)
                if not pieces["input_ids"]:
                    warnings.warn(f"The target {target!r} gives no token; ignoring it.", UserWarning,
                                  stacklevel=3)
                    continue
                found = pieces["input_ids"][0]
                warnings.warn(f"The target {target!r} is not in the vocabulary; using its first "
                              f"token {self.tokenizer.convert_ids_to_tokens(found)!r}.", UserWarning,
                              stacklevel=3)
            ids.append(found)
        ids = list(dict.fromkeys(ids))
        if not ids:
            raise InvalidInputError(f"none of the targets {list(targets)!r} maps to a token")
        return np.asarray(ids, dtype=np.int64)

    def _fill(self, texts: list[str], mask_id: int, top_k: int, target_ids) -> list:
        tok = self.tokenizer
        enc = tok(texts, padding=True, truncation=True)
        logits = self.model(**enc)["logits"]
        k = top_k if target_ids is None else min(top_k, len(target_ids))
        plans = []  # (text index, mask positions, [(mask row index, ids, scores)])
        for i, (ids, attention) in enumerate(zip(enc["input_ids"], enc["attention_mask"])):
            positions = np.nonzero((ids == mask_id) & (attention == 1))[0]
            if len(positions) == 0:
                raise InvalidInputError(
                    f"No mask token ({tok.mask_token}) found in input {i}: {texts[i]!r}"
                    + (" (it may have been cut off by truncation)"
                       if tok.mask_token in texts[i] else ""))
            row = np.asarray(logits[i, positions], dtype=np.float32)
            probs = np.exp(row - row.max(-1, keepdims=True))
            probs /= probs.sum(-1, keepdims=True)
            if target_ids is not None:
                probs = probs[:, target_ids]
            order = np.argsort(-probs, axis=-1, kind="stable")[:, :k]
            scores = np.take_along_axis(probs, order, -1)
            predicted = order if target_ids is None else target_ids[order]
            plans.append((i, positions, predicted, scores))
        # All sequences and token strings of the chunk in two decode calls.
        single, multi, token_ids = [], [], []
        pad_id = tok.pad_token_id
        for i, positions, predicted, _ in plans:
            starts = np.nonzero(enc["attention_mask"][i] == 1)[0]
            shift = starts[0] if len(starts) else 0  # left padding moves the mask positions
            for m, position in enumerate(positions):
                for p in predicted[m]:
                    filled = enc["input_ids"][i][enc["attention_mask"][i] == 1].copy()
                    filled[position - shift] = p
                    if pad_id is not None:
                        filled = filled[filled != pad_id]
                    (single if len(positions) == 1 else multi).append(filled.tolist())
                    token_ids.append([int(p)])
        decoded_single = tok.batch_decode(single, skip_special_tokens=True) if single else []
        decoded_multi = tok.batch_decode(multi, skip_special_tokens=False) if multi else []
        token_strs = tok.batch_decode(token_ids) if token_ids else []
        out = []
        n_single = n_multi = n_tok = 0
        for i, positions, predicted, scores in plans:
            rows = []
            for m in range(len(positions)):
                items = []
                for p, score in zip(predicted[m], scores[m]):
                    if len(positions) == 1:
                        sequence = decoded_single[n_single]
                        n_single += 1
                    else:
                        sequence = decoded_multi[n_multi]
                        n_multi += 1
                    items.append({"score": float(score), "token": int(p),
                                  "token_str": token_strs[n_tok], "sequence": sequence})
                    n_tok += 1
                rows.append(items)
            out.append(rows[0] if len(positions) == 1 else rows)
        return out
