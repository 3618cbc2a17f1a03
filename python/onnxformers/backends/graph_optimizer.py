"""Load-time rewrite of decoder graphs so that each ``session.run`` does less work (opt-in).

Measured on the bench Llama (benches/bench_generation.py, CPU, one intra-op thread), almost all of a
decode step is inside ``session.run``; exact rewrites of the *same* ONNX file make it cheaper:

1. **Unwrap the merged decoder's ``If``.** Optimum's merged decoders wrap the whole model in one
   ``If(use_cache_branch)`` whose two branches are the same graph; running the "with past" branch as
   the top-level graph (the first step feeds a zero-length past, as Transformers.js does) avoids the
   per-run subgraph machinery and lets onnxruntime plan memory for the whole graph.
2. **``fuse``: onnxruntime's transformer fusions** (``onnxruntime.transformers.optimizer``, shipped
   in the onnxruntime wheel; needs the ``onnx`` and ``sympy`` packages): RotaryEmbedding,
   SkipSimplifiedLayerNormalization. Its Attention/GroupQueryAttention fusions do not match
   optimum's Llama/GPT-2 exports (so no shared past/present buffer either), and any fusion that
   changed the graph's inputs/outputs would be refused below. Then **constant Reshape/Expand
   targets** (:func:`static_shapes`): the exported Shape → Gather → Unsqueeze → Concat chains that
   recompute every reshape target on every step (~2/3 of the nodes) are replaced by constants
   using Reshape's 0/-1 and Expand's broadcasting; exact, no arithmetic changes.
3. **Grouped-query attention by broadcasting** (``fuse``, :func:`broadcast_grouped_attention`): the
   exported ``repeat_kv`` copies of the keys and values (Expand to every query head, per layer and
   step) are dropped; the attention MatMuls broadcast over the head group instead. Exact.
4. **No-op Slices dropped** (``fuse``, :func:`drop_identity_slices`): the causal mask sliced to the key
   length in every layer and step, which symbolic shape inference proves is its whole length. Exact.
5. **Logits of the last position only** (both levels): the language-model head (the MatMul that
   makes ``logits``, half of a small model's per-token work) gets its input sliced to the last
   ``num_logits_to_keep`` positions, a new int64 scalar input (0 keeps all, as transformers'
   ``logits_to_keep``). ``generate`` feeds 1, so the prompt step stops computing ``prompt length ×
   vocabulary`` logits that nothing reads; a model whose export already has that input gets it fed too.

Turned on with ``session_options={"graph_optimizer": "fuse"|"unwrap"|True}`` or the environment
variable ``ONNXFORMERS_GRAPH_OPTIMIZER``; off by default (the first load needs ``onnx``/``sympy`` and a
few seconds, and writes a copy of the model). Measured on the bench Llama (benches/results/
generation_cpu.txt, one thread): ``fuse`` is 1.2-1.3x faster per token than the original file at batch
1 and 8, 1.15x with 4 beams, with the same greedy and beam tokens.

The result is cached next to the model (``.onnxformers-optimized/``, else the user cache), keyed by
the file's SHA-256, the onnxruntime version and this module's version, and is only used once it has
been *validated*: the original and rewritten graphs run a short prompt and one cached step and must
give the same argmax and logits within 1e-4 (relative to their scale). Any failure (``onnx`` missing,
not a decoder, unsupported layout, mismatch) falls back to the original file with one warning, and a
failure marker stops the next load from retrying.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any, Mapping, Optional

#: bump when the rewrite changes, so that stale cache entries are not reused
OPTIMIZER_VERSION = "5"
#: ``session_options`` key / environment variable that turns the rewrite on
OPTION_KEY = "graph_optimizer"
ENV_VAR = "ONNXFORMERS_GRAPH_OPTIMIZER"
#: environment variable naming the cache folder (default: next to the model, else the user cache)
CACHE_ENV_VAR = "ONNXFORMERS_GRAPH_OPTIMIZER_CACHE"
LEVELS = ("unwrap", "fuse")
_BRANCH_INPUT = "use_cache_branch"
#: the input that the rewrite adds (transformers' name): how many last positions get logits, 0 = all
LOGITS_TO_KEEP = "num_logits_to_keep"


class GraphOptimizerError(RuntimeError):
    """The rewrite could not be made or did not validate (the caller falls back to the original)."""


class NotApplicable(GraphOptimizerError):
    """Nothing to rewrite (an encoder, a vision model, a decoder without the merged ``If`` at level
    ``unwrap``): the file is used unchanged without a warning."""


def requested_level(session_options: Any) -> Optional[str]:
    """The level asked for by ``session_options[OPTION_KEY]`` or the environment (None: off)."""
    value: Any = None
    if isinstance(session_options, Mapping):
        value = session_options.get(OPTION_KEY)
    if value is None:
        value = os.environ.get(ENV_VAR)
    if value in (None, False, "", "0", "off", "none", "false"):
        return None
    if value in (True, "1", "on", "true"):
        return "fuse"
    if value not in LEVELS:
        raise ValueError(f"{OPTION_KEY} must be one of {LEVELS} (or True/False), got {value!r}")
    return value


def file_digest(path: Path) -> str:
    h = hashlib.sha256()
    for p in (path, Path(str(path) + "_data")):  # Transformers.js external-data layout
        if p.exists():
            with open(p, "rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 22), b""):
                    h.update(chunk)
    return h.hexdigest()


def _cache_dirs(path: Path, cache_dir: Optional[Path]) -> list[Path]:
    if cache_dir is None and os.environ.get(CACHE_ENV_VAR):
        cache_dir = Path(os.environ[CACHE_ENV_VAR])
    if cache_dir is not None:
        return [Path(cache_dir)]
    user = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "onnxformers" / "optimized"
    return [path.parent / ".onnxformers-optimized", user]


def optimized_path(path: str | os.PathLike, level: str = "fuse", *, cache_dir: Optional[Path] = None,
                   isolate: bool = True) -> Path:
    """The rewritten model for ``path`` (made and validated on first use, then cached), or ``path``
    itself when the rewrite is impossible or fails validation (a RuntimeWarning says why).

    ``isolate``: make the rewrite in a child Python process, so that its memory (the whole model as
    protobuf, sympy) goes back to the system, a crash cannot take the caller down, and
    ``onnxruntime.transformers`` (which puts its own folder on ``sys.path``) never enters the
    caller's interpreter."""
    import onnxruntime as ort

    if level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}, got {level!r}")
    path = Path(path).resolve()
    key = f"{path.stem}.{file_digest(path)[:24]}.ort{ort.__version__}.v{OPTIMIZER_VERSION}.{level}"
    dirs = _cache_dirs(path, cache_dir)
    for d in dirs:
        if (d / (key + ".onnx")).exists():
            return d / (key + ".onnx")
        if (d / (key + ".failed")).exists():
            return path  # already tried: warned then
    if isolate:
        result, messages = _build_in_child(path, level, dirs, key)
    else:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = _build(path, level, dirs, key)
        messages = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
    for message in messages:
        warnings.warn(message, RuntimeWarning, stacklevel=3)
    return Path(result) if result else path


