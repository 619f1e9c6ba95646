"""Generators that only work in a source checkout (not shipped): see README.md."""
