"""Tokenizers: the Transformers.js tokenizer API over the Rust core."""

from .auto import TOKENIZER_CLASSES, AutoTokenizer, tokenizer_class
from .base import PreTrainedTokenizer, clean_up_tokenization
from .chat_template import ChatTemplateError

__all__ = ["AutoTokenizer", "PreTrainedTokenizer", "ChatTemplateError", "TOKENIZER_CLASSES",
           "tokenizer_class", "clean_up_tokenization"]


def __getattr__(name: str):
    # BertTokenizer, LlamaTokenizer, MarianTokenizer... (the 44 classes of the inventory)
    if name.endswith("Tokenizer") and name[:-len("Tokenizer")] in TOKENIZER_CLASSES:
        return tokenizer_class(name[:-len("Tokenizer")])
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
