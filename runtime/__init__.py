"""ulde.runtime: torch-free streaming inference (numpy + one interpreter)."""
