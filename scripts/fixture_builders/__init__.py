"""Fixture builders, one module per model family; ``make_fixtures.load_builder_modules`` imports them."""
