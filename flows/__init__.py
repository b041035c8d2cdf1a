"""Prefect flows: thin composition of the package functions (see ``newsmon.pipeline``)."""
