"""Unit tests for tasks/review/ (the tree mirrors the code)."""
