"""onnxformers.configs: PretrainedConfig, AutoConfig, normalized_config, key_value_shapes.

Oracle: the ``transformers`` configuration classes (they work without torch). Their ``attribute_map``
gives every family the standard names (num_hidden_layers, num_attention_heads, hidden_size), which is
exactly what ``normalized_config`` must recover from the family's own keys.
"""

from __future__ import annotations

import copy
import json
import pickle
import warnings

import pytest
from hub_server import BAD_JSON, BERT_CONFIG, LIST_CONFIG, NO_CONFIG, TINY_BERT
from onnxformers import errors
from onnxformers.configs import AutoConfig, PretrainedConfig, key_value_shapes, normalized_config

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    transformers = pytest.importorskip("transformers")


def hf_config(model_type: str, **kwargs):
    """A transformers config object of that family (defaults = the family's reference model)."""
    return transformers.AutoConfig.for_model(model_type, **kwargs)


# --------------------------------------------------------------------------------------------------
# PretrainedConfig


def test_attribute_access_to_every_key():
    config = PretrainedConfig(BERT_CONFIG)
    for key, value in BERT_CONFIG.items():
        if key.isidentifier() and key not in ("id2label", "label2id"):
            assert getattr(config, key) == value
        assert key in config
    assert config.model_type == "bert" and config.is_encoder_decoder is False
    assert config.max_position_embeddings == 128
    assert config.transformers_js_config == {"dtype": "q8"}
    assert config.get("transformers.js_config") == {"dtype": "q8"}
    assert config.get("nope", 5) == 5 and "nope" not in config
    with pytest.raises(AttributeError, match="no key 'nope'"):
        config.nope  # noqa: B018
    assert getattr(config, "nope", None) is None
    assert "num_hidden_layers" in dir(config)


def test_defaults_of_documented_properties():
    config = PretrainedConfig({})
    assert config.model_type is None and config.is_encoder_decoder is False
    assert config.max_position_embeddings is None and config.problem_type is None
    assert config.id2label == {} and config.label2id == {} and config.num_labels is None
    assert config.transformers_js_config == {}


@pytest.mark.parametrize(
    "labels",
    [
        {"id2label": {"0": "NEGATIVE", "1": "POSITIVE"}},
        {"id2label": {"0": "a", "1": "b", "2": "c"}, "label2id": {"a": 0, "b": 1, "c": 2}},
        {"id2label": {"2": "x", "0": "y", "1": "z"}, "problem_type": "multi_label_classification"},
    ],
)
def test_labels_match_transformers(labels):
    ours = PretrainedConfig(labels)
    theirs = transformers.PretrainedConfig.from_dict(copy.deepcopy(labels))
    assert ours.id2label == theirs.id2label and all(isinstance(k, int) for k in ours.id2label)
    # transformers 4.57 leaves label2id None when the file lacks it; we derive it (the inverse map)
    assert ours.label2id == (theirs.label2id or {v: k for k, v in theirs.id2label.items()})
    assert ours.num_labels == theirs.num_labels
    assert ours.problem_type == theirs.problem_type


def test_label2id_alone_gives_id2label():
    config = PretrainedConfig({"label2id": {"neg": "0", "pos": 1}})
    assert config.id2label == {0: "neg", 1: "pos"} and config.label2id == {"neg": 0, "pos": 1}
    assert PretrainedConfig({"num_labels": 3}).num_labels == 3


def test_bad_labels_are_invalid_config():
    with pytest.raises(errors.InvalidConfigError, match="id2label"):
        PretrainedConfig({"id2label": {"zero": "a"}})
    with pytest.raises(errors.InvalidConfigError, match="id2label"):
        PretrainedConfig({"id2label": ["a", "b"]})
    with pytest.raises(errors.InvalidConfigError, match="JSON object"):
        PretrainedConfig([1, 2])


def test_sub_configs_are_configs_and_round_trip():
    raw = transformers.LlavaConfig().to_dict()
    config = PretrainedConfig(raw)
    assert isinstance(config.text_config, PretrainedConfig) and isinstance(config.vision_config, PretrainedConfig)
    assert config.text_config.model_type == raw["text_config"]["model_type"]
    assert json.loads(json.dumps(config.to_dict())) == json.loads(json.dumps(raw))
    ved = transformers.VisionEncoderDecoderConfig.from_encoder_decoder_configs(
        transformers.ViTConfig(), transformers.GPT2Config()
    ).to_dict()
    config = PretrainedConfig(ved)
    assert config.encoder.model_type == "vit" and config.decoder.n_layer == 12


