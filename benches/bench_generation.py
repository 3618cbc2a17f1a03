"""Decoder-only generation throughput and memory on one bench-size ONNX file (issue 4).

Peers, measured in the same run on the same ``onnx/model.onnx`` (merged decoder, ``use_cache_branch``):

* ``onnxformers``: ``AutoModelForCausalLM.from_pretrained(folder).generate(...)`` (Rust core for the
  per-step work, the KV cache kept as ORT values through an I/O binding);
* ``onnxformers unwrap`` / ``onnxformers fuse``: the same, with ``session_options={"graph_optimizer":
  "unwrap"|"fuse"}`` (backends/graph_optimizer.py): the SAME file rewritten once at load time and
  cached next to it: the merged decoder's ``If`` unwrapped; ``fuse`` adds onnxruntime's transformer
  fusions (RotaryEmbedding, SkipSimplifiedLayerNorm) and constant Reshape/Expand targets in place of
  the exported Shape→Gather→Concat chains (needs ``onnx`` + ``sympy``). "fuse/peer" = peer's time /
  fused time;
* ``numpy loop``: a plain Python loop over ``onnxruntime.InferenceSession.run`` with numpy past
  tensors fed back each step and ``argmax`` on the last logits (what users write by hand);
* ``optimum``: ``optimum.onnxruntime.ORTModelForCausalLM.generate`` (transformers' generate loop on
  torch tensors) when torch and optimum import; else reported as skipped.

Every peer uses the same onnxruntime session options (graph optimizations on, ``--threads`` intra-op
threads) and generates exactly ``new`` tokens (no EOS: ``eos_token_id=None``), greedy unless stated.
tokens/s = batch × new tokens / wall time of the whole call (prefill included). The greedy outputs of
the three are compared token for token (same graph, so they must agree).

Columns: tok/s from the median and from the best wall time of the calls; tok/CPU-s from the median
CPU time of the process (with one intra-op thread everything runs on the calling thread, so this is
the figure a busy machine disturbs least); "ours/peer" = peer's time / onnxformers' time (> 1: we
are faster), from wall and from CPU time. "outside run" is the share of a call's time not spent
inside ``session.run`` / ``run_with_iobinding`` (measured by wrapping the session's method; target
≤ 5 % for onnxformers), from wall time and from the thread's CPU time.

Peak RSS: each peer in a fresh process; the kernel's high-water mark (VmHWM) is reset after loading
(``/proc/self/clear_refs``), so the figure is the peak *during* a 1,024-token generation, shown next to
the ONNX file size and the final KV-cache size.

Build the model first (fixture venv, torch needed; not committed):

    FIXTURE_VENV/bin/python scripts/make_fixtures.py --only bench-llama-lm --out CACHE
    python benches/bench_generation.py --model CACHE/models/bench-llama-lm --threads 1

Run it against a release build (``maturin build --release``, wheel installed with ``--no-deps`` into a
venv that also has torch + optimum for the optimum peer).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import table  # noqa: E402

#: where ``make_fixtures.py --only bench-llama-lm --out $ONNXFORMERS_BENCH_FIXTURES`` puts the model
DEFAULT_MODEL = Path(os.environ.get("ONNXFORMERS_BENCH_FIXTURES", Path.home() / ".cache" / "onnxformers-fixtures" / "bench")) \
    / "models" / "bench-llama-lm"
PROMPT_LEN = 32


#: ``--device``: onnxruntime providers of every peer (set once in main)
DEVICE = "cpu"


def providers() -> list[str]:
    return ["CUDAExecutionProvider", "CPUExecutionProvider"] if DEVICE == "cuda" else ["CPUExecutionProvider"]


def session_options(threads: int):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return so


def prompts(batch: int, vocab: int) -> np.ndarray:
    rng = np.random.default_rng(1234)
    return rng.integers(3, vocab, size=(batch, PROMPT_LEN), dtype=np.int64)


def check_device(session) -> None:
    """A peer asked for CUDA must really run on it (onnxruntime falls back to CPU silently)."""
    if session.get_providers()[0] != providers()[0]:
        raise RuntimeError(f"session runs on {session.get_providers()}, not {providers()[0]}")


class RunTimer:
    """Wraps methods of a session (``run``, ``run_with_iobinding``) and sums their wall time and
    the calling thread's CPU time (with one intra-op thread ONNX Runtime computes on that thread).
    ``core_methods`` are methods of the session's C object (``session._sess``), which onnxformers
    calls directly on CPU (``run_with_ort_values``); that object is put behind a forwarding proxy."""

    def __init__(self, session, *methods: str, core_methods: tuple = ()):
        self.wall = self.cpu = 0.0
        for method in methods:
            self._wrap(session, method)
        if core_methods:
            session._sess = _Forward(session._sess)
            for method in core_methods:
                self._wrap(session._sess, method)

    def _wrap(self, target, method: str) -> None:
        original = getattr(target, method)

        def timed(*args, **kwargs):
            w, c = time.perf_counter(), time.thread_time()
            try:
                return original(*args, **kwargs)
            finally:
                self.wall += time.perf_counter() - w
                self.cpu += time.thread_time() - c

        setattr(target, method, timed)


class _Forward:
    """Forwards every attribute to a pybind object (whose methods cannot be replaced)."""

    def __init__(self, inner):
        self._inner = inner

    def __getattr__(self, name):
        return getattr(self._inner, name)


def onnxformers_timer(session) -> RunTimer:
    """Our loop runs ``run_with_iobinding`` on devices and the C ``run_with_ort_values`` on CPU."""
    return RunTimer(session, "run_with_iobinding", core_methods=("run_with_ort_values",))


def measure(peers: dict, fn, *, repeat: int, warmup: int = 1) -> dict[str, dict]:
    """Calls ``fn(peer)`` for every peer in turns (so that load changes hit all alike), ``repeat``
    times after ``warmup``. Per peer: median and best wall time, median CPU time of the process, and
    the median share of the call's time spent outside the session's run (wall and CPU)."""
    import gc
    import statistics

    rec: dict[str, list] = {name: [] for name in peers}
    for i in range(warmup + repeat):
        for name, p in peers.items():
            gc.collect()
            p.timer.wall = p.timer.cpu = 0.0
            w, c = time.perf_counter(), time.process_time()
            fn(p)
            wall, cpu = time.perf_counter() - w, time.process_time() - c
            if i >= warmup:
                rec[name].append((wall, cpu, 1 - p.timer.wall / wall, 1 - p.timer.cpu / max(cpu, 1e-9)))
    med = statistics.median
    return {name: {"wall": med(r[0] for r in rows), "best": min(r[0] for r in rows), "cpu": med(r[1] for r in rows),
                   "outside_wall": med(r[2] for r in rows), "outside_cpu": med(r[3] for r in rows)}
            for name, rows in rec.items()}


# -- peers ------------------------------------------------------------------------------------------


class Onnxformers:
    name = "onnxformers"

    def __init__(self, folder: Path, threads: int):
        from onnxformers import AutoModelForCausalLM

        self.model = AutoModelForCausalLM.from_pretrained(str(folder), device=DEVICE,
                                                          session_options=session_options(threads))
        check_device(self.model.sessions["model"])
        self.timer = onnxformers_timer(self.model.sessions["model"])

    def generate(self, ids: np.ndarray, new: int, num_beams: int = 1) -> np.ndarray:
        return self.model.generate(input_ids=ids, attention_mask=np.ones_like(ids), max_new_tokens=new,
                                   num_beams=num_beams, do_sample=False, eos_token_id=None)


class OnnxformersFused(Onnxformers):
    """The same model with ``session_options={"graph_optimizer": LEVEL}``: the merged decoder's
    ``If`` unwrapped (``unwrap``), plus onnxruntime's transformer fusions (``fuse``), made once and
    cached next to the model (backends/graph_optimizer.py)."""

    level, name = "fuse", "onnxformers fuse"

    def __init__(self, folder: Path, threads: int):
        from onnxformers import AutoModelForCausalLM

        opts = {"intra_op_num_threads": threads, "inter_op_num_threads": 1, "graph_optimizer": self.level}
        self.model = AutoModelForCausalLM.from_pretrained(str(folder), device=DEVICE, session_options=opts)
        check_device(self.model.sessions["model"])
        self.timer = onnxformers_timer(self.model.sessions["model"])


class OnnxformersUnwrap(OnnxformersFused):
    level, name = "unwrap", "onnxformers unwrap"


class NumpyLoop:
    name = "numpy loop"

    def __init__(self, folder: Path, threads: int):
        import onnxruntime as ort

        self.config = json.loads((folder / "config.json").read_text())
        self.session = ort.InferenceSession(str(folder / "onnx" / "model.onnx"), session_options(threads),
                                            providers=providers())
        check_device(self.session)
        self.timer = RunTimer(self.session, "run")

    def generate(self, ids: np.ndarray, new: int, num_beams: int = 1) -> np.ndarray:
        assert num_beams == 1
        c = self.config
        layers, kv_heads = c["num_hidden_layers"], c["num_key_value_heads"]
        head_dim = c["hidden_size"] // c["num_attention_heads"]
        batch = ids.shape[0]
        past = {f"past_key_values.{i}.{kind}": np.zeros((batch, kv_heads, 0, head_dim), np.float32)
                for i in range(layers) for kind in ("key", "value")}
        out_names = [o.name for o in self.session.get_outputs()]
        tokens = [ids]
        cur = ids
        mask = np.ones_like(ids)
        for step in range(new):
            seq = mask.shape[1]
            feed = {"input_ids": cur, "attention_mask": mask,
                    "position_ids": np.broadcast_to(np.arange(seq - cur.shape[1], seq), cur.shape).astype(np.int64),
                    "use_cache_branch": np.array([step > 0]), **past}
            outputs = dict(zip(out_names, self.session.run(None, feed)))
            nxt = outputs["logits"][:, -1, :].argmax(-1).astype(np.int64)[:, None]
            tokens.append(nxt)
            past = {"past_key_values." + k[len("present."):]: v for k, v in outputs.items() if k.startswith("present.")}
            cur = nxt
            mask = np.concatenate([mask, np.ones((batch, 1), np.int64)], axis=1)
        return np.concatenate(tokens, axis=1)


class Optimum:
    name = "optimum"

    def __init__(self, folder: Path, threads: int):
        import torch
        from optimum.onnxruntime import ORTModelForCausalLM

        # torch only processes logits here; with its own pool spinning beside onnxruntime's, optimum
        # ran 2.3x slower at batch 8 on 2 cores (409 vs 931 tok/s): give it its best setting
        torch.set_num_threads(1)
        self.torch = torch
        self.model = ORTModelForCausalLM.from_pretrained(str(folder), subfolder="onnx", file_name="model.onnx",
                                                         use_cache=True, session_options=session_options(threads),
                                                         provider=providers()[0])
        check_device(self.model.session)
        method = "run_with_iobinding" if self.model.use_io_binding else "run"
        self.timer = RunTimer(self.model.session, method)

    def generate(self, ids: np.ndarray, new: int, num_beams: int = 1) -> np.ndarray:
        t = self.torch.from_numpy(ids).to(self.model.device)
        with self.torch.inference_mode():
            out = self.model.generate(input_ids=t, attention_mask=self.torch.ones_like(t), max_new_tokens=new,
                                      min_new_tokens=0, num_beams=num_beams, do_sample=False, eos_token_id=None,
                                      pad_token_id=0)
        return out.cpu().numpy()


PEERS = {"onnxformers": Onnxformers, "unwrap": OnnxformersUnwrap, "fuse": OnnxformersFused,
         "numpy": NumpyLoop, "optimum": Optimum}


def load_peers(folder: Path, threads: int, only: list[str]) -> tuple[dict, dict]:
    peers, skipped = {}, {}
    for key in only:
        try:
            peer = PEERS[key](folder, threads)
            peers[peer.name] = peer
        except ImportError as exc:
            skipped[PEERS[key].name] = f"skipped ({exc.name or exc} not importable)"
        except Exception as exc:  # noqa: BLE001 - one broken peer must not cost the others' figures
            if key == "onnxformers":
                raise
            skipped[PEERS[key].name] = f"skipped ({type(exc).__name__}: {str(exc)[:80]})"
    return peers, skipped


# -- peak RSS in a fresh process ---------------------------------------------------------------------


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def rss_child(folder: Path, threads: int, peer: str, new: int) -> None:
    import onnxruntime  # noqa: F401 - loaded before the baseline like the peers load it

    p = PEERS[peer](folder, threads)
    vocab = json.loads((folder / "config.json").read_text())["vocab_size"]
    ids = prompts(1, vocab)
    p.generate(ids, 4)  # warm the session (first-run allocations are not the generation's)
    loaded = _status_kb("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
    start = time.perf_counter()
    out = p.generate(ids, new)
    elapsed = time.perf_counter() - start
    print(json.dumps({"loaded_kb": loaded, "peak_kb": _status_kb("VmHWM"), "tokens": int(out.shape[1] - ids.shape[1]),
                      "seconds": elapsed}))


def rss_rows(folder: Path, threads: int, names: list[str], new: int, cfg: dict) -> list[list[str]]:
    onnx_mb = (folder / "onnx" / "model.onnx").stat().st_size / 2**20
    head_dim = cfg["hidden_size"] // cfg["num_attention_heads"]
    cache_mb = 2 * cfg["num_hidden_layers"] * cfg["num_key_value_heads"] * head_dim * (PROMPT_LEN + new) * 4 / 2**20
    rows = [["peer", "RSS after load MB", f"peak during {new} tokens MB", "growth MB", "model MB", "final cache MB", "tok/s"]]
    for key in names:
        proc = subprocess.run([sys.executable, __file__, "--model", str(folder), "--threads", str(threads),
                               "--device", DEVICE, "--rss-child", key, "--rss-tokens", str(new)], capture_output=True, text=True)
        if proc.returncode != 0:
            rows.append([PEERS[key].name, "failed: " + proc.stderr.strip().splitlines()[-1][:60], "", "", "", "", ""])
            continue
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        rows.append([PEERS[key].name, f"{r['loaded_kb'] / 1024:.0f}", f"{r['peak_kb'] / 1024:.0f}",
                     f"{(r['peak_kb'] - r['loaded_kb']) / 1024:.1f}", f"{onnx_mb:.0f}", f"{cache_mb:.1f}",
                     f"{r['tokens'] / r['seconds']:.1f}"])
    return rows


def profiles(peers: dict, ids: np.ndarray, new: int, beams: int) -> list[str]:
    """Where a call's time goes outside onnxruntime's run: cProfile's top functions by own time."""
    import cProfile
    import io
    import pstats

    out = []
    for name, p in peers.items():
        if not name.startswith("onnxformers"):
            continue
        prof = cProfile.Profile()
        prof.enable()
        p.generate(ids, new, num_beams=beams)
        prof.disable()
        text = io.StringIO()
        pstats.Stats(prof, stream=text).sort_stats("tottime").print_stats(12)
        out += ["", f"## profile: {name}, {new} tokens, batch {ids.shape[0]}, beams {beams}",
                *[line for line in text.getvalue().splitlines() if line.strip()][3:]]
    return out


