"""summarization: text2text-generation whose results are ``summary_text``."""

from __future__ import annotations

from .text2text_generation import Text2TextGenerationPipeline


class SummarizationPipeline(Text2TextGenerationPipeline):
    """``pipe(text | [text], **generate_kwargs)`` → ``[{"summary_text": ...}]``; T5-style models
    get ``task_specific_params["summarization"]`` (``"summarize: "`` prefix, lengths, beams)."""

    result_key = "summary_text"
