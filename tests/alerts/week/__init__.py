"""A simulated province week on the real ingest path: the measure of issue 19."""
