"""Unit tests for bot/ (the tree mirrors the code)."""
