"""Streamers: receive token ids as generate() produces them.

``TextStreamer`` prints (or calls back with) text as soon as whole words form, exactly like
transformers' and Transformers.js' TextStreamer; ``TextIteratorStreamer`` hands the text to a
consumer thread through a queue.
"""

from __future__ import annotations

import queue
import sys
from typing import Any, Callable, Iterator, Optional

import numpy as np

from ..errors import InvalidInputError


class BaseStreamer:
    def put(self, value: Any) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def end(self) -> None:  # pragma: no cover - interface
        raise NotImplementedError


def _is_chinese_char(cp: int) -> bool:
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF
            or 0x2A700 <= cp <= 0x2B73F or 0x2B740 <= cp <= 0x2B81F or 0x2B820 <= cp <= 0x2CEAF
            or 0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F)


def _stdout_write(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


def _as_ids(value: Any) -> list[int]:
    array = np.asarray(value)
    if array.ndim > 1:
        if array.shape[0] > 1:
            raise InvalidInputError("TextStreamer only supports batch size 1")
        array = array[0]
    return [int(i) for i in array.reshape(-1)]


class TextStreamer(BaseStreamer):
    """Decode tokens as they come and emit text at word boundaries.

    ``callback_function(text)`` receives each printable piece (default: write to stdout, with a
    newline at the end of the stream); ``token_callback_function(ids)`` receives the raw ids.
    ``skip_prompt`` drops the first ``put`` (the prompt). Extra keyword arguments are decode options
    (e.g. ``skip_special_tokens=True``).
    """

    def __init__(self, tokenizer: Any, *, skip_prompt: bool = False,
                 callback_function: Optional[Callable[[str], Any]] = None,
                 token_callback_function: Optional[Callable[[list[int]], Any]] = None,
                 decode_kwargs: Optional[dict] = None, **kwargs: Any):
        self.tokenizer = tokenizer
        self.skip_prompt = skip_prompt
        self.callback_function = callback_function if callback_function is not None else _stdout_write
        self.token_callback_function = token_callback_function
        self.decode_kwargs = {**(decode_kwargs or {}), **kwargs}
        self.token_cache: list[int] = []
        self.print_len = 0
        self.next_tokens_are_prompt = True

    def put(self, value: Any) -> None:
        ids = _as_ids(value)
        if self.skip_prompt and self.next_tokens_are_prompt:
            self.next_tokens_are_prompt = False
            return
        if self.token_callback_function is not None:
            self.token_callback_function(ids)
        self.token_cache.extend(ids)
        text = self.tokenizer.decode(self.token_cache, **self.decode_kwargs)
        if text.endswith("\n"):
            printable = text[self.print_len:]
            self.token_cache = []
            self.print_len = 0
        elif text and _is_chinese_char(ord(text[-1])):
            printable = text[self.print_len:]
            self.print_len += len(printable)
        else:
            printable = text[self.print_len:text.rfind(" ") + 1]
            self.print_len += len(printable)
        self.on_finalized_text(printable, stream_end=False)

    def end(self) -> None:
        if self.token_cache:
            text = self.tokenizer.decode(self.token_cache, **self.decode_kwargs)
            printable = text[self.print_len:]
            self.token_cache = []
            self.print_len = 0
        else:
            printable = ""
        self.next_tokens_are_prompt = True
        self.on_finalized_text(printable, stream_end=True)

    def on_finalized_text(self, text: str, stream_end: bool = False) -> None:
        if text:
            self.callback_function(text)
        if stream_end and self.callback_function is _stdout_write:
            self.callback_function("\n")


class TextIteratorStreamer(TextStreamer):
    """Iterate over the text from another thread::

        streamer = TextIteratorStreamer(tok, skip_prompt=True)
        threading.Thread(target=model.generate, kwargs=dict(**inputs, streamer=streamer)).start()
        for piece in streamer: ...

    ``timeout`` (seconds) bounds each wait; an error raised by generate() can be forwarded with
    :meth:`error`, and is re-raised in the consumer.
    """

    _END = object()

    def __init__(self, tokenizer: Any, *, skip_prompt: bool = False, timeout: Optional[float] = None,
                 **decode_kwargs: Any):
        super().__init__(tokenizer, skip_prompt=skip_prompt, callback_function=self._enqueue,
                         **decode_kwargs)
        self.timeout = timeout
        self.text_queue: "queue.Queue[Any]" = queue.Queue()

    def _enqueue(self, text: str) -> None:
        self.text_queue.put(text)

    def on_finalized_text(self, text: str, stream_end: bool = False) -> None:
        if text:
            self.text_queue.put(text)
        if stream_end:
            self.text_queue.put(self._END)

    def error(self, exc: BaseException) -> None:
        """Forward a producer-side exception to the consumer and end the stream."""
        self.text_queue.put(exc)

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        item = self.text_queue.get(timeout=self.timeout)
        if item is self._END:
            raise StopIteration
        if isinstance(item, BaseException):
            raise item
        return item


class WhisperTextStreamer(TextStreamer):
    """A :class:`TextStreamer` for Whisper (Transformers.js' ``WhisperTextStreamer``).

    Timestamp tokens are not printed; they drive the callbacks instead: the first of a pair calls
    ``on_chunk_start(seconds)``, the second ``on_chunk_end(seconds)``. ``on_finalize()`` is called
    when a generation ends. Special tokens are skipped when decoding (``skip_special_tokens=True``
    by default), so the decoder prompt prints nothing; ``time_precision`` is the duration of one
    timestamp step (0.02 s for Whisper).
    """

    def __init__(self, tokenizer: Any, *, skip_prompt: bool = False,
                 callback_function: Optional[Callable[[str], Any]] = None,
                 token_callback_function: Optional[Callable[[list[int]], Any]] = None,
                 on_chunk_start: Optional[Callable[[float], Any]] = None,
                 on_chunk_end: Optional[Callable[[float], Any]] = None,
                 on_finalize: Optional[Callable[[], Any]] = None, time_precision: float = 0.02,
                 skip_special_tokens: bool = True, decode_kwargs: Optional[dict] = None):
        super().__init__(tokenizer, skip_prompt=skip_prompt, callback_function=callback_function,
                         token_callback_function=token_callback_function,
                         decode_kwargs={"skip_special_tokens": skip_special_tokens, **(decode_kwargs or {})})
        begin = getattr(tokenizer, "timestamp_begin", None)
        if begin is None:
            no_ts = tokenizer.convert_tokens_to_ids("<|notimestamps|>")
            if no_ts is None:
                raise InvalidInputError("WhisperTextStreamer needs a Whisper tokenizer (<|notimestamps|>)")
            begin = no_ts + 1
        self.timestamp_begin = int(begin)
        self.on_chunk_start = on_chunk_start
        self.on_chunk_end = on_chunk_end
        self.on_finalize = on_finalize
        self.time_precision = time_precision
        self.waiting_for_timestamp = False

    def put(self, value: Any) -> None:
        array = np.asarray(value)
        if array.ndim > 1 and array.shape[0] > 1:
            raise InvalidInputError("WhisperTextStreamer only supports batch size 1")
        ids = _as_ids(value)
        if len(ids) == 1 and ids[0] >= self.timestamp_begin:
            seconds = (ids[0] - self.timestamp_begin) * self.time_precision
            callback = self.on_chunk_end if self.waiting_for_timestamp else self.on_chunk_start
            if callback is not None:
                callback(seconds)
            self.waiting_for_timestamp = not self.waiting_for_timestamp
            value = [[]]  # the timestamp itself is not text
        super().put(value)

    def end(self) -> None:
        super().end()
        if self.on_finalize is not None:
            self.on_finalize()