def _build(path: Path, level: str, dirs: list[Path], key: str) -> Optional[str]:
    """Rewrite, save and validate; returns the new file, or None (a RuntimeWarning says why)."""
    try:
        model = rewrite(path, level)
    except GraphOptimizerError as exc:
        _mark_failed(dirs, key, str(exc))
        if not isinstance(exc, NotApplicable):
            warnings.warn(f"graph optimizer: using {path.name} unchanged: {exc}", RuntimeWarning)
        return None
    for d in dirs:
        try:
            d.mkdir(parents=True, exist_ok=True)
            target = _save(model, d, key)
        except OSError:
            continue
        try:
            validate(path, target)
        except GraphOptimizerError as exc:
            target.unlink(missing_ok=True)
            _mark_failed(dirs, key, str(exc))
            if not isinstance(exc, NotApplicable):
                warnings.warn(f"graph optimizer: using {path.name} unchanged: {exc}", RuntimeWarning)
            return None
        return str(target)
    warnings.warn(f"graph optimizer: no writable cache folder for {path.name}; using it unchanged", RuntimeWarning)
    return None


def _build_in_child(path: Path, level: str, dirs: list[Path], key: str) -> tuple[Optional[str], list[str]]:
    import json
    import subprocess
    import sys

    request = json.dumps({"path": str(path), "level": level, "dirs": [str(d) for d in dirs], "key": key})
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    proc = subprocess.run([sys.executable, "-c", "from onnxformers.backends.graph_optimizer import _child; _child()"],
                          input=request, capture_output=True, text=True, env=env)
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        why = f"the optimizer process failed (exit {proc.returncode}): {tail}"
        _mark_failed(dirs, key, why)
        return None, [f"graph optimizer: using {path.name} unchanged: {why}"]
    answer = json.loads(lines[-1])
    return answer["path"], answer["warnings"]


