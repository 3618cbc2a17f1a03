"""Generate `models_oracle.json`: expected outputs of the Hugging Face `tokenizers` library for
the Rust models and decoders (rust/core/tests/models_oracle.rs asserts them).

Every expected value here comes from `tokenizers` itself, never from the Rust code.
Run:  python rust/core/tests/data/gen_models_oracle.py   (any venv with `tokenizers`)
"""

import json
import random
from pathlib import Path

import tokenizers
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

OUT = Path(__file__).with_name("models_oracle.json")
rng = random.Random(1234)

TEXT = """The quick brown fox jumps over the lazy dog. Unrelated relations are related, unrelatedly.
Tokenizers split words into subwords; BPE merges pairs, WordPiece takes the longest match,
and Unigram picks the most likely segmentation. Café, naïve, façade, jalapeño, Zürich, Ærøskøbing.
数据 处理 很 快。東京は大きい。 Emojis 😀🎉👍🏽 and symbols ∑∫√ ≠ ≤ ≥ → ← ½ ¾ © ® ™.
Numbers 12345 67890 3.14159 2,718 1e10 0xFF; code: fn main() { println!("hi"); } x+=1 && y||z.
    indented    text\twith\ttabs\nand newlines\r\n  ...   !!!   ???  "quotes" 'single' `back`
""" * 3

WORDS = sorted(set(TEXT.split()))


def rand_word(alphabet, lo=1, hi=12):
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(lo, hi)))


def model_json(model):
    return json.loads(Tokenizer(model).to_str())["model"]


def toks(model, piece):
    try:
        return [[t.id, t.value, list(t.offsets)] for t in model.tokenize(piece)]
    except Exception as e:  # noqa: BLE001 - the oracle's error is the expected value
        return {"error": str(e)}


cases = {"tokenizers_version": tokenizers.__version__, "models": [], "decoders": []}


def add_model(name, model, pieces, json_override=None):
    mj = json_override if json_override is not None else model_json(model)
    cases["models"].append(
        {"name": name, "model": mj, "cases": [[p, toks(model, p)] for p in pieces]}
    )


# ---------------------------------------------------------------- BPE, hand-made
vocab = {
    "u": 0, "n": 1, "r": 2, "e": 3, "l": 4, "a": 5, "t": 6, "d": 7, "re": 8, "at": 9,
    "ed": 10, "un": 11, "ated": 12, "rel": 13, "related": 14, "unrelated": 15, "<unk>": 16,
    "aa": 17, "aaaa": 18,
}
merges = [("r", "e"), ("a", "t"), ("e", "d"), ("u", "n"), ("at", "ed"), ("re", "l"),
          ("rel", "ated"), ("un", "related"), ("a", "a"), ("aa", "aa")]
pieces = ["unrelated", "related", "relate", "a", "aa", "aaa", "aaaa", "aaaaa", "aaaaaaa",
          "unrelatedunrelated", "xyz", "axa", "ééa", "reeeed", "", "tatatat", "u\u0301n"]
for unk, fuse in [(None, False), ("<unk>", False), ("<unk>", True)]:
    m = models.BPE(vocab, merges, unk_token=unk, fuse_unk=fuse)
    add_model(f"bpe_hand unk={unk} fuse={fuse}", m, pieces)
# Legacy serialisation: merges as "a b" strings and no "type".
m = models.BPE(vocab, merges, unk_token="<unk>")
mj = model_json(m)
mj["merges"] = [" ".join(p) for p in mj["merges"]]
add_model("bpe_hand merges-as-strings", m, pieces, mj)
mj2 = dict(mj)
del mj2["type"]
add_model("bpe_hand legacy no type", m, pieces, mj2)
# ignore_merges
m = models.BPE(vocab, merges, ignore_merges=True)
add_model("bpe_hand ignore_merges", m, pieces + ["aaaa", "rel"])

# Prefix / suffix (CLIP / openai-gpt style), merges with the prefix stripped.
v2 = {"a": 0, "##b": 1, "##c": 2, "ab": 3, "abc": 4, "b": 5, "c</w>": 6, "##c</w>": 7,
      "ab##c</w>": 8, "abc</w>": 9, "[UNK]": 10, "a</w>": 11, "##a": 12, "##a</w>": 13}
