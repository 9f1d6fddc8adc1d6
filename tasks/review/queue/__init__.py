"""An approver's own questions: what waits for them (asks) and their Home tab (home)."""
