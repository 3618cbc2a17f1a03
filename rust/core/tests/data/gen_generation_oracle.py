"""Reference outputs of transformers' generation code for the Rust generation tests.

Run in the fixture venv (torch + transformers; see scripts/README.md):

    <fixture-venv>/bin/python rust/core/tests/data/gen_generation_oracle.py   (the venv of scripts/README.md)

writes rust/core/tests/data/generation_oracle.json, read by
rust/core/src/generation/tests.rs. Deterministic (seeded numpy inputs, no sampling).

Three kinds of cases:
  * "processors": one transformers logits processor on fixed inputs -> its output;
  * "lists": transformers' own `GenerationMixin._get_logits_processor` for a config -> the class
    names in order and the output of the whole list;
  * "generate": `model.generate()` (transformers 4.57, greedy and beam search) on a synthetic
    deterministic "model" whose next-token logits are a hash of the prefix, plus the classic
    `BeamSearchScorer` loop (transformers <= 4.49 `_beam_search`) on the same model.
"""

import json
import math
import os
import sys
import warnings

import numpy as np
import torch
import transformers
from transformers import GenerationConfig, PretrainedConfig, PreTrainedModel
from transformers.generation import GenerationMixin
from transformers.generation import logits_process as lp
from transformers.generation.beam_search import BeamSearchScorer
from transformers.modeling_outputs import CausalLMOutputWithPast

warnings.filterwarnings("ignore")
transformers.logging.set_verbosity_error()

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "generation_oracle.json")
rng = np.random.default_rng(1234)
M64 = (1 << 64) - 1


def f32list(a):
    """float32 values as JSON-safe floats (inf/nan as strings)."""
    out = []
    for x in np.asarray(a, dtype=np.float32).reshape(-1).tolist():
        if math.isnan(x):
            out.append("nan")
        elif math.isinf(x):
            out.append("inf" if x > 0 else "-inf")
        else:
            out.append(x)
    return out


def logits(rows, vocab, scale=3.0, neg_inf=0):
    x = (rng.standard_normal((rows, vocab)) * scale).astype(np.float32)
    for r in range(rows):
        for c in rng.choice(vocab, size=neg_inf, replace=False):
            x[r, c] = -np.inf
    return x


def ids(rows, length, vocab):
    return rng.integers(0, vocab, size=(rows, length), dtype=np.int64)


def fnv1a(tokens):
    h = 0xCBF29CE484222325
    for t in tokens:
        for b in int(t).to_bytes(8, "little", signed=True):
            h ^= b
            h = (h * 0x100000001B3) & M64
    return h


def splitmix(x):
    x = (x + 0x9E3779B97F4A7C15) & M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & M64
    return x ^ (x >> 31)


processor_cases = []


def case(name, proc, input_ids, scores, params, encoder_input_ids=None, note=""):
    out = proc(torch.from_numpy(input_ids.copy()), torch.from_numpy(scores.copy()))
    processor_cases.append(
        {
            "name": name,
            "params": params,
            "input_ids": input_ids.tolist(),
            "encoder_input_ids": None if encoder_input_ids is None else encoder_input_ids.tolist(),
            "rows": int(scores.shape[0]),
            "vocab": int(scores.shape[1]),
            "logits": f32list(scores),
            "expected": f32list(out.numpy()),
            "note": note,
        }
    )


V = 40
# --- length / forcing processors ---
for L in (3, 4, 5):
    case("MinLength", lp.MinLengthLogitsProcessor(5, [2, 7]), ids(2, L, V), logits(2, V),
         {"min_length": 5, "eos_token_id": [2, 7]})
for L in (4, 6):
    case("MinNewTokensLength", lp.MinNewTokensLengthLogitsProcessor(3, 2, 2), ids(2, L, V), logits(2, V),
         {"prompt_length_to_skip": 3, "min_new_tokens": 2, "eos_token_id": [2]})
for L in (1, 2):
    case("ForcedBOSToken", lp.ForcedBOSTokenLogitsProcessor(5), ids(2, L, V), logits(2, V), {"bos_token_id": 5})
for L in (5, 6):
    case("ForcedEOSToken", lp.ForcedEOSTokenLogitsProcessor(7, [3, 9]), ids(2, L, V), logits(2, V),
         {"max_length": 7, "eos_token_id": [3, 9]})
