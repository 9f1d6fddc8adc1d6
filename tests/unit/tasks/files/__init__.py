"""Unit tests for tasks/files/ (the tree mirrors the code)."""
