"""Tensor helpers: pooling, normalization and binary quantization."""

import numpy as np
import pytest

from onnxformers import InvalidInputError
from onnxformers.utils.maths import log_softmax, sigmoid, softmax
from onnxformers.utils.tensor import mean_pooling, normalize, quantize_embeddings


def test_mean_pooling_ignores_padding():
    hidden = np.array([[[1.0, 2.0], [3.0, 4.0], [100.0, 100.0]]], dtype=np.float32)
    mask = np.array([[1, 1, 0]])
    np.testing.assert_allclose(mean_pooling(hidden, mask), [[2.0, 3.0]])


def test_mean_pooling_all_padding_row_is_zero_not_nan():
    hidden = np.ones((1, 2, 3), dtype=np.float32)
    assert np.all(mean_pooling(hidden, np.zeros((1, 2))) == 0)


def test_normalize():
    np.testing.assert_allclose(normalize(np.array([[3.0, 4.0]])), [[0.6, 0.8]])


def test_quantize_binary_and_ubinary_by_hand():
    # bits: + - + + - - - +  →  0b10110001 = 177; binary = 177 - 128 = 49
    x = np.array([[0.5, -1, 2, 0.1, -0.2, 0.0, -3, 4]], dtype=np.float32)
    assert quantize_embeddings(x, "ubinary").tolist() == [[177]]
    assert quantize_embeddings(x, "ubinary").dtype == np.uint8
    assert quantize_embeddings(x, "binary").tolist() == [[49]]
    assert quantize_embeddings(x, "binary").dtype == np.int8


def test_quantize_rejects_bad_input():
    with pytest.raises(InvalidInputError, match="multiple of 8"):
        quantize_embeddings(np.ones((1, 12)), "binary")
    with pytest.raises(InvalidInputError, match="precision"):
        quantize_embeddings(np.ones((1, 8)), "ternary")


def test_softmax_sigmoid_are_stable():
    x = np.array([[1000.0, 0.0, -1000.0]])
    np.testing.assert_allclose(softmax(x), [[1.0, 0.0, 0.0]])
    np.testing.assert_allclose(np.exp(log_softmax(x)), softmax(x), atol=1e-12)
    np.testing.assert_allclose(sigmoid(np.array([-1000.0, 0.0, 1000.0])), [0.0, 0.5, 1.0])
