"""``apply_chat_template`` end to end against ``transformers``' (4.57) on the same folder:
tools, documents, named templates (a list in tokenizer_config.json), ``{% generation %}`` with
``return_assistant_tokens_mask``, ``continue_final_message``, batched conversations, extra
template variables, tokenize / return_dict / return_tensors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

transformers = pytest.importorskip("transformers")

from onnxformers import AutoTokenizer  # noqa: E402
from onnxformers.tokenizers import ChatTemplateError  # noqa: E402
from tk_helpers import tokenizer_json  # noqa: E402

CHATML_GEN = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' }}"
    "{% if message['role'] == 'assistant' %}{% generation %}{{ message['content'] + '<|im_end|>' }}"
    "{% endgeneration %}{% else %}{{ message['content'] + '<|im_end|>' }}{% endif %}{{ '\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")

# Qwen2.5-style tool use: tools rendered with tojson, tool calls and tool responses.
TOOL_USE = """{%- if tools %}
    {{- '<|im_start|>system\\n' }}
    {%- if messages[0]['role'] == 'system' %}{{- messages[0]['content'] }}{%- else %}{{- 'You are a helpful assistant.' }}{%- endif %}
    {{- "\\n\\n# Tools\\n\\n<tools>" }}
    {%- for tool in tools %}
        {{- "\\n" }}{{- tool | tojson }}
    {%- endfor %}
    {{- "\\n</tools><|im_end|>\\n" }}
{%- elif messages[0]['role'] == 'system' %}
    {{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}
{%- endif %}
{%- for message in messages %}
    {%- if message.role == "user" or (message.role == "system" and not loop.first) %}
        {{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}
    {%- elif message.role == "assistant" %}
        {{- '<|im_start|>' + message.role }}
        {%- if message.content %}{{- '\\n' + message.content }}{%- endif %}
        {%- for tool_call in message.tool_calls | default([]) %}
            {%- if tool_call.function is defined %}{%- set tool_call = tool_call.function %}{%- endif %}
            {{- '\\n<tool_call>\\n{"name": "' }}{{- tool_call.name }}{{- '", "arguments": ' }}
            {{- tool_call.arguments | tojson }}{{- '}\\n</tool_call>' }}
        {%- endfor %}
        {{- '<|im_end|>\\n' }}
    {%- elif message.role == "tool" %}
        {{- '<|im_start|>user\\n<tool_response>\\n' + message.content + '\\n</tool_response><|im_end|>\\n' }}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"""

# Command-R-style grounded generation: documents with titles, a date from strftime_now.
RAG = """{{ bos_token }}{% if documents %}<docs>{% for doc in documents %}
Document {{ loop.index0 }}: {{ doc.title | default('untitled') }}
{{ doc.text }}{% if loop.index >= max_docs | default(10) %}{% break %}{% endif %}
{% endfor %}</docs>{% endif %}
{% for m in messages %}{{ m.role | upper }}: {% if m.content is string %}{{ m.content | trim }}{% else %}{% for block in m.content %}{% if block.type == 'text' %}{{ block.text }}{% endif %}{% endfor %}{% endif %}
{% endfor %}{% if add_generation_prompt %}ASSISTANT ({{ strftime_now('%Y') }}):{% endif %}{{ eos_token if add_eos | default(false) }}"""

DEFAULT = "{% for m in messages %}[{{ m.role }}] {{ m.content }}\n{% endfor %}{% if add_generation_prompt %}[assistant]{% endif %}"

CONVERSATION = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "Hello, how are you? <b>é</b> 東京"},
    {"role": "assistant", "content": "Fine. And you?"},
    {"role": "user", "content": "What's the weather in Paris?"},
]
TOOL_CHAT = CONVERSATION + [
    {"role": "assistant", "content": "", "tool_calls": [
        {"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Paris", "unit": "c"}}}]},
    {"role": "tool", "name": "get_weather", "content": '{"temp": 21}'},
]
TOOLS = [{"type": "function", "function": {
    "name": "get_weather", "description": "Weather for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"},
                                                   "unit": {"type": "string", "enum": ["c", "f"]}},
                   "required": ["city"]}}}]
DOCUMENTS = [{"title": "Paris", "text": "Paris is the capital of France."},
             {"text": "Lyon is smaller. ünïcode"},
             {"title": "Nice", "text": "Nice is sunny."}]
MULTIMODAL = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "Describe it."}]},
              {"role": "assistant", "content": [{"type": "text", "text": "A cat on a mat."}]}]


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("chat")
    out = {}
    for name, template in {"single": CHATML_GEN,
                           "named": [{"name": "default", "template": DEFAULT},
                                     {"name": "tool_use", "template": TOOL_USE},
                                     {"name": "rag", "template": RAG},
                                     {"name": "chatml", "template": CHATML_GEN}]}.items():
        folder = root / name
        folder.mkdir()
        (folder / "tokenizer.json").write_text(tokenizer_json("gpt2"), encoding="utf-8")
        config = {"tokenizer_class": "GPT2Tokenizer", "bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>",
                  "unk_token": "<|endoftext|>", "pad_token": "<|endoftext|>", "chat_template": template}
        (folder / "tokenizer_config.json").write_text(json.dumps(config), encoding="utf-8")
        out[name] = folder
    return out


def pair(folder: Path):
    return AutoTokenizer.from_pretrained(str(folder)), transformers.AutoTokenizer.from_pretrained(str(folder))


def same(got, want):
    if isinstance(want, (dict, transformers.BatchEncoding)):
        assert set(got) == set(want)
        for k in want:
            same(got[k], want[k])
    else:
        def tolist(x):
            return x.tolist() if isinstance(x, np.ndarray) else x
        assert tolist(got) == tolist(want)


CALLS = [
    ("single", CONVERSATION, dict(tokenize=False)),
    ("single", CONVERSATION, dict(tokenize=False, add_generation_prompt=True)),
    ("single", CONVERSATION, dict()),
    ("single", CONVERSATION, dict(return_dict=True)),
    ("single", CONVERSATION, dict(return_dict=True, return_assistant_tokens_mask=True)),
    ("single", CONVERSATION[:3], dict(tokenize=False, continue_final_message=True)),
    ("single", CONVERSATION[:3], dict(continue_final_message=True)),
    ("named", CONVERSATION, dict(tokenize=False)),
    ("named", TOOL_CHAT, dict(tokenize=False, tools=TOOLS)),
    ("named", TOOL_CHAT, dict(tools=TOOLS, add_generation_prompt=True)),
    ("named", CONVERSATION, dict(tokenize=False, chat_template="tool_use")),
    ("named", CONVERSATION, dict(tokenize=False, chat_template="rag", documents=DOCUMENTS)),
    ("named", CONVERSATION, dict(tokenize=False, chat_template="rag", documents=DOCUMENTS, max_docs=2,
                                 add_eos=True, add_generation_prompt=True)),
    ("named", MULTIMODAL, dict(tokenize=False, chat_template="rag")),
    ("named", CONVERSATION, dict(tokenize=False, chat_template="chatml", add_generation_prompt=True)),
    ("named", CONVERSATION, dict(tokenize=False, chat_template=DEFAULT.replace("[", "<"))),  # a source
    ("named", CONVERSATION, dict(chat_template="rag", documents=DOCUMENTS, return_dict=True)),
]


@pytest.mark.parametrize("folder,conversation,kwargs", CALLS, ids=[f"{i}-{c[0]}" for i, c in enumerate(CALLS)])
def test_matches_transformers(folders, folder, conversation, kwargs):
    ours, theirs = pair(folders[folder])
    same(ours.apply_chat_template(conversation, **kwargs), theirs.apply_chat_template(conversation, **kwargs))


@pytest.mark.parametrize("kwargs", [dict(tokenize=False), dict(), dict(return_dict=True, padding=True),
                                    dict(return_dict=True, padding=True, return_tensors="np"),
                                    dict(return_dict=True, padding=True, return_assistant_tokens_mask=True),
                                    dict(return_dict=True, padding=True, return_assistant_tokens_mask=True,
                                         return_tensors="np")])
def test_batched_conversations(folders, kwargs):
    ours, theirs = pair(folders["single"])
    batch = [CONVERSATION, CONVERSATION[:3], [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]]
    ours_kwargs = dict(kwargs)
    if ours_kwargs.get("return_tensors") == "np":
        ours_kwargs["return_tensors"] = True
    same(ours.apply_chat_template(batch, **ours_kwargs), theirs.apply_chat_template(batch, **kwargs))


def test_assistant_mask_marks_generation_blocks(folders):
    ours, theirs = pair(folders["single"])
    out = ours.apply_chat_template(CONVERSATION, return_dict=True, return_assistant_tokens_mask=True)
    mask = out["assistant_masks"]
    assert 0 < sum(mask) < len(mask)
    marked = ours.decode([i for i, m in zip(out["input_ids"], mask) if m])
    assert marked == "Fine. And you?<|im_end|>"


def test_errors(folders):
    ours, _ = pair(folders["named"])
    with pytest.raises(ChatTemplateError, match="no chat template named 'nope'"):
        ours.apply_chat_template(CONVERSATION, chat_template="nope")
    with pytest.raises(ChatTemplateError, match="not compatible"):
        ours.apply_chat_template(CONVERSATION, continue_final_message=True, add_generation_prompt=True)
    with pytest.raises(ChatTemplateError, match="Tools should"):
        ours.apply_chat_template(CONVERSATION, tools=["not a tool"])
    with pytest.raises(ChatTemplateError, match="raised"):
        ours.apply_chat_template(CONVERSATION, chat_template="{{ raise_exception('boom') }}")
    single, _ = pair(folders["single"])
    single.chat_template = None
    with pytest.raises(ChatTemplateError, match="no chat template"):
        single.apply_chat_template(CONVERSATION)
    # a dict of templates without a default and no name given
    single.chat_template = {"a": DEFAULT, "b": DEFAULT}
    with pytest.raises(ChatTemplateError, match="none is named 'default'"):
        single.apply_chat_template(CONVERSATION)


def test_python_function_tools_match_transformers(folders):
    ours, theirs = pair(folders["named"])

    def get_weather(city: str, unit: str = "c"):
        """Weather for a city.

        Args:
            city: The city name.
            unit: Temperature unit.
        """

    kwargs = dict(tokenize=False, tools=[get_weather], add_generation_prompt=True)
    assert ours.apply_chat_template(TOOL_CHAT, **kwargs) == theirs.apply_chat_template(TOOL_CHAT, **kwargs)