x = logits(2, V)
x[0, 3] = np.nan
x[1, 4] = np.inf
x[1, 5] = -np.inf
case("InfNanRemove", lp.InfNanRemoveLogitsProcessor(), ids(2, 3, V), x, {})
for L in (5, 6, 9):
    case("ExponentialDecayLengthPenalty", lp.ExponentialDecayLengthPenalty((2, 1.5), [1, 6], 3),
         ids(2, L, V), logits(2, V),
         {"start_index": 2, "decay_factor": 1.5, "eos_token_id": [1, 6], "input_ids_seq_length": 3})
case("SuppressTokens", lp.SuppressTokensLogitsProcessor([1, 4, 39, 100]), ids(2, 3, V), logits(2, V),
     {"suppress_tokens": [1, 4, 39, 100]})
for L in (3, 4):
    case("SuppressTokensAtBegin", lp.SuppressTokensAtBeginLogitsProcessor([0, 8], 4), ids(2, L, V), logits(2, V),
         {"begin_suppress_tokens": [0, 8], "begin_index": 4})
case("LogitNormalization", lp.LogitNormalization(), ids(2, 3, V), logits(2, V, neg_inf=3), {})

# --- history-based processors ---
h = np.array([[1, 2, 3, 1, 2, 3, 1, 2], [5, 5, 5, 6, 5, 5, 7, 5], [9, 8, 7, 6, 5, 4, 3, 2]], dtype=np.int64)
for n in (1, 2, 3, 4):
    case("NoRepeatNGram", lp.NoRepeatNGramLogitsProcessor(n), h, logits(3, V), {"ngram_size": n})
case("NoRepeatNGram", lp.NoRepeatNGramLogitsProcessor(9), h, logits(3, V), {"ngram_size": 9},
     note="history shorter than n-1: nothing banned")
enc = np.array([[1, 2, 3, 4, 2, 3, 5], [7, 7, 8, 7, 7, 9, 1]], dtype=np.int64)
for n, dec in ((2, np.array([[0, 2], [1, 7]])), (3, np.array([[9, 2, 3], [1, 7, 7]])),
               (1, np.array([[4, 4], [0, 1]]))):
    case("EncoderNoRepeatNGram", lp.EncoderNoRepeatNGramLogitsProcessor(n, torch.from_numpy(enc)),
         dec.astype(np.int64), logits(2, V), {"ngram_size": n}, encoder_input_ids=enc)
for pen in (1.3, 0.7):
    x = logits(3, V)
    case("RepetitionPenalty", lp.RepetitionPenaltyLogitsProcessor(pen), h, x, {"penalty": pen})
for pen in (1.5, 0.8):
    case("EncoderRepetitionPenalty", lp.EncoderRepetitionPenaltyLogitsProcessor(pen, torch.from_numpy(enc)),
         ids(2, 3, V), logits(2, V), {"penalty": pen}, encoder_input_ids=enc)
bad = [[3], [2], [1, 2, 5], [8, 9], [7, 7, 4], [6]]
hb = np.array([[0, 1, 2], [4, 7, 7], [3, 8, 9]], dtype=np.int64)
case("NoBadWords", lp.NoBadWordsLogitsProcessor(bad, [2, 11]), hb, logits(3, V),
     {"bad_words_ids": bad, "eos_token_id": [2, 11]})
bias = [[[3], 1.5], [[1, 2, 5], -2.0], [[2, 6], 0.5], [[9, 6], 4.0], [[3], -0.25]]
case("SequenceBias", lp.SequenceBiasLogitsProcessor(bias), hb, logits(3, V), {"sequence_bias": bias})

# --- warpers ---
for t in (0.7, 1.9):
    case("Temperature", lp.TemperatureLogitsWarper(t), ids(3, 2, V), logits(3, V), {"temperature": t})
for k, keep in ((5, 1), (1, 1), (3, 6), (45, 1)):
    case("TopK", lp.TopKLogitsWarper(k, min_tokens_to_keep=keep), ids(3, 2, V), logits(3, V, neg_inf=2),
         {"top_k": k, "min_tokens_to_keep": keep})