def _child() -> None:
    """Entry point of the child process made by :func:`optimized_path`: a JSON request on stdin,
    a JSON answer as the last line of stdout."""
    import json
    import sys

    req = json.loads(sys.stdin.read())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = _build(Path(req["path"]), req["level"], [Path(d) for d in req["dirs"]], req["key"])
    messages = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
    print(json.dumps({"path": result, "warnings": messages}))


def _mark_failed(dirs: list[Path], key: str, why: str) -> None:
    for d in dirs:
        try:
            d.mkdir(parents=True, exist_ok=True)
            (d / (key + ".failed")).write_text(why + "\n")
            return
        except OSError:
            continue


def _save(model: Any, folder: Path, key: str) -> Path:
    import onnx

    target = folder / (key + ".onnx")
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=key, suffix=".tmp")
    os.close(fd)
    try:
        if model.ByteSize() > 1_800_000_000:  # protobuf's 2 GB limit: weights go to a side file
            data = key + ".onnx.data"
            onnx.save(model, tmp, save_as_external_data=True, location=data)
        else:
            onnx.save(model, tmp)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; the model file was readable
        os.replace(tmp, target)  # atomic: a concurrent loader sees the whole file or none
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target


def _signature(graph: Any) -> tuple[list[str], list[str]]:
    return ([i.name for i in graph.input if i.name != _BRANCH_INPUT], [o.name for o in graph.output])


def unwrap_merged_decoder(model: Any) -> Any:
    """Replace the top-level ``If(use_cache_branch)`` by its then-branch (in place); raises
    GraphOptimizerError when the graph is not a merged decoder."""
    graph = model.graph
    ifs = [n for n in graph.node if n.op_type == "If"]
    if len(ifs) != 1 or list(ifs[0].input) != [_BRANCH_INPUT] \
            or any(n.op_type not in ("If", "Constant") for n in graph.node):
        raise GraphOptimizerError("not a merged decoder (one If on use_cache_branch)")
    node = ifs[0]
    branch = next(a.g for a in node.attribute if a.name == "then_branch")
    rename = {o.name: outer for o, outer in zip(branch.output, node.output)}
    nodes = [n for n in graph.node if n.op_type == "Constant"] + list(branch.node)
    for n in nodes:
        for field in (n.input, n.output):
            for i, name in enumerate(field):
                if name in rename:
                    field[i] = rename[name]
    # a branch output that is directly an outer-scope name would need an Identity: refuse instead
    produced = {o for n in nodes for o in n.output}
    if any(outer not in produced for outer in node.output):
        raise GraphOptimizerError("a branch output is not computed inside the branch")
    inputs = [i for i in graph.input if i.name != _BRANCH_INPUT]
    del graph.node[:]
    graph.node.extend(nodes)
    graph.initializer.extend(branch.initializer)
    graph.value_info.extend(branch.value_info)
    del graph.input[:]
    graph.input.extend(inputs)
    return model


def rewrite(path: Path, level: str) -> Any:
    try:
        import onnx
    except ImportError as exc:
        raise GraphOptimizerError("the 'onnx' package is needed (pip install onnx)") from exc
    model = onnx.load(str(path))
    before = _signature(model.graph)
    if not any(i.name.startswith("past_key_values.") for i in model.graph.input):
        raise NotApplicable("no past_key_values inputs: not a decoder with a KV cache")
    if any(n.op_type == "If" for n in model.graph.node):
        model = unwrap_merged_decoder(model)
    elif level == "unwrap":
        raise NotApplicable("no merged-decoder If to unwrap")
    if level == "fuse":
        try:
            import sympy  # noqa: F401  (imported lazily by the fusions' shape inference)
            from onnxruntime.transformers.fusion_options import FusionOptions
            from onnxruntime.transformers.optimizer import optimize_model
        except ImportError as exc:  # it needs onnx, sympy and packaging: keep the unwrapped graph
            warnings.warn(f"graph optimizer: onnxruntime.transformers is not importable ({exc}); "
                          f"{path.name} gets the 'unwrap' rewrite only", RuntimeWarning)
            level = "unwrap"
    if level == "fuse":
        import logging

        # the fusions log every pattern they fail to match at WARNING (expected here) through
        # loggers named after their top-level modules: silence them for the call only
        logging.disable(logging.WARNING)
        try:
            model = optimize_model(model, model_type="gpt2", opt_level=0,
                                   optimization_options=FusionOptions("gpt2"), use_gpu=False).model
        except Exception as exc:  # the optimizer raises anything from asserts to KeyError
            raise GraphOptimizerError(f"onnxruntime's transformer optimizer failed: {exc!r}") from exc
        finally:
            logging.disable(logging.NOTSET)
        inferred = symbolic_shapes(model)
        static_shapes(model, inferred)
        broadcast_grouped_attention(model, inferred)
        drop_identity_slices(model, inferred)
    if keep_last_logits(model):
        before = (before[0] + [LOGITS_TO_KEEP], before[1])
    if _signature(model.graph) != before:
        raise GraphOptimizerError("the rewrite changed the graph's inputs or outputs")
    return model


