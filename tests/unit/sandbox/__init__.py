"""Unit tests for sandbox/ (the tree mirrors the code)."""