x = np.array([[1, 3, 3, 2, 3, 0], [0, 0, 0, 0, 0, 0]], dtype=np.float32)
case("TopK", lp.TopKLogitsWarper(2), ids(2, 2, 6), x, {"top_k": 2, "min_tokens_to_keep": 1},
     note="ties at the k-th value are all kept")
for p, keep in ((0.8, 1), (0.3, 1), (0.95, 3), (0.05, 1), (1.0, 1)):
    case("TopP", lp.TopPLogitsWarper(p, min_tokens_to_keep=keep), ids(3, 2, V), logits(3, V, neg_inf=2),
         {"top_p": p, "min_tokens_to_keep": keep})
for p, keep in ((0.1, 1), (0.5, 3)):
    case("MinP", lp.MinPLogitsWarper(p, min_tokens_to_keep=keep), ids(3, 2, V), logits(3, V),
         {"min_p": p, "min_tokens_to_keep": keep})
for m, keep in ((0.7, 1), (0.2, 1), (0.9, 4)):
    case("Typical", lp.TypicalLogitsWarper(m, min_tokens_to_keep=keep), ids(3, 2, V), logits(3, V, neg_inf=1),
         {"mass": m, "min_tokens_to_keep": keep})
for e, keep in ((0.02, 1), (0.3, 2), (0.9, 1)):
    case("EpsilonCutoff", lp.EpsilonLogitsWarper(e, min_tokens_to_keep=keep), ids(3, 2, V), logits(3, V),
         {"epsilon": e, "min_tokens_to_keep": keep})
for e, keep in ((0.05, 1), (0.5, 3), (0.0009, 1)):
    case("EtaCutoff", lp.EtaLogitsWarper(e, min_tokens_to_keep=keep), ids(3, 2, V), logits(3, V, scale=1.0),
         {"epsilon": e, "min_tokens_to_keep": keep})
# large vocabularies exercise the sort-based warpers and the parallel row path; their logits
# come from the hash below (reproduced by the Rust test) and only the kept ids are stored
def hash_logits(rows, vocab, seed):
    out = np.empty((rows, vocab), dtype=np.float32)
    for r in range(rows):
        h = fnv1a([seed, r])
        for v in range(vocab):
            x = splitmix(h ^ ((v * 0x9E3779B97F4A7C15) & M64))
            out[r, v] = ((x >> 40) % (1 << 20)) / float(1 << 16) - 8.0  # exact in float32
    return out


for seed, (name, proc, params) in enumerate((
    ("TopP", lp.TopPLogitsWarper(0.9), {"top_p": 0.9, "min_tokens_to_keep": 1}),
    ("TopK", lp.TopKLogitsWarper(50), {"top_k": 50, "min_tokens_to_keep": 1}),
    ("Typical", lp.TypicalLogitsWarper(0.9), {"mass": 0.9, "min_tokens_to_keep": 1}),
    ("MinP", lp.MinPLogitsWarper(0.05), {"min_p": 0.05, "min_tokens_to_keep": 1}),
)):
    R, LV = 4, 20000
    x = hash_logits(R, LV, seed)
    out = proc(torch.from_numpy(ids(R, 2, LV)), torch.from_numpy(x.copy())).numpy()
    kept = [np.nonzero(np.isfinite(out[r]))[0].tolist() for r in range(R)]
    assert all(np.array_equal(out[r][kept[r]], x[r][kept[r]]) for r in range(R))
    processor_cases.append({
        "name": name, "params": params, "input_ids": ids(R, 2, LV).tolist(), "encoder_input_ids": None,
        "rows": R, "vocab": LV, "hash_seed": seed, "kept": kept, "note": "large vocab",
    })

# --- classifier-free guidance (batched: 2 x rows logits) ---
case("ClassifierFreeGuidance", lp.ClassifierFreeGuidanceLogitsProcessor(3.0), ids(2, 3, V), logits(4, V),
     {"guidance_scale": 3.0})


# --- Whisper timestamps ---
class WG:  # the attributes WhisperTimeStampLogitsProcessor reads
    no_timestamps_token_id = 20
    eos_token_id = 15
    bos_token_id = 14
    max_initial_timestamp_index = 4


