"""Unit tests for tasks/ (the tree mirrors the code)."""
