"""Broker plumbing: the embedded SQLite transport, Redis tuning, and the reachability probe."""