WV = 40  # timestamps are ids 21..39
for seq, bi in (
    ([[16, 17]], 2),  # first step: only timestamps
    ([[16, 17, 21]], 2),  # one timestamp: must be followed by a timestamp (or text)
    ([[16, 17, 21, 5]], 2),
    ([[16, 17, 21, 5, 27]], 2),  # text then timestamp: next must be a timestamp
    ([[16, 17, 21, 5, 27, 29]], 2),  # timestamp pair: next must be text
    ([[16, 17, 3, 4]], 2),
):
    x = logits(1, WV, scale=2.0)
    case("WhisperTimeStamp", lp.WhisperTimeStampLogitsProcessor(WG, begin_index=bi),
         np.array(seq, dtype=np.int64), x,
         {"no_timestamps_token_id": 20, "eos_token_id": 15, "begin_index": bi, "max_initial_timestamp_index": 4})
x = logits(1, WV, scale=0.5)
x[0, 21:] += 3.0  # timestamp mass beats every text token: text gets suppressed
case("WhisperTimeStamp", lp.WhisperTimeStampLogitsProcessor(WG, begin_index=2),
     np.array([[16, 17, 5]], dtype=np.int64), x,
     {"no_timestamps_token_id": 20, "eos_token_id": 15, "begin_index": 2, "max_initial_timestamp_index": 4},
     note="timestamp logprob sum beats text")


# --- whole lists from GenerationMixin._get_logits_processor ---
class ListBuilder:
    """Just enough of a model for GenerationMixin._get_logits_processor."""

    def _merge_criteria_processor_list(self, default, custom):
        return default


list_cases = []


def list_case(cfg_dict, prompt_len, rows, vocab=V, encoder=None):
    gc = GenerationConfig(**cfg_dict)
    eos = cfg_dict.get("eos_token_id")
    gc._eos_token_tensor = None if eos is None else torch.tensor(eos if isinstance(eos, list) else [eos])
    if gc.max_new_tokens is not None:  # as _prepare_generated_length
        gc.max_length = gc.max_new_tokens + prompt_len
    if gc.min_new_tokens is not None:
        gc.min_length = gc.min_new_tokens + prompt_len
    input_ids = ids(rows, prompt_len, vocab)
    enc = input_ids if encoder is None else encoder
    procs = GenerationMixin._get_logits_processor(
        ListBuilder(), gc, input_ids_seq_length=prompt_len, encoder_input_ids=torch.from_numpy(enc),
        logits_processor=None, device="cpu",
    )
    names = [type(p).__name__ for p in procs]
    x = logits(rows, vocab)
    out = procs(torch.from_numpy(input_ids.copy()), torch.from_numpy(x.copy()))
    list_cases.append({
        "config": cfg_dict, "prompt_length": prompt_len, "names": names,
        "input_ids": input_ids.tolist(), "encoder_input_ids": enc.tolist(),
        "rows": rows, "vocab": vocab, "logits": f32list(x), "expected": f32list(out.numpy()),
    })


list_case({}, 3, 2)
list_case({"do_sample": True}, 3, 2)
list_case({"do_sample": True, "temperature": 0.6, "top_k": 10, "top_p": 0.9, "typical_p": 0.95,
           "epsilon_cutoff": 0.001, "eta_cutoff": 0.002, "min_p": 0.05, "renormalize_logits": True}, 3, 2)
list_case({"repetition_penalty": 1.2, "no_repeat_ngram_size": 2, "encoder_no_repeat_ngram_size": 2,
           "encoder_repetition_penalty": 1.1, "bad_words_ids": [[5], [1, 2]], "min_length": 5,
           "min_new_tokens": 3, "forced_bos_token_id": 4, "forced_eos_token_id": 2,
           "eos_token_id": [2, 3], "max_new_tokens": 2, "remove_invalid_values": True,
           "exponential_decay_length_penalty": (1, 1.2), "suppress_tokens": [7, 8],
           "begin_suppress_tokens": [9], "sequence_bias": [[[6], -1.0]]}, 1, 2)
list_case({"do_sample": True, "num_beams": 3, "eos_token_id": [2, 3], "top_k": 1, "top_p": 0.5}, 2, 6)
list_case({"begin_suppress_tokens": [9, 10], "forced_bos_token_id": 1, "eos_token_id": 2}, 1, 2)


