"""Checklist templates as data: the YAML loader, its validator, and the published versions."""
