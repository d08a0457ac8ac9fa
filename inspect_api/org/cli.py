"""`inspect-api import ...` and `inspect-api demo ...` (filled in by the import work)."""

import click


@click.group("import")
def import_cli():
    """Import the org registry from CSV or XLSX."""


@click.group("demo")
def demo_cli():
    """Demo data."""
