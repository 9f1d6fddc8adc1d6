"""State shared by every bot and worker: de-duplication, the reply ledger, the report cache."""
