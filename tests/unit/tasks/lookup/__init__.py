"""Unit tests for tasks/lookup/ (the tree mirrors the code)."""
