"""Utilities (audio, image, maths, tensor helpers)."""
