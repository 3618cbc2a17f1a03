"""backends/graph_optimizer.py: the opt-in load-time rewrite of merged decoders (If unwrapped,
onnxruntime transformer fusions), its cache, its validation and its fallbacks.

The rewritten graphs must give the transformers references token for token, like the original."""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnx")  # the rewrite needs the optional `onnx` package

from onnxformers import AutoModelForCausalLM  # noqa: E402
from onnxformers.backends import graph_optimizer as go  # noqa: E402

MODELS = Path(__file__).parent / "fixtures" / "models"
DECODERS = [n for n in ("tiny-gpt2-lm", "tiny-llama-lm") if (MODELS / n / "reference.json").exists()]
HAS_FUSIONS = True
try:
    import onnxruntime.transformers.optimizer  # noqa: F401  (needs sympy + packaging too)
    import sympy  # noqa: F401
except ImportError:
    HAS_FUSIONS = False
LEVELS = ["unwrap", pytest.param("fuse", marks=pytest.mark.skipif(
    not HAS_FUSIONS, reason="onnxruntime.transformers.optimizer needs onnx, sympy and packaging"))]


@pytest.fixture
def cache(tmp_path, monkeypatch):
    d = tmp_path / "cache"
    monkeypatch.setenv(go.CACHE_ENV_VAR, str(d))
    monkeypatch.delenv(go.ENV_VAR, raising=False)
    return d


def _cases(name):
    return json.loads((MODELS / name / "reference.json").read_text())["cases"]


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("name", DECODERS)
def test_rewritten_decoder_matches_transformers(name, level, cache):
    import onnx

    merged = any(n.op_type == "If" for n in onnx.load(str(MODELS / name / "onnx" / "model.onnx"),
                                                       load_external_data=False).graph.node)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no silent fallback to the original
        model = AutoModelForCausalLM.from_pretrained(str(MODELS / name),
                                                     session_options={"graph_optimizer": level})
    session = model.sessions["model"]
    assert "use_cache_branch" not in {i.name for i in session.get_inputs()}  # the If is gone
    # tiny-llama-lm was exported without the merged If: "unwrap" has nothing to do there
    assert bool(list(cache.glob(f"*.{level}.onnx"))) == (merged or level == "fuse")
    checked = 0
    for case in _cases(name):  # greedy, beams, left-padded batches, penalties...
        call = dict(case["call"])
        call.pop("output_scores", None)
        return_dict = call.pop("return_dict_in_generate", False)
        beam = "sequences_scores" in case
        enc = case["encoding"]
        out = model.generate(input_ids=np.array(enc["input_ids"]), attention_mask=np.array(enc["attention_mask"]),
                             return_dict_in_generate=return_dict or beam, **call)
        sequences = out["sequences"] if return_dict or beam else out
        assert sequences.tolist() == case["sequences"], case["id"]
        if beam:
            np.testing.assert_allclose(out["scores"], case["sequences_scores"], atol=1e-4)
        checked += 1
    assert checked >= 5


def test_cache_is_reused_and_keyed_by_content(cache, tmp_path):
    src = MODELS / DECODERS[0] / "onnx" / "model.onnx"
    first = go.optimized_path(src, "unwrap")
    assert first != src and first.parent == cache
    mtime = first.stat().st_mtime_ns
    assert go.optimized_path(src, "unwrap") == first and first.stat().st_mtime_ns == mtime
    # a different file (same name, same graph, other bytes) gets its own entry
    import onnx

    model = onnx.load(str(src))
    model.doc_string = "changed"
    other = tmp_path / "m" / "model.onnx"
    other.parent.mkdir()
    onnx.save(model, str(other))
    assert go.optimized_path(other, "unwrap") not in (first, other)


def test_default_cache_is_next_to_the_model(tmp_path, monkeypatch):
    monkeypatch.delenv(go.CACHE_ENV_VAR, raising=False)
    src = tmp_path / "model.onnx"
    shutil.copy(MODELS / DECODERS[0] / "onnx" / "model.onnx", src)
    out = go.optimized_path(src, "unwrap")
    assert out.parent == tmp_path / ".onnxformers-optimized"


@pytest.mark.parametrize("name,level", [("tiny-bert-classifier", "fuse"), ("tiny-llama-lm", "unwrap")])
def test_nothing_to_rewrite_is_left_unchanged_silently(cache, name, level):
    src = MODELS / name / "onnx" / "model.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert go.optimized_path(src, level) == src.resolve()
    assert list(cache.glob("*.failed")) and not list(cache.glob("*.onnx"))


