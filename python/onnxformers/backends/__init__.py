"""Inference backends. Only ONNX Runtime today (see :mod:`onnxformers.backends.onnx`)."""