m = models.BPE(v2, [("a", "##b"), ("ab", "##c</w>"), ("ab", "##c")],
               unk_token="[UNK]", continuing_subword_prefix="##", end_of_word_suffix="</w>")
add_model("bpe prefix+suffix", m, ["ab", "abc", "abcc", "a", "aa", "b", "abab", "x", "axc", ""])
m = models.BPE(v2, [("a", "##b"), ("ab", "##c")], unk_token="[UNK]", continuing_subword_prefix="##")
add_model("bpe prefix", m, ["ab", "abc", "abcc", "a", "aa", "b", "abab", "x", "axc"])

# Byte fallback (Llama-style SentencePiece BPE).
v3 = {"<unk>": 0, "<s>": 1, "</s>": 2}
for b in range(256):
    v3[f"<0x{b:02X}>"] = len(v3)
for t in ["▁", "h", "e", "l", "o", "w", "r", "d", "▁h", "he", "ll", "llo", "▁he", "▁hello", "é",
          "▁w", "or", "▁wor", "▁world", "ld"]:
    v3[t] = len(v3)
mg3 = [("▁", "h"), ("h", "e"), ("l", "l"), ("ll", "o"), ("▁h", "e"), ("▁he", "llo"), ("▁", "w"),
       ("o", "r"), ("▁w", "or"), ("l", "d"), ("▁wor", "ld")]
for fuse in (False, True):
    m = models.BPE(v3, mg3, unk_token="<unk>", byte_fallback=True, fuse_unk=fuse)
    add_model(f"bpe byte_fallback fuse={fuse}", m,
              ["▁hello", "▁world", "▁héllo", "▁日本", "\n", "▁😀x", "hello\tworld", "é", "zz"])
# Byte fallback without all bytes present → unk
v4 = {"<unk>": 0, "<0x61>": 1, "b": 2}
m = models.BPE(v4, [], unk_token="<unk>", byte_fallback=True)
add_model("bpe byte_fallback partial", m, ["a", "b", "c", "ab", "é"])

