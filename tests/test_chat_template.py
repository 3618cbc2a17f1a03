"""Chat templates render exactly as transformers renders them."""

import pytest

transformers_chat = pytest.importorskip("transformers.utils.chat_template_utils")

from onnxformers.tokenizers import ChatTemplateError  # noqa: E402
from onnxformers.tokenizers.chat_template import render, select_template  # noqa: E402

CHATML = ("{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + "
          "message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}"
          "{{ '<|im_start|>assistant\n' }}{% endif %}")
LLAMA2 = ("{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}"
          "{% set system_message = messages[0]['content'] %}{% else %}"
          "{% set loop_messages = messages %}{% set system_message = false %}{% endif %}"
          "{% for message in loop_messages %}"
          "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
          "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}"
          "{% endif %}{% if loop.index0 == 0 and system_message != false %}"
          "{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}"
          "{% else %}{% set content = message['content'] %}{% endif %}"
          "{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}"
          "{% elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}"
          "{% endif %}{% endfor %}")
TOOLS = ("{%- if tools %}{{ tools | tojson(indent=2) }}\n{%- endif %}"
         "{%- for m in messages %}\n  {{ m.role }}: {{ m.content | tojson }}\n{%- endfor %}")

CONVERSATION = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "Hello, how are you? <b>é</b>"},
    {"role": "assistant", "content": "I'm doing great. How can I help you today?"},
    {"role": "user", "content": "I'd like to show off how chat templating works!"},
]


def reference(template, conversation, **kwargs):
    out = transformers_chat.render_jinja_template(
        conversations=[conversation], chat_template=template, **kwargs)
    return out[0][0]


@pytest.mark.parametrize("template", [CHATML, LLAMA2, TOOLS])
@pytest.mark.parametrize("add_generation_prompt", [False, True])
def test_matches_transformers(template, add_generation_prompt):
    kwargs = dict(add_generation_prompt=add_generation_prompt, bos_token="<s>", eos_token="</s>")
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {}}}]
    if template is TOOLS:
        kwargs["tools"] = tools
    assert render(template, CONVERSATION, **kwargs) == reference(template, CONVERSATION, **kwargs)


def test_raise_exception_becomes_chat_template_error():
    bad = [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]
    with pytest.raises(ChatTemplateError, match="alternate"):
        render(LLAMA2, bad, bos_token="<s>", eos_token="</s>")


def test_template_selection():
    named = {"default": "D", "tool_use": "T"}
    assert select_template(named, None) == "D"
    assert select_template(named, None, tools=[{}]) == "T"
    assert select_template(named, "tool_use") == "T"
    assert select_template("S", None) == "S"
    with pytest.raises(ChatTemplateError, match="no chat template"):
        select_template(None, None)
    with pytest.raises(ChatTemplateError, match="rag"):
        select_template(named, "rag")


def test_syntax_error_is_clear():
    with pytest.raises(ChatTemplateError, match="does not compile"):
        render("{% for x in %}", [{"role": "user", "content": "x"}])
