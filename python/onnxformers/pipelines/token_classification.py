"""token-classification (alias ner)."""

from __future__ import annotations

import warnings
from typing import Any, Sequence

import numpy as np

from ..errors import InvalidInputError
from .base import Pipeline, chunks, text_batch

AGGREGATION_STRATEGIES = ("none", "simple", "first", "average", "max")


class TokenClassificationPipeline(Pipeline):
    """``pipe(texts, ignore_labels=["O"], aggregation_strategy="none", stride=None)``.

    With ``aggregation_strategy="none"`` (the Transformers.js behaviour) each kept token gives
    ``{"entity", "score", "index", "word", "start", "end"}``: ``index`` is the token position
    (``[CLS]`` included), ``start``/``end`` are character offsets into the input string from the
    tokenizer's offset mapping. Special tokens are skipped; tokens whose label is in
    ``ignore_labels`` are dropped. A single string gives a list, a list of strings a list of lists.

    Extensions from Python ``transformers`` (not in Transformers.js 3.0.0):

    - ``aggregation_strategy``: ``"simple"`` groups adjacent tokens with the same entity (B-/I-
      prefixes merged) into ``{"entity_group", "score", "word", "start", "end"}``;
      ``"first"``, ``"average"`` and ``"max"`` first force one label per word (label of the first
      sub-token, of the averaged scores, of the sub-token with the highest score), then group.
    - ``stride``: a text longer than the model limit is split into windows overlapping by
      ``stride`` tokens instead of being truncated (needs an aggregation strategy); overlapping
      entities are resolved as transformers does (the longest, then the highest score, wins).

    Where Transformers.js 3.0.0 and ``transformers`` differ, this follows ``transformers``:
    ``word`` is the vocabulary token (``"##ing"``, ``"Ġworld"``) rather than the decoded token
    (``"##ing"``, ``" world"``), an unknown token reports the original text it covers, and
    ``start``/``end`` are always present (Transformers.js leaves them out). Grouped words are
    decoded from their token ids in one pass; ``transformers`` decodes already-decoded words a
    second time, which turns non-ASCII characters into U+FFFD with byte-level BPE tokenizers.
    Sub-words are recognised from the token length for WordPiece vocabularies and with
    transformers' whitespace heuristic for other tokenizers.
    """

    def __call__(self, texts: Any, *, ignore_labels: Sequence[str] | None = None,
                 aggregation_strategy: str = "none", stride: int | None = None,
                 batch_size: int | None = None) -> list:
        batch, is_list = text_batch(texts)
        strategy = _strategy(aggregation_strategy)
        ignore = _ignore_labels(ignore_labels)
        if stride is not None:
            limit = self.tokenizer.model_max_length
            if isinstance(stride, bool) or not isinstance(stride, int) or stride < 0:
                raise InvalidInputError(f"stride must be a non-negative integer, got {stride!r}")
            if limit is not None and stride >= limit:
                raise InvalidInputError(
                    f"stride ({stride}) must be smaller than the model's max length ({limit})")
            if strategy == "none":
                raise InvalidInputError(
                    "stride splits long texts into overlapping windows, whose tokens can only be "
                    "merged by an aggregation strategy: pass aggregation_strategy='simple', "
                    "'first', 'average' or 'max'")
        if strategy in ("first", "average", "max") and not self._word_aware:
            warnings.warn("The tokenizer does not mark sub-words (it is not WordPiece); words are "
                          "guessed from whitespace, as transformers does.", UserWarning, stacklevel=2)
        results: list = []
        for _, part in chunks(batch, batch_size):
            if part:
                results.extend(self._run(part, strategy, ignore, stride))
        return results if is_list else results[0]

    # -- internals -----------------------------------------------------------------------------
    @property
    def _word_aware(self) -> bool:
        # transformers trusts token lengths when the model has a continuing-subword prefix ("##")
        return self.tokenizer._tokenizer.model_type == "WordPiece"

    @property
    def _vocab(self) -> list[str | None]:
        """id → token string, built once (one crossing for the whole vocabulary)."""
        vocab = self.__dict__.get("_vocab_cache")
        if vocab is None:
            mapping = self.tokenizer.get_vocab()
            vocab = [None] * (max(mapping.values(), default=-1) + 1)
            for token, i in mapping.items():
                vocab[i] = token
            self.__dict__["_vocab_cache"] = vocab
        return vocab

    def _run(self, texts: list[str], strategy: str, ignore: set[str], stride: int | None) -> list:
        options: dict[str, Any] = dict(padding=True, truncation=True, return_offsets_mapping=True,
                                       return_special_tokens_mask=True)
        if stride is not None:
            options.update(return_overflowing_tokens=True, stride=stride)
        enc = self.tokenizer(texts, **options)
        feed = {k: enc[k] for k in ("input_ids", "attention_mask", "token_type_ids") if k in enc}
        logits = np.asarray(self.model(**feed)["logits"], dtype=np.float32)
        # float32 softmax, as transformers computes it
        shifted = np.exp(logits - logits.max(-1, keepdims=True))
        scores = shifted / shifted.sum(-1, keepdims=True)
        mapping = enc.get("overflow_to_sample_mapping")
        rows_of: list[list[int]] = [[] for _ in texts]
        for row in range(len(enc["input_ids"])):
            rows_of[int(mapping[row]) if mapping is not None else row].append(row)
        groups: list[list[dict]] = []
        for i, rows in enumerate(rows_of):
            entities: list[dict] = []
            for row in rows:
                pre = self._pre_entities(texts[i], enc, row, scores[row])
                grouped = self._aggregate(pre, strategy)
                entities.extend(e for e in grouped
                                if e.get("entity", e.get("entity_group")) not in ignore)
            if len(rows) > 1:
                entities = _resolve_overlaps(entities)
            groups.append(entities)
        self._fill_words([e for g in groups for e in g])
        return groups

    def _pre_entities(self, sentence: str, enc: dict, row: int, scores: np.ndarray) -> list[dict]:
        ids = enc["input_ids"][row].tolist()
        special = enc["special_tokens_mask"][row].tolist()
        attention = enc["attention_mask"][row].tolist()
        offsets = enc["offset_mapping"][row].tolist()
        unk = self.tokenizer.unk_token_id
        vocab = self._vocab
        word_aware = self._word_aware
        out = []
        for idx, token_id in enumerate(ids):
            if special[idx] or not attention[idx]:
                continue
            word = vocab[token_id] if token_id < len(vocab) else None
            start, end = offsets[idx]
            word_ref = sentence[start:end]
            if word_aware:
                is_subword = word is not None and len(word) != len(word_ref)
            else:  # transformers' fallback: no space before or at the token
                is_subword = start > 0 and " " not in sentence[start - 1:start + 1]
            text = None
            if token_id == unk:  # report what the text says, not "[UNK]"
                word = text = word_ref
                is_subword = False
            out.append({"word": word, "scores": scores[idx], "start": start, "end": end,
                        "index": idx, "is_subword": is_subword, "pieces": [(token_id, text)]})
        return out

    def _aggregate(self, pre: list[dict], strategy: str) -> list[dict]:
        id2label = self._label
        if strategy in ("none", "simple"):
            entities = []
            for p in pre:
                best = int(p["scores"].argmax())
                entities.append({"entity": id2label(best), "score": p["scores"][best],
                                 "index": p["index"], "word": p["word"], "start": p["start"],
                                 "end": p["end"], "pieces": p["pieces"]})
            if strategy == "none":
                for e in entities:
                    del e["pieces"]
                return entities
        else:
            entities = []
            group: list[dict] = []
            for p in pre:
                if group and not p["is_subword"]:
                    entities.append(self._aggregate_word(group, strategy))
                    group = []
                group.append(p)
            if group:
                entities.append(self._aggregate_word(group, strategy))
        return _group_entities(entities)

    def _aggregate_word(self, tokens: list[dict], strategy: str) -> dict:
        if strategy == "first":
            scores = tokens[0]["scores"]
        elif strategy == "max":
            scores = max(tokens, key=lambda t: t["scores"].max())["scores"]
        else:  # average
            scores = np.nanmean(np.stack([t["scores"] for t in tokens]), axis=0)
        best = int(scores.argmax())
        return {"entity": self._label(best), "score": scores[best], "start": tokens[0]["start"],
                "end": tokens[-1]["end"], "pieces": [x for t in tokens for x in t["pieces"]]}

    def _label(self, i: int) -> str:
        id2label = self.model.config.id2label or {}
        return id2label.get(i, f"LABEL_{i}")

    def _fill_words(self, entities: list[dict]) -> None:
        """Words of grouped entities from their token ids, one decode call for all of them; scores
        and offsets as plain Python numbers (JSON-serialisable)."""
        grouped = [e for e in entities if "pieces" in e]
        runs: list[list[int]] = []
        plans = []
        for e in grouped:
            plan: list = []
            for token_id, text in e.pop("pieces"):
                if text is not None:  # an unknown token: its original text, space-separated
                    plan.append(text)
                elif plan and isinstance(plan[-1], int):
                    runs[plan[-1]].append(token_id)
                else:
                    plan.append(len(runs))
                    runs.append([token_id])
            plans.append(plan)
        decoded = self.tokenizer._tokenizer.decode_batch(runs, False) if runs else []
        for e, plan in zip(grouped, plans):
            e["word"] = " ".join(decoded[p] if isinstance(p, int) else p for p in plan)
        for e in entities:
            e["score"] = float(e["score"])
            e["start"], e["end"] = int(e["start"]), int(e["end"])