# --- generate() on a synthetic deterministic model ---
def synthetic_logits(prefix, vocab, eos_boost):
    """Exact binary fractions in [-4, 4) (exact in float32): no rounding differences."""
    h = fnv1a(prefix)
    out = np.empty(vocab, dtype=np.float32)
    for v in range(vocab):
        x = splitmix(h ^ ((v * 0x9E3779B97F4A7C15) & M64))
        out[v] = ((x >> 40) % (1 << 20)) / float(1 << 17) - 4.0
    # make eos likelier as sequences grow, so that beams finish at different lengths
    for e, boost in eos_boost:
        out[e] += np.float32(boost * len(prefix))
    return out


class SynthConfig(PretrainedConfig):
    model_type = "synthetic-lm"


class SynthLM(PreTrainedModel, GenerationMixin):
    config_class = SynthConfig
    main_input_name = "input_ids"

    def __init__(self, config):
        super().__init__(config)
        self.dummy = torch.nn.Parameter(torch.zeros(1))
        self.eos_boost = []

    def forward(self, input_ids=None, attention_mask=None, **kwargs):
        rows = [synthetic_logits(r.tolist(), self.config.vocab_size, self.eos_boost) for r in input_ids]
        lg = torch.from_numpy(np.stack(rows))[:, None, :]
        return CausalLMOutputWithPast(logits=lg)

    def prepare_inputs_for_generation(self, input_ids, **kwargs):
        return {"input_ids": input_ids}


def classic_beam_search(model, input_ids, gc, eos, pad):
    """transformers <= 4.49 `_beam_search` (greedy selection) around BeamSearchScorer."""
    num_beams = gc.num_beams
    batch_size = input_ids.shape[0]
    input_ids = input_ids.repeat_interleave(num_beams, dim=0)
    prompt_len = input_ids.shape[1]
    max_length = gc.max_new_tokens + prompt_len if gc.max_new_tokens else gc.max_length
    scorer = BeamSearchScorer(batch_size, num_beams, device="cpu", length_penalty=gc.length_penalty,
                              do_early_stopping=gc.early_stopping,
                              num_beam_hyps_to_keep=gc.num_return_sequences, max_length=max_length)
    beam_scores = torch.zeros((batch_size, num_beams), dtype=torch.float)
    beam_scores[:, 1:] = -1e9
    beam_scores = beam_scores.view(-1)
    eos_t = torch.tensor(eos)
    steps = 0
    procs = GenerationMixin._get_logits_processor(
        ListBuilder(), gc, input_ids_seq_length=prompt_len, encoder_input_ids=input_ids[::num_beams],
        logits_processor=None, device="cpu")
    while True:
        steps += 1
        logits_ = model(input_ids).logits[:, -1, :].float()
        scores = torch.nn.functional.log_softmax(logits_, dim=-1)
        scores = procs(input_ids, scores)
        scores = scores + beam_scores[:, None]
        vocab = scores.shape[-1]
        scores = scores.view(batch_size, num_beams * vocab)
        n_keep = max(2, 1 + len(eos)) * num_beams
        next_scores, next_tokens = torch.topk(scores, n_keep, dim=1, largest=True, sorted=True)
        next_indices = torch.div(next_tokens, vocab, rounding_mode="floor")
        next_tokens = next_tokens % vocab
        out = scorer.process(input_ids, next_scores, next_tokens, next_indices, pad_token_id=pad,
                             eos_token_id=eos_t, decoder_prompt_len=prompt_len)
        beam_scores = out["next_beam_scores"]
        input_ids = torch.cat([input_ids[out["next_beam_indices"], :], out["next_beam_tokens"].unsqueeze(-1)], dim=-1)
        if scorer.is_done or input_ids.shape[-1] >= max_length:
            break
    res = scorer.finalize(input_ids, beam_scores, next_tokens, next_indices, pad_token_id=pad,
                          eos_token_id=eos_t, max_length=max_length, decoder_prompt_len=prompt_len)
    return res["sequences"], res["sequence_scores"], steps


gen_cases = []