def keep_last_logits(model: Any) -> bool:
    """Slice the input of the MatMul that computes ``logits`` to its last ``num_logits_to_keep``
    positions (a new int64 scalar input; 0 keeps every position). Returns False, changing nothing,
    when ``logits`` does not come from a MatMul of a [batch, seq, hidden] activation or the input
    exists already."""
    from onnx import TensorProto, helper, numpy_helper
    import numpy as np

    graph = model.graph
    if any(i.name == LOGITS_TO_KEEP for i in graph.input):
        return False
    head = [n for n in graph.node if "logits" in n.output]
    if len(head) != 1 or head[0].op_type != "MatMul":
        return False
    node = head[0]
    hidden = node.input[0]
    prefix = "onnxformers_logits_to_keep"
    graph.initializer.extend([numpy_helper.from_array(np.array([1], np.int64), f"{prefix}_axes"),
                              numpy_helper.from_array(np.array([np.iinfo(np.int64).max], np.int64), f"{prefix}_end"),
                              numpy_helper.from_array(np.array([1], np.int64), f"{prefix}_one")])
    # start = -k as a 1-element tensor (Reshape: valid in every opset, unlike Unsqueeze's axes)
    new_nodes = [
        helper.make_node("Neg", [LOGITS_TO_KEEP], [f"{prefix}_neg"], name=f"{prefix}_neg"),
        helper.make_node("Reshape", [f"{prefix}_neg", f"{prefix}_one"], [f"{prefix}_start"], name=f"{prefix}_start"),
        helper.make_node("Slice", [hidden, f"{prefix}_start", f"{prefix}_end", f"{prefix}_axes"],
                         [f"{prefix}_hidden"], name=f"{prefix}_slice"),
    ]
    node.input[0] = f"{prefix}_hidden"
    at = list(graph.node).index(node)
    for offset, n in enumerate(new_nodes):
        graph.node.insert(at + offset, n)
    graph.input.append(helper.make_tensor_value_info(LOGITS_TO_KEEP, TensorProto.INT64, []))
    return True


