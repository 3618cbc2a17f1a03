"""Model outputs: a dict of numpy arrays with attribute access (``out.logits``)."""

from __future__ import annotations

from typing import Any


class ModelOutput(dict):
    """Output names → numpy arrays, as the ONNX graph names them."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(
                f"model output has no {name!r}; available: {', '.join(self)}"
            ) from None
