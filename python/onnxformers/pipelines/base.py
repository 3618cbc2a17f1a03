"""Pipeline base class and shared input checks."""

from __future__ import annotations

from typing import Any, Sequence

from ..errors import InvalidInputError


class Pipeline:
    """A task bound to a loaded model (+ tokenizer and/or processor). Call it with inputs."""

    def __init__(self, *, task: str, model: Any, tokenizer: Any = None, processor: Any = None,
                 **defaults: Any):
        self.task = task
        self.model = model
        self.tokenizer = tokenizer
        self.processor = processor
        #: call options fixed at construction (e.g. src_lang/tgt_lang from translation_xx_to_yy)
        self.defaults = defaults

    def __call__(self, inputs: Any, **options: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def dispose(self) -> None:
        """Release the model's ONNX Runtime sessions."""
        self.model.dispose()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(task={self.task!r}, model={type(self.model).__name__})"


def text_batch(inputs: Any, what: str = "text") -> tuple[list[str], bool]:
    """(list of strings, whether the caller passed a list). Rejects anything else clearly."""
    if isinstance(inputs, str):
        return [inputs], False
    if isinstance(inputs, Sequence) and not isinstance(inputs, (bytes, bytearray)):
        for i, item in enumerate(inputs):
            if not isinstance(item, str):
                raise InvalidInputError(
                    f"{what} input {i} is {type(item).__name__}; expected a string")
        return list(inputs), True
    raise InvalidInputError(
        f"{what} input must be a string or a list of strings, got {type(inputs).__name__}")


def chunks(items: list, size: int | None):
    """Consecutive slices of ``size`` (all at once when ``size`` is None)."""
    if size is None:
        yield 0, items
        return
    if not isinstance(size, int) or size < 1:
        raise InvalidInputError(f"batch_size must be a positive integer, got {size!r}")
    for start in range(0, len(items), size):
        yield start, items[start:start + size]
