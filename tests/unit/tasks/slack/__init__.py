"""Unit tests for tasks/slack/ (the tree mirrors the code)."""