def broadcast_grouped_attention(model: Any, inferred: Optional[tuple] = None) -> int:
    """Grouped-query attention without materialising the repeated keys and values: the exported
    ``repeat_kv`` (Unsqueeze → Expand → Reshape to every query head) copies the whole cache
    ``heads / kv_heads`` times per layer and step. Instead the queries are viewed as
    ``[batch, kv_heads, group, seq, dim]`` and both attention MatMuls broadcast over the group axis
    (onnxruntime's MatMul broadcasts batch axes without copying), then the output is reshaped back.
    The same products in the same order: exact. Only the plain pattern is rewritten (MatMul →
    Mul/Div → Add(mask) → Softmax → MatMul, each read once; the repeated keys may also feed Shape
    nodes that read their batch, length or dim); returns the number of layers changed. Needs
    constant Expand/Reshape targets (after :func:`static_shapes`)."""
    import numpy as np
    from onnx import helper, numpy_helper

    graph = model.graph
    const: dict[str, Any] = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    for n in graph.node:
        if n.op_type == "Constant" and n.attribute and n.attribute[0].name == "value":
            const[n.output[0]] = numpy_helper.to_array(n.attribute[0].t)
    producer = {o: n for n in graph.node for o in n.output}
    consumers: dict[str, list] = {}
    for n in graph.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)
    graph_outputs = {o.name for o in graph.output}
    # the masks' shapes: only [*, 1, *, *] masks broadcast over the new group axis as they did
    inferred = inferred or symbolic_shapes(model)
    if inferred is None:
        return 0
    known = inferred[1]

    def mask_shape(name: str) -> Optional[list]:
        if name in const:
            return list(const[name].shape)
        vi = known.get(name)
        if vi is None or not vi.type.tensor_type.HasField("shape"):
            return None
        return [d.dim_value if d.HasField("dim_value") else None for d in vi.type.tensor_type.shape.dim]

    def only(name: str, op: str) -> Any:
        """The node of type ``op`` making ``name``, when nothing else reads ``name``."""
        n = producer.get(name)
        ok = n is not None and n.op_type == op and len(consumers.get(name, [])) == 1 and name not in graph_outputs
        return n if ok else None

    def axes_of(node: Any) -> Optional[list]:
        for a in node.attribute:
            if a.name == "axes":
                return list(a.ints)
        return const[node.input[1]].tolist() if len(node.input) > 1 and node.input[1] in const else None

    def reads_shape_dims_other_than_1(shape_node: Any) -> bool:
        users = consumers.get(shape_node.output[0], [])
        return bool(users) and shape_node.output[0] not in graph_outputs and all(
            u.op_type == "Gather" and u.input[0] == shape_node.output[0] and u.input[1] in const
            and const[u.input[1]].size == 1 and int(const[u.input[1]]) in (0, 2, 3, -1, -2, -4)
            for u in users)

    def repeated(name: str, user: Any) -> Optional[tuple]:
        """(cache, unsqueezed cache, Shape readers, group, heads, dim) when ``name`` is repeat_kv's
        result read by ``user`` (and maybe by Shape nodes that do not look at the heads axis)."""
        reshape = producer.get(name)
        if reshape is None or reshape.op_type != "Reshape" or name in graph_outputs:
            return None
        others = [u for u in consumers.get(name, []) if u is not user]
        if any(u.op_type != "Shape" or not reads_shape_dims_other_than_1(u) for u in others):
            return None
        expand = only(reshape.input[0], "Expand")
        unsq = expand and only(expand.input[0], "Unsqueeze")
        if not unsq or axes_of(unsq) != [2] or expand.input[1] not in const or reshape.input[1] not in const:
            return None
        shape, target = const[expand.input[1]].tolist(), const[reshape.input[1]].tolist()
        if len(shape) != 5 or shape[:2] != [1, 1] or shape[3:] != [1, 1] or shape[2] < 2 \
                or len(target) != 4 or target[0] != 0 or target[2] != -1 or target[1] % shape[2] or target[3] <= 0:
            return None
        return unsq.input[0], unsq.output[0], others, shape[2], target[1], target[3]

    edits: list = []  # (anchor node, insert after it?, new nodes)
    rewires: list = []  # (node, new inputs)
    for out_mm in [n for n in graph.node if n.op_type == "MatMul"]:
        v = repeated(out_mm.input[1], out_mm)
        softmax = only(out_mm.input[0], "Softmax")
        add = softmax is not None and only(softmax.input[0], "Add")
        if v is None or v[2] or not add or any(a.name == "axis" and a.i not in (-1, 3) for a in softmax.attribute):
            continue
        scaled, mask = add.input
        scale = only(scaled, "Mul") or only(scaled, "Div")
        if scale is None:
            scaled, mask = mask, scaled
            scale = only(scaled, "Mul") or only(scaled, "Div")
        if scale is None or scale.input[1] not in const or const[scale.input[1]].size != 1:
            continue
        shape = mask_shape(mask)
        if shape is None or len(shape) != 4 or shape[1] != 1:
            continue
        scores = only(scale.input[0], "MatMul")
        transpose = scores is not None and only(scores.input[1], "Transpose")
        k = transpose and repeated(transpose.input[0], transpose)
        if not k or [list(a.ints) for a in transpose.attribute if a.name == "perm"] != [[0, 1, 3, 2]] \
                or k[3:] != v[3:]:
            continue
        group, heads, dim = v[3:]
        tag = f"onnxformers_gqa{len(edits)}"
        graph.initializer.extend([
            numpy_helper.from_array(np.array([0, heads // group, group, -1, dim], np.int64), f"{tag}_q_shape"),
            numpy_helper.from_array(np.array([0, heads, -1, dim], np.int64), f"{tag}_out_shape"),
            numpy_helper.from_array(np.array([1], np.int64), f"{tag}_axis1")])
        edits.append((scores, False, [
            helper.make_node("Reshape", [scores.input[0], f"{tag}_q_shape"], [f"{tag}_q"], name=f"{tag}_q"),
            helper.make_node("Transpose", [k[1]], [f"{tag}_kt"], name=f"{tag}_kt", perm=[0, 1, 2, 4, 3])]))
        edits.append((add, False, [
            helper.make_node("Unsqueeze", [mask, f"{tag}_axis1"], [f"{tag}_mask"], name=f"{tag}_mask")]))
        rewires += [(scores, [f"{tag}_q", f"{tag}_kt"]), (add, [scaled, f"{tag}_mask"]),
                    (out_mm, [out_mm.input[0], v[1]])]
        rewires += [(shape_node, [k[0]]) for shape_node in k[2]]  # same batch, length and dim
        # the output goes back to [batch, heads, seq, dim] under its old name
        edits.append((out_mm, True, [helper.make_node("Reshape", [f"{tag}_out5", f"{tag}_out_shape"],
                                                      [out_mm.output[0]], name=f"{tag}_out")]))
        out_mm.output[0] = f"{tag}_out5"
    if not edits:
        return 0
    for node, inputs in rewires:
        del node.input[:]
        node.input.extend(inputs)
    for anchor, after, nodes in edits:
        at = list(graph.node).index(anchor) + (1 if after else 0)
        for offset, n in enumerate(nodes):
            graph.node.insert(at + offset, n)
    _prune(graph)  # the repeat_kv nodes nothing reads any more
    return len(edits) // 3


def _prune(graph: Any) -> None:
    """Drop the nodes whose outputs nothing reads (repeatedly) and the initializers no node reads;
    names read inside subgraphs (If/Loop/Scan bodies) count as read."""

    def subgraph_reads(nodes: Any) -> set:
        names: set = set()
        for n in nodes:
            for a in n.attribute:
                for g in ([a.g] if a.HasField("g") else []) + list(a.graphs):
                    names |= {i for m in g.node for i in m.input} | subgraph_reads(g.node)
        return names

    outputs = {o.name for o in graph.output} | subgraph_reads(graph.node)
    while True:
        used = {i for n in graph.node for i in n.input} | outputs
        keep = [n for n in graph.node if any(o in used for o in n.output)]
        if len(keep) == len(graph.node):
            break
        del graph.node[:]
        graph.node.extend(keep)
    keep_init = [i for i in graph.initializer if i.name in used]
    del graph.initializer[:]
    graph.initializer.extend(keep_init)


def symbolic_shapes(model: Any) -> Optional[tuple]:
    """onnxruntime's symbolic shape inference (sympy) of ``model``: (values, value infos, symbolic
    dims), or None when it fails (a private API of onnxruntime's tools: any change in it is
    tolerated)."""
    try:
        import sympy  # noqa: F401
        from onnxruntime.tools.symbolic_shape_infer import SymbolicShapeInference

        infer = SymbolicShapeInference(2**31 - 1, True, False, 0)
        infer._preprocess(model)  # works on a copy of the model
        while infer.run_:
            infer._infer_impl()
        return infer.sympy_data_, infer.known_vi_, infer.symbolic_dims_
    except Exception:
        return None


def _symbolic_dims(inferred: tuple, name: str) -> Optional[list]:
    """The sympy dims of ``name`` from :func:`symbolic_shapes`' result, or None."""
    import sympy

    _, known, dims = inferred
    vi = known.get(name)
    if vi is None or not vi.type.tensor_type.HasField("shape"):
        return None
    out = []
    for d in vi.type.tensor_type.shape.dim:
        if d.HasField("dim_value"):
            out.append(sympy.Integer(d.dim_value))
        elif d.HasField("dim_param"):
            out.append(dims.get(d.dim_param, sympy.Symbol(d.dim_param, integer=True, nonnegative=True)))
        else:
            return None
    return out


def _same(a: Any, b: Any) -> bool:
    import sympy

    try:
        return bool(sympy.simplify(a - b) == 0)
    except Exception:
        return False


def drop_identity_slices(model: Any, inferred: Optional[tuple] = None) -> int:
    """Remove Slice nodes that keep their whole input (start 0, step 1, end at or past the axis'
    length, proved by symbolic shape inference): the exported attention slices its causal mask to
    the key length every layer and step, which is already the mask's length. Exact (a copy less);
    returns the number removed."""
    import numpy as np
    from onnx import numpy_helper

    inferred = inferred or symbolic_shapes(model)
    if inferred is None:
        return 0
    values = inferred[0]
    graph = model.graph
    const: dict[str, Any] = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    for n in graph.node:
        if n.op_type == "Constant" and n.attribute and n.attribute[0].name == "value":
            const[n.output[0]] = numpy_helper.to_array(n.attribute[0].t)
    outputs = {o.name for o in graph.output}
    big = np.iinfo(np.int32).max

    def ints(name: str) -> Optional[list]:
        if name in const:
            return np.atleast_1d(const[name]).tolist()
        v = values.get(name)
        return None if v is None else list(v) if isinstance(v, (list, tuple)) else np.atleast_1d(v).tolist()

    rename: dict[str, str] = {}
    for node in graph.node:
        if node.op_type != "Slice" or len(node.input) < 3 or node.output[0] in outputs:
            continue
        shape = _symbolic_dims(inferred, node.input[0])
        starts, ends = ints(node.input[1]), ints(node.input[2])
        axes = ints(node.input[3]) if len(node.input) > 3 and node.input[3] else None
        steps = ints(node.input[4]) if len(node.input) > 4 and node.input[4] else None
        if shape is None or starts is None or ends is None or (len(node.input) > 3 and node.input[3] and axes is None):
            continue
        axes = axes if axes is not None else list(range(len(starts)))
        if (steps is not None and any(int(x) != 1 for x in steps)) or any(not isinstance(x, (int, np.integer)) or x != 0 for x in starts):
            continue
        whole = True
        for axis, end in zip(axes, ends):
            dim = shape[int(axis) % len(shape)]
            if isinstance(end, (int, np.integer)) and end >= big:
                continue
            if not _same(end, dim):
                whole = False
                break
        if whole:
            rename[node.output[0]] = node.input[0]
    if not rename:
        return 0
    for node in graph.node:
        for i, name in enumerate(node.input):
            while name in rename:
                name = rename[name]
            node.input[i] = name
    _prune(graph)  # the Slices, and the shape chains that computed their ends
    return len(rename)


def static_shapes(model: Any, inferred: Optional[tuple] = None) -> int:
    """Give every Reshape/Expand whose target shape is computed at run time (Shape → Gather →
    Unsqueeze → Concat chains, ~2/3 of an exported decoder's nodes) a constant target, then drop
    the nodes left unused. Exact: a Reshape dim equal to the input's same dim becomes 0 ("copy"), one
    other unknown dim -1; an Expand dim equal to the input's becomes 1 (broadcast). Equality comes
    from onnxruntime's symbolic shape inference (sympy). Returns the number of rewritten nodes; on
    any inference failure the model is left as it was."""
    import numpy as np
    from onnx import numpy_helper

    inferred = inferred or symbolic_shapes(model)
    if inferred is None:
        return 0
    import sympy

    values = inferred[0]
    graph = model.graph

    def shape_of(name: str) -> Optional[list]:
        return _symbolic_dims(inferred, name)

    same = _same
    constant = {i.name for i in graph.initializer}
    constant |= {o for n in graph.node if n.op_type == "Constant" for o in n.output}
    added = []
    for node in graph.node:
        if node.op_type not in ("Reshape", "Expand") or node.input[1] in constant:
            continue
        data, shape = values.get(node.input[1]), shape_of(node.input[0])
        if data is None or shape is None:
            continue
        target = [sympy.Integer(int(v)) if isinstance(v, (int, np.integer)) else v
                  for v in (data if isinstance(data, list) else np.atleast_1d(data).tolist())]
        if not all(isinstance(v, sympy.Expr) for v in target):
            continue
        new: Optional[list] = []
        if node.op_type == "Reshape":
            if any(a.name == "allowzero" and a.i for a in node.attribute):
                continue
            for i, e in enumerate(target):
                if e.is_Integer and int(e) > 0:
                    new.append(int(e))
                elif i < len(shape) and same(shape[i], e):
                    new.append(0)
                else:
                    new.append(-1)
            if new.count(-1) > 1:
                continue
        else:  # Expand broadcasts from the right
            offset = len(target) - len(shape)
            if offset < 0:
                continue
            for i, e in enumerate(target):
                j = i - offset
                if j >= 0 and same(shape[j], e):
                    new.append(1)
                elif e.is_Integer and int(e) > 0 and (j < 0 or shape[j] == 1):
                    new.append(int(e))
                else:
                    new = None
                    break
            if new is None:
                continue
        name = f"onnxformers_static_shape_{len(added)}"
        added.append(numpy_helper.from_array(np.array(new, np.int64), name))
        node.input[1] = name
    if not added:
        return 0
    graph.initializer.extend(added)
    _prune(graph)  # the shape chains nothing reads any more
    return len(added)


def _feeds(session: Any, prev: Optional[dict], ids: Any, ctx: int, empty: dict) -> dict:
    """Inputs of one step: a prompt (prev None) with the empty past ``empty``, or one token after it."""
    import numpy as np

    feed: dict[str, Any] = {}
    for inp in session.get_inputs():
        name = inp.name
        if name == "input_ids":
            feed[name] = ids
        elif name == "attention_mask":
            feed[name] = np.ones((1, ctx), np.int64)
        elif name == "position_ids":
            feed[name] = np.arange(ctx - ids.shape[1], ctx, dtype=np.int64)[None]
        elif name == _BRANCH_INPUT:
            feed[name] = np.array([prev is not None])
        elif name == LOGITS_TO_KEEP:
            feed[name] = np.array(0, np.int64)  # every position: compared with the original's
        elif name.startswith("past_key_values."):
            feed[name] = empty[name] if prev is None else prev["present." + name[len("past_key_values."):]]
        else:
            # encoder-decoder decoders (encoder_hidden_states...) are not handled: left unchanged
            raise NotApplicable(f"input {name!r} is not a decoder-only input: cannot validate")
    return feed


def _guess_empty_past(session: Any) -> dict:
    """Zero-length past inputs sized from the graph's declared shapes (batch 1)."""
    import numpy as np

    empty = {}
    for inp in session.get_inputs():
        if not inp.name.startswith("past_key_values."):
            continue
        dims = [d if isinstance(d, int) else 0 if "past" in str(d) else 1 for d in inp.shape]
        empty[inp.name] = np.zeros(dims, np.float16 if "float16" in inp.type else np.float32)
    return empty


def _empty_like_present(session: Any, present: dict) -> dict:
    """Zero-length past inputs with the exact layout of the presents (e.g. BLOOM's batch×heads)."""
    import numpy as np

    empty = {}
    for inp in session.get_inputs():
        if not inp.name.startswith("past_key_values."):
            continue
        ref = present["present." + inp.name[len("past_key_values."):]]
        axes = [i for i, d in enumerate(inp.shape) if "past" in str(d)]
        if len(axes) != 1:
            raise GraphOptimizerError(f"cannot find the past axis of {inp.name} {inp.shape}")
        dims = list(ref.shape)
        dims[axes[0]] = 0
        empty[inp.name] = np.zeros(dims, ref.dtype)
    return empty


def validate(original: Path, rewritten: Path, *, tol: float = 1e-4) -> None:
    """Run a 4-token prompt and one cached step through both graphs; raise on any difference in
    argmax or beyond ``tol`` (relative to the logits' scale)."""
    import numpy as np
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    results = []
    empty: Optional[dict] = None
    try:
        for p in (original, rewritten):
            s = ort.InferenceSession(str(p), so, providers=["CPUExecutionProvider"])
            names = [o.name for o in s.get_outputs()]
            ids = np.array([[1, 2, 3, 0]], np.int64)
            if empty is None:  # the original's no-cache branch does not read the past
                first = dict(zip(names, s.run(None, _feeds(s, None, ids, 4, _guess_empty_past(s)))))
                empty = _empty_like_present(s, first)
            else:
                first = dict(zip(names, s.run(None, _feeds(s, None, ids, 4, empty))))
            second = dict(zip(names, s.run(None, _feeds(s, first, np.array([[2]], np.int64), 5, empty))))
            results.append((first["logits"], second["logits"]))
            if any(i.name == LOGITS_TO_KEEP for i in s.get_inputs()):  # the sliced head: last position only
                feed = _feeds(s, None, ids, 4, empty)
                feed[LOGITS_TO_KEEP] = np.array(1, np.int64)
                last = dict(zip(names, s.run(None, feed)))["logits"]
                results.append((first["logits"][:, -1:], last))
            del s
    except GraphOptimizerError:
        raise
    except Exception as exc:
        raise GraphOptimizerError(f"validation run failed: {exc}") from exc
    pairs = list(zip(results[0], results[1]))
    if len(results) == 3:  # the rewritten graph's full-prompt logits against its own last-only run
        pairs.append(results[2])
    for a, b in pairs:
        a, b = a.astype(np.float32), b.astype(np.float32)
        scale = max(float(np.abs(a).max()), 1.0)
        if a.shape != b.shape or not np.array_equal(a.argmax(-1), b.argmax(-1)) \
                or float(np.abs(a - b).max()) > tol * scale:
            raise GraphOptimizerError("the rewritten graph's logits differ from the original's")
