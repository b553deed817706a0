"""The composition root: the one package importing every feature (CLI, app, wiring, demo)."""
