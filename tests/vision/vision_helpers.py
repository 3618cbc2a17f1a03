"""Paths shared by the vision tests (a module of its own: tests/ folders are not packages)."""

from __future__ import annotations

from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
IMAGES = FIXTURES / "images"
MODELS = FIXTURES / "models"
