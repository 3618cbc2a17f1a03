"""Fixtures of the tokenizer conformance tests (helpers live in ``tk_helpers``)."""

import pytest

pytest.importorskip("tokenizers")
