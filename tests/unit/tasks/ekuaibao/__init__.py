"""Unit tests for tasks/ekuaibao/ (the tree mirrors the code)."""
