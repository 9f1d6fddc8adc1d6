"""Unit tests for tasks/state/ (the tree mirrors the code)."""