def test_validation_failure_falls_back_once(cache):
    # BLOOM's with-past branch cannot run on a zero-length past (a Reshape of an empty axis):
    # validation catches it, the original is used, and the next load does not retry
    src = MODELS / "tiny-bloom-lm" / "onnx" / "model.onnx"
    if not src.exists():
        pytest.skip("no tiny-bloom-lm fixture")
    with pytest.warns(RuntimeWarning, match="unchanged"):
        assert go.optimized_path(src, "unwrap") == src.resolve()
    assert not list(cache.glob("*.onnx"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert go.optimized_path(src, "unwrap") == src.resolve()


def test_rewrite_that_changes_outputs_is_refused(cache, monkeypatch):
    src = MODELS / DECODERS[0] / "onnx" / "model.onnx"
    real = go.unwrap_merged_decoder

    def breaks_logits(model):
        model = real(model)
        for n in model.graph.node:  # scale the logits: validation must notice
            if "logits" in n.output:
                n.output[list(n.output).index("logits")] = "raw_logits"
        import onnx

        two = onnx.helper.make_tensor("two", onnx.TensorProto.FLOAT, [], [2.0])
        model.graph.initializer.append(two)
        model.graph.node.append(onnx.helper.make_node("Mul", ["raw_logits", "two"], ["logits"]))
        return model

    monkeypatch.setattr(go, "unwrap_merged_decoder", breaks_logits)
    with pytest.warns(RuntimeWarning, match="differ"):  # in-process: the patch must be seen
        assert go.optimized_path(src, "unwrap", isolate=False) == src.resolve()


def test_missing_onnx_package_falls_back(cache, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "onnx", None)  # import onnx → ImportError
    src = MODELS / DECODERS[0] / "onnx" / "model.onnx"
    with pytest.warns(RuntimeWarning, match="'onnx' package"):
        assert go.optimized_path(src, "unwrap", isolate=False) == src.resolve()


def test_child_process_crash_falls_back(cache, monkeypatch):
    monkeypatch.setattr("sys.executable", "/bin/false")  # the child exits 1 with no answer
    src = MODELS / DECODERS[0] / "onnx" / "model.onnx"
    with pytest.warns(RuntimeWarning, match="optimizer process failed"):
        assert go.optimized_path(src, "unwrap") == src.resolve()
    assert list(cache.glob("*.failed"))


def test_requested_level(monkeypatch):
    monkeypatch.delenv(go.ENV_VAR, raising=False)
    assert go.requested_level(None) is None
    assert go.requested_level({"graph_optimizer": False}) is None
    assert go.requested_level({"graph_optimizer": True}) == "fuse"
    assert go.requested_level({"graph_optimizer": "unwrap"}) == "unwrap"
    with pytest.raises(ValueError, match="graph_optimizer"):
        go.requested_level({"graph_optimizer": "fastest"})
    monkeypatch.setenv(go.ENV_VAR, "unwrap")
    assert go.requested_level(None) == "unwrap"
    assert go.requested_level({"graph_optimizer": "fuse"}) == "fuse"  # explicit beats the env


@pytest.mark.skipif(not HAS_FUSIONS, reason="symbolic shape inference needs sympy")
def test_static_shapes_replaces_runtime_shape_chains():
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper

    # y = Reshape(x, Concat(Shape(x)[0], Shape(x)[1], 4, 2)); z = Expand(Unsqueeze(y, 2), [B, S, 3, 4, 2])
    i64 = lambda name, v: helper.make_tensor(name, TensorProto.INT64, [len(v)], v)  # noqa: E731
    nodes = [
        helper.make_node("Shape", ["x"], ["s"]),
        helper.make_node("Gather", ["s", "zero"], ["b"], axis=0),
        helper.make_node("Gather", ["s", "one"], ["n"], axis=0),
        helper.make_node("Unsqueeze", ["b", "ax0"], ["b1"]),
        helper.make_node("Unsqueeze", ["n", "ax0"], ["n1"]),
        helper.make_node("Concat", ["b1", "n1", "four_two"], ["target"], axis=0),
        helper.make_node("Reshape", ["x", "target"], ["y"]),
        helper.make_node("Unsqueeze", ["y", "ax2"], ["y5"]),
        helper.make_node("Concat", ["b1", "n1", "three", "four_two"], ["big"], axis=0),
        helper.make_node("Expand", ["y5", "big"], ["z"]),
    ]
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["B", "S", 8])],
        [helper.make_tensor_value_info("z", TensorProto.FLOAT, None)],
        [helper.make_tensor("zero", TensorProto.INT64, [], [0]), helper.make_tensor("one", TensorProto.INT64, [], [1]),
         i64("ax0", [0]), i64("ax2", [2]), i64("four_two", [4, 2]), i64("three", [3])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])
    model.ir_version = 8
    before = onnx.ModelProto()
    before.CopyFrom(model)
    assert go.static_shapes(model) == 2
    assert {n.op_type for n in model.graph.node} == {"Reshape", "Unsqueeze", "Expand"}  # the chains are gone
    targets = {i.name: onnx.numpy_helper.to_array(i).tolist() for i in model.graph.initializer}
    assert [targets[n.input[1]] for n in model.graph.node if n.op_type in ("Reshape", "Expand")] == \
        [[0, 0, 4, 2], [1, 1, 3, 1, 1]]
    x = np.random.default_rng(0).standard_normal((2, 5, 8)).astype(np.float32)

    def run(m):
        return ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]

    np.testing.assert_array_equal(run(model), run(before))


