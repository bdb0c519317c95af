"""Data: loading, validation, synthetic tasks, scaling and windowing."""