def test_to_dict_round_trips_json():
    config = PretrainedConfig(BERT_CONFIG)
    assert json.loads(json.dumps(config.to_dict())) == BERT_CONFIG
    out = config.to_dict()
    out["architectures"].append("mutated")
    assert config.architectures == ["BertForSequenceClassification"]  # to_dict is a deep copy


def test_setting_attributes():
    config = PretrainedConfig(dict(BERT_CONFIG))
    config.num_hidden_layers = 7
    config.new_key = "x"
    assert config.to_dict()["num_hidden_layers"] == 7 and config["new_key"] == "x"
    config.id2label = {"0": "A", "1": "B", "2": "C"}
    assert config.label2id == {"A": 0, "B": 1, "C": 2} and config.num_labels == 3
    config.transformers_js_config = {"device": "cpu"}
    assert config.to_dict()["transformers.js_config"] == {"device": "cpu"}
    config.model_type = "roberta"
    assert config.model_type == "roberta"
    del config.new_key
    assert "new_key" not in config
    with pytest.raises(AttributeError):
        config.normalized_config = None


def test_normalized_config_follows_changes():
    config = PretrainedConfig(hf_config("gpt2", n_layer=3).to_dict())
    assert config.normalized_config.num_layers == 3
    config.n_layer = 5
    assert config.normalized_config.num_layers == 5


def test_pickle_copy_equality():
    config = PretrainedConfig(transformers.LlavaConfig().to_dict())
    for clone in (pickle.loads(pickle.dumps(config)), copy.deepcopy(config), copy.copy(config)):
        assert clone == config and clone.text_config.model_type == config.text_config.model_type
    assert PretrainedConfig({"a": 1}) != PretrainedConfig({"a": 2})
    assert "PretrainedConfig" in repr(config) and '"model_type": "llava"' in repr(config)


# --------------------------------------------------------------------------------------------------
# AutoConfig.from_pretrained


def test_from_local_folder(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps(BERT_CONFIG))
    config = AutoConfig.from_pretrained(tmp_path)
    assert config.model_type == "bert" and config.id2label == {0: "NEGATIVE", 1: "POSITIVE"}
    assert PretrainedConfig.from_pretrained(str(tmp_path)) == config


def test_from_hub_with_options(hub):
    events = []
    config = AutoConfig.from_pretrained(TINY_BERT, progress_callback=events.append)
    assert config.to_dict() == PretrainedConfig(BERT_CONFIG).to_dict()
    assert [e["status"] for e in events][0] == "initiate" and events[-1]["status"] == "done"
    assert events[0]["file"] == "config.json"
    tagged = AutoConfig.from_pretrained(TINY_BERT, revision="v1.0")
    assert tagged.hidden_size == 32 and tagged.id2label == {0: "neg", 1: "pos"}
    hub.server.reset_counts()
    assert AutoConfig.from_pretrained(TINY_BERT, local_files_only=True) == config
    assert hub.server.total == 0


def test_config_argument_short_cuts_loading(hub):
    given = PretrainedConfig({"model_type": "gpt2"})
    assert AutoConfig.from_pretrained("any/thing", config=given) is given
    assert AutoConfig.from_pretrained("any/thing", config={"model_type": "t5"}).model_type == "t5"
    assert hub.server.total == 0


def test_malformed_config_json(hub, tmp_path):
    with pytest.raises(
        errors.InvalidConfigError, match=r"config.json of 'onnxformers-test/bad-json'.*not valid JSON"
    ) as info:
        AutoConfig.from_pretrained(BAD_JSON)
    assert "snapshots" in str(info.value)  # the local path of the bad file is named too
    with pytest.raises(errors.InvalidConfigError, match="config.json.*must hold a JSON object, got list"):
        AutoConfig.from_pretrained(LIST_CONFIG)
    (tmp_path / "config.json").write_text("{'single': 'quotes'}")
    with pytest.raises(errors.InvalidConfigError, match=str(tmp_path)):
        AutoConfig.from_pretrained(tmp_path)
    assert isinstance(info.value, ValueError)


def test_missing_config_json(hub, tmp_path):
    with pytest.raises(errors.FileMissingError, match="config.json.*onnxformers-test/no-config"):
        AutoConfig.from_pretrained(NO_CONFIG)
    with pytest.raises(errors.FileMissingError, match="config.json"):
        AutoConfig.from_pretrained(tmp_path)


# --------------------------------------------------------------------------------------------------
# normalized_config against transformers' standardized attribute names

