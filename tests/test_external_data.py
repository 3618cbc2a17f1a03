"""Models whose weights live in an external ``.onnx_data`` file, locally and over the Hub."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")

from onnxformers import FileMissingError, pipeline  # noqa: E402

MODELS = Path(__file__).parent / "fixtures" / "models"
SOURCE = MODELS / "tiny-bert-feature-extraction"


@pytest.fixture(scope="module")
def external_model(tmp_path_factory) -> Path:
    """The tiny BERT with every initializer moved to onnx/model.onnx_data, and config.json asking
    for the external file (Transformers.js' ``use_external_data_format``)."""
    folder = tmp_path_factory.mktemp("ext") / "tiny-bert-external"
    shutil.copytree(SOURCE, folder, ignore=shutil.ignore_patterns("*.onnx"))
    model = onnx.load(str(SOURCE / "onnx" / "model.onnx"))
    onnx.save_model(model, str(folder / "onnx" / "model.onnx"), save_as_external_data=True,
                    all_tensors_to_one_file=True, location="model.onnx_data", size_threshold=0)
    assert (folder / "onnx" / "model.onnx").stat().st_size < 60_000  # weights really moved out
    config = json.loads((folder / "config.json").read_text())
    config["transformers.js_config"] = {"use_external_data_format": True}
    (folder / "config.json").write_text(json.dumps(config))
    return folder


def expected(texts):
    return pipeline("feature-extraction", str(SOURCE))(texts, pooling="mean", normalize=True)


TEXTS = ["external weights", "the same numbers as the single-file model"]


def test_local_folder(external_model):
    got = pipeline("feature-extraction", str(external_model))(TEXTS, pooling="mean", normalize=True)
    np.testing.assert_allclose(got, expected(TEXTS), atol=1e-6)


def test_over_the_hub_downloads_the_data_file(external_model, hub):
    repo = "fixtures/tiny-bert-external"
    hub.server.add_repo_from_folder(repo, external_model)
    got = pipeline("feature-extraction", repo)(TEXTS, pooling="mean", normalize=True)
    np.testing.assert_allclose(got, expected(TEXTS), atol=1e-6)
    # asked for by name (large files are then fetched from the redirect host, as on the Hub)
    assert hub.server.requests_for("onnx/model.onnx_data")
    cached = list(Path(hub.cache_dir).rglob("model.onnx_data"))
    assert cached and cached[0].parent == next(Path(hub.cache_dir).rglob("model.onnx")).parent


def test_missing_data_file_is_a_clear_error(external_model, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(external_model, broken)
    (broken / "onnx" / "model.onnx_data").unlink()
    with pytest.raises(FileMissingError, match="model.onnx_data"):
        pipeline("feature-extraction", str(broken))


def test_option_per_call(external_model, tmp_path):
    # without the config flag, the per-call option (a per-file dict) asks for the data file
    folder = tmp_path / "noflag"
    shutil.copytree(external_model, folder)
    config = json.loads((folder / "config.json").read_text())
    config.pop("transformers.js_config")
    (folder / "config.json").write_text(json.dumps(config))
    from onnxformers import AutoModel

    model = AutoModel.from_pretrained(str(folder), use_external_data_format={"model": True})
    assert "model" in model.sessions
