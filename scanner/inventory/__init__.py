"""The inventory: what scanner has seen, run after run (SQLite), and the drift between runs."""