# -- main ----------------------------------------------------------------------------------------------


def loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", type=Path, default=DEFAULT_MODEL, help="Transformers.js-layout folder (bench-llama-lm)")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="onnxruntime intra-op threads, all peers")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu",
                    help="onnxruntime provider of every peer (cuda: onnxruntime-gpu; optimum's tensors on cuda)")
    ap.add_argument("--peers", nargs="+", default=list(PEERS), choices=list(PEERS))
    ap.add_argument("--quick", action="store_true", help="64 tokens, batch 1 only; no beams, no RSS")
    ap.add_argument("--cases", help="comma-separated NEWxBATCH greedy cases and beamNEWxBATCH (4 beams) cases "
                                    "(default: 64x1,256x1,64x8,256x8,beam64x1)")
    ap.add_argument("--no-rss", action="store_true", help="skip the 1,024-token peak-RSS table")
    ap.add_argument("--profile", action="store_true",
                    help="after the table: cProfile of one call per onnxformers peer (last case), top functions by own time")
    ap.add_argument("--rss-child", choices=list(PEERS), help=argparse.SUPPRESS)
    ap.add_argument("--rss-tokens", type=int, default=1024)
    ap.add_argument("--out", type=Path, help="also write the report here")
    a = ap.parse_args(argv)
    folder = a.model.resolve()
    global DEVICE
    DEVICE = a.device
    if a.rss_child:
        rss_child(folder, a.threads, a.rss_child, a.rss_tokens)
        return 0
    if not (folder / "onnx" / "model.onnx").exists():
        raise SystemExit(f"{folder}: no onnx/model.onnx; build it: scripts/make_fixtures.py --only bench-llama-lm --out CACHE")
    cfg = json.loads((folder / "config.json").read_text())
    import onnxruntime

    lines = [f"# bench_generation: {folder.name} ({cfg['num_hidden_layers']} layers, hidden {cfg['hidden_size']}, "
             f"{cfg['num_attention_heads']}/{cfg['num_key_value_heads']} heads, vocab {cfg['vocab_size']}, "
             f"{(folder / 'onnx' / 'model.onnx').stat().st_size / 1e6:.0f} MB), onnxruntime {onnxruntime.__version__}, "
             f"device {a.device}, {a.threads} intra-op threads, prompt {PROMPT_LEN} tokens, {a.repeat} calls per peer and case (after 1 warm-up), interleaved",
             f"load average at start: {loadavg()} ({os.cpu_count()} CPUs)"]
    print("\n".join(lines), flush=True)
    peers, skipped = load_peers(folder, a.threads, a.peers)
    for name, why in skipped.items():
        print(f"  {name}: {why}")
    ours = peers.get("onnxformers")
    if a.cases:
        cases = []
        for spec in a.cases.split(","):
            beams = 4 if spec.startswith("beam") else 1
            new_tokens, batch = spec.removeprefix("beam").split("x")
            cases.append((int(new_tokens), int(batch), beams))
    else:
        cases = [(64, 1, 1), (256, 1, 1), (64, 8, 1), (256, 8, 1)] if not a.quick else [(64, 1, 1)]
        if not a.quick:
            cases.append((64, 1, 4))  # beam search, 4 beams (the numpy loop is greedy only)
    rows = [["mode", "new", "batch", "peer", "tok/s median", "tok/s best", "tok/CPU-s", "ours/peer wall",
             "ours/peer CPU", "fuse/peer wall", "fuse/peer CPU", "outside run wall", "outside run CPU",
             "same tokens"]]
    for new, batch, beams in cases:
        ids = prompts(batch, cfg["vocab_size"])
        outputs: dict[str, np.ndarray] = {}
        group = {n: p for n, p in peers.items() if beams == 1 or n != "numpy loop"}

        def call(p):
            outputs[p.name] = p.generate(ids, new, num_beams=beams)

        m = measure(group, call, repeat=a.repeat)
        mode = "greedy" if beams == 1 else f"beam x{beams}"
        for name, r in m.items():
            out = outputs[name]
            assert out.shape == (batch, PROMPT_LEN + new), (name, out.shape)
            same = "-" if name == "onnxformers" or ours is None else str(np.array_equal(out, outputs["onnxformers"]))
            tok = batch * new
            ratio_wall = ratio_cpu = "-"
            if ours is not None and name != "onnxformers":
                ratio_wall = f"{r['wall'] / m['onnxformers']['wall']:.2f}x"
                ratio_cpu = f"{r['cpu'] / m['onnxformers']['cpu']:.2f}x"
            fused = m.get("onnxformers fuse")
            fuse_wall = fuse_cpu = "-"
            if fused is not None and name != "onnxformers fuse":
                fuse_wall, fuse_cpu = f"{r['wall'] / fused['wall']:.2f}x", f"{r['cpu'] / fused['cpu']:.2f}x"
            rows.append([mode, str(new), str(batch), name, f"{tok / r['wall']:.1f}", f"{tok / r['best']:.1f}",
                         f"{tok / r['cpu']:.1f}", ratio_wall, ratio_cpu, fuse_wall, fuse_cpu,
                         f"{100 * r['outside_wall']:.1f}%",
                         f"{100 * r['outside_cpu']:.1f}%", same])
        for name, why in skipped.items():
            rows.append([mode, str(new), str(batch), name, why] + [""] * 9)
        print("  " + "; ".join(f"{mode} {new}x{batch} {n}: {batch * new / r['wall']:.1f} tok/s" for n, r in m.items()), flush=True)
    report = lines + ["", table(rows)]
    if a.profile:
        report += profiles(peers, ids, new, beams)
    if not (a.quick or a.no_rss):
        report += ["", table(rss_rows(folder, a.threads, [k for k in a.peers if PEERS[k].name in peers], a.rss_tokens, cfg))]
    report += ["", f"load average at end: {loadavg()}"]
    text = "\n".join(report)
    print("\n" + text)
    if a.out:
        a.out.parent.mkdir(parents=True, exist_ok=True)
        a.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