# ---------------------------------------------------------------- BPE, trained byte-level
alphabet = list("abcdefghijklmnopqrstuvwxyz") + list("ETAOIN éèçñ数据😀") + [" "]
corpus = [TEXT] + [" ".join(rand_word(alphabet) for _ in range(30)) for _ in range(200)]
tok = Tokenizer(models.BPE())
tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
tok.train_from_iterator(
    corpus, trainers.BpeTrainer(vocab_size=600, show_progress=False,
                                initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
)
bl_model = tok.model
test_texts = WORDS + [rand_word(alphabet, 1, 30) for _ in range(300)] + [
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "the the the", "   ", "\n\n\n", "x" * 300]
pieces = []
for t in test_texts:
    pieces += [p for p, _ in tok.pre_tokenizer.pre_tokenize_str(t)]
pieces = sorted(set(pieces))
add_model("bpe trained byte-level", bl_model, pieces)

# ---------------------------------------------------------------- WordPiece
wv = {"[UNK]": 0, "un": 1, "##aff": 2, "##able": 3, "runn": 4, "##ing": 5, "a": 6, "##a": 7,
      "b": 8, "##b": 9, "ab": 10, "##ab": 11, "é": 12, "##é": 13, "日": 14, "##本": 15,
      "unaffable": 16, "##": 17, "#": 18}
pieces = ["unaffable", "unaff", "running", "runningx", "ab", "aab", "abab", "aaaa", "bé",
          "éé", "日本", "本", "x", "", "##", "#a", "a" * 10, "a" * 11]
for mx in (100, 10):
    m = models.WordPiece(wv, unk_token="[UNK]", max_input_chars_per_word=mx)
    add_model(f"wordpiece hand max={mx}", m, pieces)
m = models.WordPiece({k: v for k, v in wv.items() if k != "[UNK]"}, unk_token="[UNK]")
add_model("wordpiece no unk in vocab", m, ["ab", "abab", "x", "ax"])
m = models.WordPiece(wv, unk_token="[UNK]", continuing_subword_prefix="@@")
add_model("wordpiece prefix @@", m, ["ab", "abab", "a"])
mj = model_json(models.WordPiece(wv, unk_token="[UNK]"))
del mj["type"]
add_model("wordpiece legacy no type", models.WordPiece(wv, unk_token="[UNK]"), pieces, mj)

tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
tok.train_from_iterator(corpus, trainers.WordPieceTrainer(vocab_size=400, show_progress=False,
                                                          special_tokens=["[UNK]"]))
pieces = []
for t in test_texts:
    pieces += [p for p, _ in tok.pre_tokenizer.pre_tokenize_str(t)]
add_model("wordpiece trained", tok.model, sorted(set(pieces)))

# ---------------------------------------------------------------- WordLevel
wl = {"hello": 0, "world": 1, "<unk>": 2, "": 3}
add_model("wordlevel", models.WordLevel(wl, unk_token="<unk>"), ["hello", "world", "x", "Hello", ""])
add_model("wordlevel no unk", models.WordLevel({"a": 0}, unk_token="<unk>"), ["a", "b"])

# ---------------------------------------------------------------- Unigram
uv = [("<unk>", 0.0), ("a", 0.0), ("b", 0.0), ("c", 0.0), ("d", 0.0), ("cd", 1.0), ("ab", 2.0),
      ("abc", 5.0), ("abcd", 10.0)]
pieces = ["abcdacdxx", "abcd", "xx", "axbxc", "", "é", "abé", "ddd", "<unk>", "x<unk>y"]
add_model("unigram hand", models.Unigram(uv, 0, False), pieces)
add_model("unigram hand unk=None", models.Unigram(uv, None, False), pieces)
uv2 = [("▁", -1.0), ("<unk>", 0.0), ("▁a", -2.0), ("a", -1.5), ("b", -1.7), ("ab", -3.0),
       ("ba", -3.0), ("▁ab", -2.5), ("aa", -3.0), ("<s>", 0.0)]
uv2 += [(f"<0x{b:02X}>", 0.0) for b in range(256)]
for bf in (False, True):
    add_model(f"unigram byte_fallback={bf}", models.Unigram(uv2, 1, bf),
              ["▁ab", "▁abab", "▁aaa", "ba", "▁é", "x", "▁xé日", "aaaa", "▁", "ab<unk>"])
# Ties: equal scores (first-inserted / longest wins as in tokenizers).
uv3 = [("<unk>", -5.0), ("a", -1.0), ("aa", -2.0), ("aaa", -3.0), ("b", -1.0), ("ab", -2.0)]
add_model("unigram ties", models.Unigram(uv3, 0, False), ["a", "aa", "aaa", "aaaa", "ab", "aab", "abab"])
mj = model_json(models.Unigram(uv, 0, False))
del mj["type"]
add_model("unigram legacy no type", models.Unigram(uv, 0, False), ["abcdacdxx", "xx"], mj)

tok = Tokenizer(models.Unigram())
tok.pre_tokenizer = pre_tokenizers.Metaspace()
tok.train_from_iterator(corpus, trainers.UnigramTrainer(vocab_size=300, show_progress=False,
                                                        special_tokens=["<unk>"], unk_token="<unk>"))
pieces = []
for t in test_texts:
    pieces += [p for p, _ in tok.pre_tokenizer.pre_tokenize_str(t)]
add_model("unigram trained", tok.model, sorted(set(pieces)))


# ---------------------------------------------------------------- Decoders
def dec_case(name, dec_json, token_lists):
    """`dec_json` is loaded by `tokenizers` itself (so legacy fields are honoured)."""
    t = Tokenizer(models.WordLevel({"a": 0}, unk_token="a"))
    full = json.loads(t.to_str())
    full["decoder"] = dec_json
    t = Tokenizer.from_str(json.dumps(full))
    out = []
    for tl in token_lists:
        try:
            out.append([tl, t.decoder.decode(tl)])
        except Exception as e:  # noqa: BLE001
            out.append([tl, {"error": str(e)}])
    cases["decoders"].append({"name": name, "decoder": dec_json, "cases": out})


bl = pre_tokenizers.ByteLevel(add_prefix_space=False)
bl_tokens = [[p for p, _ in bl.pre_tokenize_str(s)] for s in
             ["Hello world", " héllo 日本 😀", "a\nb\tc", "  "]]
bl_tokens += [["Ġhe", "llo", "é"], ["Ã"], ["ðŁ", "ĺ"], ["ðŁĺĢ"], []]
dec_case("ByteLevel", {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True,
                       "use_regex": True}, bl_tokens)
wp_tokens = [["un", "##aff", "##able"], ["hello", ",", "world", "!"], ["i", "do", "not", "know", "."],
             ["it", "'", "s", "isn", "'", "t"], ["a", "##", "b"], ["##a", "b"], [],
             ["he", "'", "s", "we", "'re", "you", "'ve", "i", "'m", "don", "n't", "?"]]
dec_case("WordPiece", {"type": "WordPiece", "prefix": "##", "cleanup": True}, wp_tokens)
dec_case("WordPiece no cleanup", {"type": "WordPiece", "prefix": "##", "cleanup": False}, wp_tokens)
dec_case("WordPiece @@", {"type": "WordPiece", "prefix": "@@", "cleanup": True},
         [["a", "@@b", "c"], ["x", "##y"]])
ms_tokens = [["▁Hey", "▁friend!"], ["▁a▁b", "▁c"], ["Hey", "▁you"], ["▁", "▁"], ["x▁"], []]
for scheme in ("always", "never", "first"):
    dec_case(f"Metaspace {scheme}", {"type": "Metaspace", "replacement": "▁",
                                     "prepend_scheme": scheme, "split": True}, ms_tokens)
dec_case("Metaspace legacy add_prefix_space=true",
         {"type": "Metaspace", "replacement": "▁", "add_prefix_space": True}, ms_tokens)
# (`add_prefix_space: false` alone is rejected by `tokenizers` >= 0.19; the Rust side reads it as
# prepend_scheme "never", tested by hand there.)
dec_case("Metaspace custom _", {"type": "Metaspace", "replacement": "_", "add_prefix_space": True},
         [["_a_b", "_c"]])
dec_case("BPEDecoder", {"type": "BPEDecoder", "suffix": "</w>"},
         [["hel", "lo</w>", "wor", "ld</w>"], ["a</w>"], ["a</w>b</w>", "c</w>"], []])
dec_case("ByteFallback", {"type": "ByteFallback"},
         [["<0x61>", "b", "<0xE6>", "<0x97>", "<0xA5>", "c"], ["<0xE6>", "<0x97>"],
          ["<0xE6>", "x", "<0xff>"], ["<0xZZ>", "<0x+1>", "<0x1>", "<0x0A>"], ["<0xC3>", "<0xA9>"], []])
dec_case("Fuse", {"type": "Fuse"}, [["a", "b", " c"], []])
dec_case("Strip", {"type": "Strip", "content": " ", "start": 1, "stop": 0},
         [[" a", "  b", "c ", " "], []])
dec_case("Strip both", {"type": "Strip", "content": "x", "start": 2, "stop": 2},
         [["xxaxx", "xaxxx", "xxxxxa", "a"]])
dec_case("Replace string", {"type": "Replace", "pattern": {"String": "▁"}, "content": " "},
         [["▁a▁▁b", "c▁"], []])
dec_case("Replace regex", {"type": "Replace", "pattern": {"Regex": "a+"}, "content": "-"},
         [["baaac", "a", "xyz"]])
ctc_tokens = [["<pad>", "h", "h", "e", "<pad>", "l", "l", "<pad>", "l", "o", "|", "w", "o", "|"],
              ["a", "a", "|", "|", "b", ".", "|"], [], ["<pad>"]]
dec_case("CTC", {"type": "CTC", "pad_token": "<pad>", "word_delimiter_token": "|", "cleanup": True},
         ctc_tokens)
dec_case("CTC no cleanup", {"type": "CTC", "pad_token": "<pad>", "word_delimiter_token": "|",
                            "cleanup": False}, ctc_tokens)
llama = {"type": "Sequence", "decoders": [
    {"type": "Replace", "pattern": {"String": "▁"}, "content": " "},
    {"type": "ByteFallback"}, {"type": "Fuse"},
    {"type": "Strip", "content": " ", "start": 1, "stop": 0}]}
dec_case("Sequence llama", llama,
         [["▁Hello", "▁world", "<0xE6>", "<0x97>", "<0xA5>", "!"], ["▁", "▁a"], ["<0xE6>"], []])

OUT.write_text(json.dumps(cases, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")