def gen_case(cfg, prompt, vocab=24, eos_boost=((1, 0.35),), classic=None):
    model = SynthLM(SynthConfig(vocab_size=vocab))
    model.eos_boost = list(eos_boost)
    model.eval()
    gc = GenerationConfig(**cfg)
    x = torch.tensor(prompt, dtype=torch.long)
    with torch.no_grad():
        out = model.generate(x, attention_mask=torch.ones_like(x), generation_config=gc, use_cache=False,
                             return_dict_in_generate=True, output_scores=True)
    entry = {"config": cfg, "prompt": prompt, "vocab": vocab, "eos_boost": [list(e) for e in eos_boost],
             "sequences": out.sequences.tolist(),
             "sequences_scores": None if getattr(out, "sequences_scores", None) is None
             else f32list(out.sequences_scores.numpy())}
    if cfg.get("num_beams", 1) > 1:
        eos = cfg["eos_token_id"] if isinstance(cfg["eos_token_id"], list) else [cfg["eos_token_id"]]
        pad = cfg.get("pad_token_id", eos[0])
        gc2 = GenerationConfig(**cfg)
        gc2._eos_token_tensor = torch.tensor(eos)
        with torch.no_grad():
            seqs, scores, steps = classic_beam_search(model, x, gc2, eos, pad)
        entry["classic_sequences"] = seqs.tolist()
        entry["classic_scores"] = f32list(scores.numpy())
        entry["classic_steps"] = steps
    gen_cases.append(entry)


P1 = [[3, 5, 7]]
P2 = [[3, 5, 7], [9, 9, 4]]
gen_case({"max_new_tokens": 8, "eos_token_id": 1, "pad_token_id": 0}, P2)
gen_case({"max_new_tokens": 12, "eos_token_id": [1, 2], "pad_token_id": 0,
          "repetition_penalty": 1.3, "no_repeat_ngram_size": 2}, P2, eos_boost=((1, 0.2), (2, 0.2)))
gen_case({"max_new_tokens": 6, "eos_token_id": 1, "min_new_tokens": 4, "pad_token_id": 0,
          "bad_words_ids": [[4], [5, 6]], "suppress_tokens": [7]}, P2)
for es in (False, True, "never"):
    for lpen in (1.0, 0.0, 2.0, -0.5):
        gen_case({"num_beams": 3, "max_new_tokens": 7, "eos_token_id": 1, "pad_token_id": 23,
                  "early_stopping": es, "length_penalty": lpen}, P2)
gen_case({"num_beams": 4, "num_return_sequences": 3, "max_new_tokens": 9, "eos_token_id": 1,
          "pad_token_id": 23}, P2)
gen_case({"num_beams": 2, "max_new_tokens": 10, "eos_token_id": 1, "pad_token_id": 23,
          "no_repeat_ngram_size": 2, "repetition_penalty": 1.2}, P1, eos_boost=((1, 0.1),))
gen_case({"num_beams": 5, "num_return_sequences": 5, "max_new_tokens": 6, "eos_token_id": [1, 2],
          "pad_token_id": 23}, P2, eos_boost=((1, 0.3), (2, 0.3)))
gen_case({"num_beams": 3, "max_new_tokens": 5, "eos_token_id": 1, "pad_token_id": 23}, P1, eos_boost=())
for es in (False, True, "never"):
    for lpen in (1.0, 0.5, 3.0, -1.0):
        gen_case({"num_beams": 2, "max_new_tokens": 30, "eos_token_id": 1, "pad_token_id": 23,
                  "early_stopping": es, "length_penalty": lpen}, P2, eos_boost=((1, 0.08),))

json.dump(
    {
        "transformers": transformers.__version__,
        "torch": torch.__version__,
        "processors": processor_cases,
        "lists": list_cases,
        "generate": gen_cases,
    },
    open(OUT, "w"),
    separators=(",", ":"),
)
print(f"wrote {OUT}: {len(processor_cases)} processor cases, {len(list_cases)} lists, {len(gen_cases)} generate")
for g in gen_cases:
    if "classic_sequences" in g:
        same = g["classic_sequences"] == g["sequences"] and g["classic_scores"] == g["sequences_scores"]
        print(g["config"], "classic==4.57:", same)
        if not same:
            print("  4.57   ", g["sequences"], g["sequences_scores"])
            print("  classic", g["classic_sequences"], g["classic_scores"])
