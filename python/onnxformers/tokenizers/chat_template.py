"""Chat templates rendered exactly as Hugging Face ``transformers`` renders them: jinja2's
ImmutableSandboxedEnvironment with trim_blocks/lstrip_blocks, loop controls, the
``{% generation %}`` block (assistant-token tracking), a non-escaping ``tojson`` and the
``raise_exception`` / ``strftime_now`` globals."""

from __future__ import annotations

import functools
import json
from contextlib import contextmanager
from datetime import datetime
from inspect import isfunction
from typing import Any, Mapping, Sequence

from ..errors import InvalidInputError, TokenizerError


class ChatTemplateError(TokenizerError):
    """The template is missing, unknown by name, or raised while rendering."""


#: appended to the final message for ``continue_final_message`` and cut off after rendering
_CONTINUE_TAG = "CONTINUE_FINAL_MESSAGE_TAG "


@functools.lru_cache(maxsize=32)
def compile_template(source: str):
    import jinja2
    import jinja2.ext
    import jinja2.nodes
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    class GenerationTracker(jinja2.ext.Extension):
        """``{% generation %}…{% endgeneration %}`` renders its body; while a tracker is active
        it records the body's character span in the output (for the assistant tokens mask)."""

        tags = {"generation"}

        def __init__(self, environment):
            super().__init__(environment)
            environment.extend(activate_tracker=self.activate_tracker)
            self._blocks: list[str] | None = None
            self._spans: list[tuple[int, int]] | None = None

        def parse(self, parser):
            lineno = next(parser.stream).lineno
            body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
            return jinja2.nodes.CallBlock(self.call_method("_generation"), [], [], body).set_lineno(lineno)

        def _generation(self, caller):
            rv = caller()
            if self._blocks is not None:
                start = len("".join(self._blocks))  # everything yielded so far precedes the block
                self._spans.append((start, start + len(rv)))
            return rv

        @contextmanager
        def activate_tracker(self, blocks: list[str], spans: list[tuple[int, int]]):
            if self._blocks is not None:
                raise ChatTemplateError("a chat template render is already tracking generation blocks")
            self._blocks, self._spans = blocks, spans
            try:
                yield
            finally:
                self._blocks = self._spans = None

    def raise_exception(message: str):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators,
                          sort_keys=sort_keys)

    def strftime_now(fmt: str) -> str:
        return datetime.now().strftime(fmt)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[GenerationTracker, jinja2.ext.loopcontrols])
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
            # transformers would render the unknown name itself as a template; a name without
            # any template syntax is far more likely a typo, so say so.
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
            f"chat_template= one of: {', '.join(sorted(templates))}")
    if chat_template is not None:
        return chat_template
    if templates is None:
        raise ChatTemplateError(
            "Cannot use apply_chat_template() because this tokenizer has no chat template "
            "(tokenizer_config.json has no 'chat_template'); pass chat_template= explicitly.")
    return templates


def is_batch(conversation: Any) -> bool:
    """A list of conversations (transformers: the first item is itself a list)."""
    return isinstance(conversation, (list, tuple)) and bool(conversation) and (
        isinstance(conversation[0], (list, tuple)) or hasattr(conversation[0], "messages"))


def _tool_schemas(tools) -> list | None:
    if tools is None:
        return None
    schemas = []
    for tool in tools:
        if isinstance(tool, Mapping):
            schemas.append(tool)
        elif isfunction(tool):
            try:  # the conversion needs docstring parsing that only transformers ships
                from transformers.utils import get_json_schema
            except ImportError as exc:
                raise ChatTemplateError(
                    "tools given as Python functions need `transformers` to build their JSON "
                    "schema; pass the JSON schema dicts instead") from exc
            schemas.append(get_json_schema(tool))
        else:
            raise ChatTemplateError("Tools should either be a JSON schema, or a callable function "
                                    "with type hints and a docstring suitable for auto-conversion "
                                    "to a schema.")
    return schemas


def _check_conversation(conversation) -> list:
    if hasattr(conversation, "messages"):
        conversation = conversation.messages
    if not isinstance(conversation, Sequence) or isinstance(conversation, str) or not all(
            isinstance(m, Mapping) for m in conversation):
        raise InvalidInputError("conversation must be a list of {'role': ..., 'content': ...} dicts")
    return list(conversation)


def render_with_spans(source: str, conversation: Sequence[Mapping[str, Any]], *, tools=None,
                      documents=None, add_generation_prompt: bool = False,
                      continue_final_message: bool = False, track_generation: bool = False,
                      **variables: Any) -> tuple[str, list[tuple[int, int]]]:
    """Render one conversation; also the character spans of ``{% generation %}`` blocks when
    ``track_generation`` (transformers' ``render_jinja_template`` for one chat)."""
    import copy

    import jinja2

    chat = _check_conversation(conversation)
    if documents is not None and not all(isinstance(d, Mapping) for d in documents):
        raise InvalidInputError("documents must be a list of dicts")
    if continue_final_message:
        if add_generation_prompt:
            raise ChatTemplateError("continue_final_message and add_generation_prompt are not compatible")
        if not chat:
            raise InvalidInputError("continue_final_message needs a final message")
        chat = copy.deepcopy(chat)
        final = chat[-1]["content"]
        if isinstance(final, (list, tuple)):
            for block in reversed(final):
                if "text" in block:
                    final = block["text"]
                    block["text"] = block["text"] + _CONTINUE_TAG
                    break
            else:
                raise ChatTemplateError("continue_final_message is set but the final message has no text")
        else:
            chat[-1]["content"] = final + _CONTINUE_TAG
    template = compile_template(source)
    context = dict(messages=chat, tools=_tool_schemas(tools), documents=documents,
                   add_generation_prompt=add_generation_prompt, **variables)
    spans: list[tuple[int, int]] = []
    try:
        if track_generation:
            blocks: list[str] = []
            with template.environment.activate_tracker(blocks, spans):
                for block in template.generate(**context):
                    blocks.append(block)
            text = "".join(blocks)
        else:
            text = template.render(**context)
    except jinja2.exceptions.TemplateError as exc:
        raise ChatTemplateError(f"chat template raised: {exc}") from exc
    if continue_final_message:
        tag = _CONTINUE_TAG.strip()
        if final.strip() not in text or tag not in text:
            raise ChatTemplateError(
                "continue_final_message is set but the final message does not appear in the chat "
                "after applying the chat template")
        loc = text.rindex(tag)
        text = text[:loc] if text[loc:loc + len(_CONTINUE_TAG)] == _CONTINUE_TAG else text[:loc].rstrip()
    return text, spans


def render(source: str, conversation: Sequence[Mapping[str, Any]], *, tools=None, documents=None,
           add_generation_prompt: bool = False, continue_final_message: bool = False,
           **variables: Any) -> str:
    return render_with_spans(source, conversation, tools=tools, documents=documents,
                             add_generation_prompt=add_generation_prompt,
                             continue_final_message=continue_final_message, **variables)[0]