@pytest.mark.skipif(not HAS_FUSIONS, reason="onnxruntime.transformers.optimizer needs onnx, sympy and packaging")
def test_fuse_level_drops_the_shape_chains(cache):
    import onnx

    src = MODELS / "tiny-llama-lm" / "onnx" / "model.onnx"
    out = go.optimized_path(src, "fuse")
    before = onnx.load(str(src), load_external_data=False).graph.node
    after = onnx.load(str(out), load_external_data=False).graph.node
    count = lambda nodes, op: sum(n.op_type == op for n in nodes)  # noqa: E731
    assert count(after, "Shape") < count(before, "Shape") / 2
    assert len(after) < len(before) / 2
    assert count(after, "SkipSimplifiedLayerNormalization") > 0  # onnxruntime's fusions ran too


def test_encoder_decoder_decoder_is_left_unchanged_silently(cache):
    src = MODELS / "tiny-t5-seq2seq" / "onnx" / "decoder_model_merged.onnx"
    if not src.exists():
        pytest.skip("no merged T5 decoder fixture")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert go.optimized_path(src, "unwrap") == src.resolve()
    assert not list(cache.glob("*.onnx"))


@pytest.mark.parametrize("level", LEVELS)
def test_head_is_sliced_to_the_kept_positions(cache, level):
    import onnxruntime as ort

    src = MODELS / DECODERS[0] / "onnx" / "model.onnx"
    out = go.optimized_path(src, level)
    assert out != src.resolve()
    original = ort.InferenceSession(str(src), providers=["CPUExecutionProvider"])
    sliced = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    assert go.LOGITS_TO_KEEP in {i.name for i in sliced.get_inputs()}
    empty = go._empty_like_present(original, dict(zip([o.name for o in original.get_outputs()], original.run(
        None, go._feeds(original, None, np.array([[1, 2]], np.int64), 2, go._guess_empty_past(original))))))
    ids = np.array([[5, 9, 3, 7, 2]], np.int64)
    full = original.run(["logits"], go._feeds(original, None, ids, 5, empty))[0]
    for keep, want in ((0, full), (1, full[:, -1:]), (3, full[:, -3:]), (50, full)):
        feed = go._feeds(sliced, None, ids, 5, empty)
        feed[go.LOGITS_TO_KEEP] = np.array(keep, np.int64)
        got = sliced.run(["logits"], feed)[0]
        assert got.shape == want.shape, keep
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_head_that_is_not_a_matmul_is_left_alone():
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Add", ["h", "h"], ["logits"])], "g",
        [helper.make_tensor_value_info("h", TensorProto.FLOAT, ["b", "s", 4])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["b", "s", 4])])
    model = helper.make_model(graph)
    before = model.SerializeToString()
    assert go.keep_last_logits(model) is False
    assert model.SerializeToString() == before
    onnx.checker.check_model(model)


@pytest.mark.skipif(not HAS_FUSIONS, reason="onnxruntime.transformers.optimizer needs onnx, sympy and packaging")
def test_split_decoder_pair_is_fed_the_kept_positions(cache):
    # decoder_with_past_model gains num_logits_to_keep under "fuse"; the pair's runner must feed it
    name = "tiny-gpt2-split-decoder"
    if not (MODELS / name).exists():
        pytest.skip("no split-decoder fixture")
    plain = AutoModelForCausalLM.from_pretrained(str(MODELS / name))
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        fused = AutoModelForCausalLM.from_pretrained(str(MODELS / name), session_options={"graph_optimizer": "fuse"})
    assert go.LOGITS_TO_KEEP in {i.name for i in fused.sessions["decoder_with_past_model"].get_inputs()}
    ids = np.array([[3, 14, 15, 9, 2]])
    for kwargs in ({"max_new_tokens": 6}, {"max_new_tokens": 5, "num_beams": 3, "num_return_sequences": 2}):
        np.testing.assert_array_equal(fused.generate(input_ids=ids, **kwargs), plain.generate(input_ids=ids, **kwargs))


