"""`inspect-api checklists ...` (filled in by the checklists work)."""

import click


@click.group("checklists")
def checklists_cli():
    """Validate and publish checklist templates."""
