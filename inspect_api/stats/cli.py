"""`inspect-api stats`: rebuild and compact the statistics rollup (stats/rollup.py)."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from inspect_api.db import db


@click.group("stats")
def stats_cli():
    """The statistics rollup: rebuild it from the raw tables, or compact its delta rows."""


@stats_cli.command("rebuild")
@with_appcontext
def stats_rebuild():
    """Recompute the rollup from visits, findings and rectifications (writers wait meanwhile)."""
    from inspect_api.stats import rollup

    rows = rollup.rebuild()
    db.session.commit()
    click.echo(f"stats rollup rebuilt: {rows} rows")


@stats_cli.command("compact")
@with_appcontext
def stats_compact():
    """Fold the rollup's delta rows into one per unit, day or month (the nightly job does this too)."""
    from inspect_api.stats import rollup

    result = rollup.compact()
    db.session.commit()
    click.echo(f"stats rollup compacted: {result['rows_before']} -> {result['rows_after']} rows")