@pytest.mark.skipif(not HAS_FUSIONS, reason="onnxruntime.transformers.optimizer needs onnx, sympy and packaging")
def test_grouped_query_attention_broadcasts_instead_of_repeating(cache, monkeypatch):
    # tiny-llama-lm has 4 query heads over 2 key/value heads: repeat_kv's Expand copies go, and the
    # logits stay bit-identical to the same rewrite without that step (same products, same order)
    import onnxruntime as ort

    src = MODELS / "tiny-llama-lm" / "onnx" / "model.onnx"
    layers = json.loads((MODELS / "tiny-llama-lm" / "config.json").read_text())["num_hidden_layers"]
    counted = []
    real = go.broadcast_grouped_attention
    monkeypatch.setattr(go, "broadcast_grouped_attention", lambda *a: counted.append(real(*a)) or counted[-1])
    with_broadcast = go.rewrite(src, "fuse")
    assert counted == [layers]
    assert not [n for n in with_broadcast.graph.node if n.op_type == "Expand"]
    monkeypatch.setattr(go, "broadcast_grouped_attention", lambda *a: 0)
    repeated = go.rewrite(src, "fuse")
    assert [n for n in repeated.graph.node if n.op_type == "Expand"]

    sessions = [ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
                for m in (with_broadcast, repeated)]
    plain = ort.InferenceSession(str(src), providers=["CPUExecutionProvider"])
    first = dict(zip([o.name for o in plain.get_outputs()], plain.run(
        None, go._feeds(plain, None, np.array([[1, 2]], np.int64), 2, go._guess_empty_past(plain)))))
    empty = go._empty_like_present(plain, first)
    for ids in (np.array([[5, 9, 3, 7, 2]], np.int64), np.array([[4, 4, 1]], np.int64)):
        logits = []
        for s in sessions:
            feed = go._feeds(s, None, ids, ids.shape[1], empty)
            feed[go.LOGITS_TO_KEEP] = np.array(0, np.int64)
            out = dict(zip([o.name for o in s.get_outputs()], s.run(None, feed)))
            step = go._feeds(s, out, np.array([[3]], np.int64), ids.shape[1] + 1, empty)
            step[go.LOGITS_TO_KEEP] = np.array(0, np.int64)
            logits.append((out["logits"], s.run(["logits"], step)[0]))
        np.testing.assert_array_equal(logits[0][0], logits[1][0])
        np.testing.assert_array_equal(logits[0][1], logits[1][1])
    used = {i for n in with_broadcast.graph.node for i in n.input}
    assert all(i.name in used for i in with_broadcast.graph.initializer)  # nothing left dangling


@pytest.mark.skipif(not HAS_FUSIONS, reason="symbolic shape inference needs sympy")
def test_slices_that_keep_their_whole_input_are_dropped():
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    def model_with(start, end_from_shape, const_end=None):
        nodes = [helper.make_node("Shape", ["x"], ["shape"]),
                 helper.make_node("Gather", ["shape", "two"], ["len"], axis=0),
                 helper.make_node("Unsqueeze", ["len", "zero"], ["end"])]
        end = "end" if end_from_shape else "const_end"
        nodes.append(helper.make_node("Slice", ["x", "start", end, "axis"], ["sliced"]))
        nodes.append(helper.make_node("Relu", ["sliced"], ["y"]))
        inits = [numpy_helper.from_array(np.array(2, np.int64), "two"),
                 numpy_helper.from_array(np.array([0], np.int64), "zero"),
                 numpy_helper.from_array(np.array([start], np.int64), "start"),
                 numpy_helper.from_array(np.array([2], np.int64), "axis"),
                 numpy_helper.from_array(np.array([const_end or 0], np.int64), "const_end")]
        graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["b", 3, "t"])],
                                  [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["b", 3, None])], inits)
        return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])

    x = np.random.default_rng(0).standard_normal((2, 3, 5)).astype(np.float32)
    for start, from_shape, const_end, dropped in ((0, True, None, 1), (1, True, None, 0), (0, False, 3, 0),
                                                   (0, False, 2**62, 1)):
        model = model_with(start, from_shape, const_end)
        want = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
        assert go.drop_identity_slices(model) == dropped, (start, from_shape, const_end)
        assert sum(n.op_type == "Slice" for n in model.graph.node) == 1 - dropped
        got = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
        np.testing.assert_array_equal(got, want)
