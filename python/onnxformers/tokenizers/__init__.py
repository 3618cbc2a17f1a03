"""Tokenizers: the Transformers.js tokenizer API over the Rust core."""

from .auto import TOKENIZER_CLASSES, AutoTokenizer, tokenizer_class
from .base import PreTrainedTokenizer, clean_up_tokenization
from .chat_template import ChatTemplateError

__all__ = ["AutoTokenizer", "PreTrainedTokenizer", "ChatTemplateError", "TOKENIZER_CLASSES",
           "tokenizer_class", "clean_up_tokenization"]