def _strategy(value: Any) -> str:
    name = getattr(value, "value", value)  # accept transformers' AggregationStrategy enum too
    if isinstance(name, str) and name.lower() in AGGREGATION_STRATEGIES:
        return name.lower()
    raise InvalidInputError(
        f"aggregation_strategy must be one of {', '.join(AGGREGATION_STRATEGIES)}, got {value!r}")


def _ignore_labels(value: Any) -> set[str]:
    if value is None:
        return {"O"}
    if isinstance(value, str) or not isinstance(value, (list, tuple, set, frozenset)):
        raise InvalidInputError(f"ignore_labels must be a list of labels, got {value!r}")
    if not all(isinstance(v, str) for v in value):
        raise InvalidInputError(f"ignore_labels must hold strings, got {value!r}")
    return set(value)


def _tag(entity: str) -> tuple[str, str]:
    if entity.startswith("B-"):
        return "B", entity[2:]
    if entity.startswith("I-"):
        return "I", entity[2:]
    return "I", entity  # no B-/I- prefix: a continuation


def _group_entities(entities: list[dict]) -> list[dict]:
    """Adjacent entities with the same tag (not starting a new B-) become one group."""
    groups: list[dict] = []
    current: list[dict] = []
    for entity in entities:
        if current:
            bi, tag = _tag(entity["entity"])
            _, last_tag = _tag(current[-1]["entity"])
            if tag == last_tag and bi != "B":
                current.append(entity)
                continue
            groups.append(_group(current))
        current = [entity]
    if current:
        groups.append(_group(current))
    return groups


def _group(entities: list[dict]) -> dict:
    return {
        "entity_group": entities[0]["entity"].split("-", 1)[-1],
        "score": np.mean(np.nanmean([e["score"] for e in entities])),
        "word": None,  # filled by _fill_words
        "start": entities[0]["start"],
        "end": entities[-1]["end"],
        "pieces": [x for e in entities for x in e["pieces"]],
    }


def _resolve_overlaps(entities: list[dict]) -> list[dict]:
    """Entities of overlapping windows: of two overlapping ones keep the longer (then the higher
    score), as transformers' ``aggregate_overlapping_entities``."""
    if not entities:
        return entities
    entities = sorted(entities, key=lambda e: e["start"])
    kept = []
    previous = entities[0]
    for entity in entities:
        if previous["start"] <= entity["start"] < previous["end"]:
            length = entity["end"] - entity["start"]
            previous_length = previous["end"] - previous["start"]
            if length > previous_length or (length == previous_length
                                             and entity["score"] > previous["score"]):
                previous = entity
        else:
            kept.append(previous)
            previous = entity
    kept.append(previous)
    return kept
