"""The province collector: ingest, state, /metrics, journal processing and the CLI."""