DECODER_FAMILIES = [
    ("gpt2", {}),
    ("gptj", {}),
    ("codegen", {}),
    ("gpt_bigcode", {}),
    ("gpt_neox", {}),
    ("opt", {}),
    ("stablelm", {}),
    ("stablelm", {"num_key_value_heads": 8}),  # StableLM 2 style GQA
    ("llama", {"num_key_value_heads": 8}),
    ("mistral", {}),
    ("mistral", {"head_dim": 128, "hidden_size": 5120}),  # Mistral-Nemo: head_dim != hidden/heads
    ("qwen2", {"num_key_value_heads": 2}),
    ("phi", {}),
    ("phi3", {"num_key_value_heads": 8}),
    ("gemma", {}),
    ("gemma2", {}),
    ("starcoder2", {}),
    ("cohere", {}),
    ("granite", {}),
    ("olmo", {}),
    ("gpt_neo", {}),
    ("bloom", {}),
    ("mpt", {}),
]


@pytest.mark.parametrize("model_type, kwargs", DECODER_FAMILIES)
def test_decoder_families_match_transformers(model_type, kwargs):
    theirs = hf_config(model_type, **kwargs)
    nc = normalized_config(theirs.to_dict())
    assert nc.model_type == model_type
    assert nc.num_layers == theirs.num_hidden_layers
    assert nc.num_heads == theirs.num_attention_heads
    assert nc.hidden_size == theirs.hidden_size
    kv = getattr(theirs, "num_key_value_heads", None) or theirs.num_attention_heads
    assert nc.num_kv_heads == kv
    head_dim = getattr(theirs, "head_dim", None) or theirs.hidden_size // theirs.num_attention_heads
    assert nc.head_dim == head_dim
    assert nc.num_encoder_layers is None and nc.num_decoder_layers is None


SEQ2SEQ_FAMILIES = [
    "t5",
    "mt5",
    "longt5",
    "bart",
    "mbart",
    "marian",
    "whisper",
    "m2m_100",
    "blenderbot",
    "blenderbot-small",
]


@pytest.mark.parametrize("model_type", SEQ2SEQ_FAMILIES)
def test_seq2seq_families_match_transformers(model_type):
    theirs = hf_config(model_type)
    nc = normalized_config(theirs.to_dict())
    assert nc.is_encoder_decoder is True
    if model_type in ("t5", "mt5", "longt5"):
        assert nc.num_encoder_layers == theirs.num_layers and nc.num_decoder_layers == theirs.num_decoder_layers
        assert nc.num_encoder_heads == nc.num_decoder_heads == theirs.num_heads
        assert nc.encoder_head_dim == nc.decoder_head_dim == theirs.d_kv
    else:
        assert nc.num_encoder_layers == theirs.encoder_layers and nc.num_decoder_layers == theirs.decoder_layers
        assert nc.num_encoder_heads == theirs.encoder_attention_heads
        assert nc.num_decoder_heads == theirs.decoder_attention_heads
        assert nc.encoder_hidden_size == nc.decoder_hidden_size == theirs.d_model
        assert nc.decoder_head_dim == theirs.d_model // theirs.decoder_attention_heads


def test_t5_without_num_decoder_layers_uses_num_layers():
    raw = hf_config("t5", num_layers=3).to_dict()
    del raw["num_decoder_layers"]
    assert normalized_config(raw).num_decoder_layers == 3
    assert transformers.T5Config(**raw).num_decoder_layers == 3  # the oracle agrees


def test_unknown_llama_like_type_is_normalized():
    nc = normalized_config(
        {
            "model_type": "brand_new",
            "num_hidden_layers": 4,
            "num_attention_heads": 8,
            "num_key_value_heads": 2,
            "hidden_size": 256,
        }
    )
    assert (nc.num_layers, nc.num_heads, nc.num_kv_heads, nc.head_dim) == (4, 8, 2, 32)


# --------------------------------------------------------------------------------------------------
# key_value_shapes (Transformers.js getKeyValueShapes layouts, on known models)


def test_shapes_gpt2():
    shapes = key_value_shapes(hf_config("gpt2").to_dict())
    assert len(shapes) == 24
    assert list(shapes)[:4] == [
        "past_key_values.0.key",
        "past_key_values.0.value",
        "past_key_values.1.key",
        "past_key_values.1.value",
    ]
    assert set(shapes.values()) == {(1, 12, 0, 64)}


def test_shapes_llama_gqa_batch_and_prefix():
    # Llama-3.2-1B numbers: 16 layers, 32 heads, 8 kv heads, hidden 2048
    config = hf_config("llama", num_hidden_layers=16, num_attention_heads=32, num_key_value_heads=8, hidden_size=2048)
    shapes = key_value_shapes(PretrainedConfig(config.to_dict()), batch_size=3, prefix="present")
    assert len(shapes) == 32 and set(shapes.values()) == {(3, 8, 0, 64)}
    assert "present.15.value" in shapes


