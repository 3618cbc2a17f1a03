"""Chat templates rendered exactly as Hugging Face ``transformers`` renders them: jinja2's
ImmutableSandboxedEnvironment with trim_blocks/lstrip_blocks, loop controls, a non-escaping
``tojson`` and the ``raise_exception`` / ``strftime_now`` globals."""

from __future__ import annotations

import functools
import json
from datetime import datetime
from typing import Any, Mapping, Sequence

from ..errors import InvalidInputError, TokenizerError


class ChatTemplateError(TokenizerError):
    """The template is missing, unknown by name, or raised while rendering."""


@functools.lru_cache(maxsize=32)
def compile_template(source: str):
    import jinja2
    import jinja2.ext
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    def raise_exception(message: str):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators,
                          sort_keys=sort_keys)

    def strftime_now(fmt: str) -> str:
        return datetime.now().strftime(fmt)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    try:
        return env.from_string(source)
    except jinja2.exceptions.TemplateSyntaxError as exc:
        raise ChatTemplateError(f"chat template does not compile: {exc}") from exc


def select_template(templates: str | Mapping[str, str] | None, chat_template: str | None,
                    tools: Any = None) -> str:
    """Pick the template source: an explicit one (source or name), else ``tool_use`` when tools
    are given and such a named template exists, else ``default``."""
    if isinstance(templates, Mapping):
        if chat_template is not None:
            if chat_template in templates:
                return templates[chat_template]
            if "{" not in chat_template:
                raise ChatTemplateError(
                    f"no chat template named {chat_template!r}; available: {', '.join(templates)}")
            return chat_template
        if tools is not None and "tool_use" in templates:
            return templates["tool_use"]
        if "default" in templates:
            return templates["default"]
        raise ChatTemplateError(
            "this tokenizer has several chat templates and none is named 'default'; pass "
            f"chat_template= one of: {', '.join(templates)}")
    if chat_template is not None:
        return chat_template
    if templates is None:
        raise ChatTemplateError(
            "Cannot use apply_chat_template() because this tokenizer has no chat template "
            "(tokenizer_config.json has no 'chat_template'); pass chat_template= explicitly.")
    return templates


def render(source: str, conversation: Sequence[Mapping[str, Any]], *, tools=None, documents=None,
           add_generation_prompt: bool = False, **variables: Any) -> str:
    import jinja2

    if not isinstance(conversation, Sequence) or isinstance(conversation, str) or not all(
            isinstance(m, Mapping) for m in conversation):
        raise InvalidInputError("conversation must be a list of {'role': ..., 'content': ...} dicts")
    if documents is not None and not all(isinstance(d, Mapping) for d in documents):
        raise InvalidInputError("documents must be a list of dicts")
    template = compile_template(source)
    try:
        return template.render(messages=list(conversation), tools=tools, documents=documents,
                               add_generation_prompt=add_generation_prompt, **variables)
    except jinja2.exceptions.TemplateError as exc:
        raise ChatTemplateError(f"chat template raised: {exc}") from exc
