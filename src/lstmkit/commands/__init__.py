"""Typer sub-applications of the `lstmkit` command line, one module per job."""