def test_shapes_gemma_use_head_dim():
    shapes = key_value_shapes(hf_config("gemma").to_dict())  # 16 heads, 16 kv heads... head_dim 256
    config = hf_config("gemma")
    assert set(shapes.values()) == {(1, config.num_key_value_heads, 0, 256)}


def test_shapes_whisper_tiny():
    config = hf_config(
        "whisper", d_model=384, encoder_attention_heads=6, decoder_attention_heads=6, encoder_layers=4, decoder_layers=4
    )
    shapes = key_value_shapes(config.to_dict())
    assert len(shapes) == 16
    assert shapes["past_key_values.3.encoder.key"] == shapes["past_key_values.0.decoder.value"] == (1, 6, 0, 64)
    assert list(shapes)[:4] == [
        "past_key_values.0.encoder.key",
        "past_key_values.0.encoder.value",
        "past_key_values.0.decoder.key",
        "past_key_values.0.decoder.value",
    ]


def test_shapes_t5_small():
    shapes = key_value_shapes(hf_config("t5").to_dict(), batch_size=2)
    assert len(shapes) == 24 and set(shapes.values()) == {(2, 8, 0, 64)}


def test_shapes_special_layouts():
    falcon = key_value_shapes(hf_config("falcon").to_dict(), batch_size=2)  # 71 heads, head_dim 64
    assert falcon["past_key_values.0.key"] == falcon["past_key_values.0.value"] == (2 * 71, 0, 64)
    bloom = key_value_shapes(hf_config("bloom", n_head=4, hidden_size=64, n_layer=2).to_dict())
    assert bloom["past_key_values.1.key"] == (4, 16, 0) and bloom["past_key_values.1.value"] == (4, 0, 16)
    bigcode = key_value_shapes(hf_config("gpt_bigcode", n_layer=2, n_head=4, n_embd=64).to_dict())
    assert bigcode == {"past_key_values.0.key_value": (4, 0, 32), "past_key_values.1.key_value": (4, 0, 32)}
    openelm = {"model_type": "openelm", "num_transformer_layers": 3, "num_kv_heads": [2, 3, 4],
               "num_query_heads": [4, 6, 8], "head_dim": 64, "model_dim": 1280}  # fmt: skip
    shapes = key_value_shapes(openelm)
    assert [shapes[f"past_key_values.{i}.key"] for i in range(3)] == [(1, 2, 0, 64), (1, 3, 0, 64), (1, 4, 0, 64)]


def test_shapes_wrappers():
    text = {"model_type": "llama", "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2}
    llava = transformers.LlavaConfig(text_config=dict(text, hidden_size=64))
    nc = normalized_config(llava.to_dict())
    assert nc.model_type == "llava" and (nc.num_layers, nc.num_kv_heads, nc.head_dim) == (2, 2, 16)
    assert set(key_value_shapes(llava.to_dict()).values()) == {(1, 2, 0, 16)}
    decoder = {"model_type": "musicgen_decoder", "num_hidden_layers": 24, "num_attention_heads": 16}
    musicgen = {"model_type": "musicgen", "is_encoder_decoder": True, "decoder": dict(decoder, hidden_size=1024)}
    shapes = key_value_shapes(musicgen)
    assert len(shapes) == 96 and set(shapes.values()) == {(1, 16, 0, 64)}


def test_shapes_vision_encoder_decoder():
    vit_gpt2 = transformers.VisionEncoderDecoderConfig.from_encoder_decoder_configs(
        transformers.ViTConfig(), transformers.GPT2Config(n_layer=2)
    ).to_dict()
    shapes = key_value_shapes(vit_gpt2)
    assert set(shapes) == {f"past_key_values.{i}.{kv}" for i in range(2) for kv in ("key", "value")}
    assert set(shapes.values()) == {(1, 12, 0, 64)}
    trocr = transformers.VisionEncoderDecoderConfig.from_encoder_decoder_configs(
        transformers.ViTConfig(), transformers.TrOCRConfig(decoder_layers=2, d_model=256, decoder_attention_heads=8)
    ).to_dict()
    shapes = key_value_shapes(trocr)
    assert len(shapes) == 8 and set(shapes.values()) == {(1, 8, 0, 32)}
    assert "past_key_values.1.encoder.value" in shapes


def test_shapes_need_a_decoder():
    with pytest.raises(errors.UnsupportedModelError, match="'bert'"):
        key_value_shapes(BERT_CONFIG)
    with pytest.raises(errors.UnsupportedModelError):
        key_value_shapes({"model_type": "mystery"})
    with pytest.raises(errors.UnsupportedModelError, match="text_config"):
        normalized_config({"model_type": "llava"})
