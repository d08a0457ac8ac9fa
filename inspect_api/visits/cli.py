"""`inspect-api media …`: the media worker that makes each photo's display copy, thumbnail and
watermarked copy after its upload has answered; the sweep of photo files no evidence names."""

from __future__ import annotations

import logging

import click
from flask.cli import with_appcontext


@click.group("media")
def media_cli():
    """Photos: the media worker process, the orphan sweep."""


@media_cli.command("worker")
@click.option("--once", is_flag=True, help="make the copies of every photo waiting now, then stop")
@click.option("--poll", default=1.0, show_default=True, help="seconds between looks at the queue")
@with_appcontext
def worker_command(once, poll):
    """Make photos' display copies, thumbnails and watermarked copies (run one or more, on any machine)."""
    from inspect_api.visits import media

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if once:
        n = media.drain()
        click.echo(f"processed {n} photo(s)")
        return
    media.run_forever(poll)


@media_cli.command("sweep")
@click.option("--dry-run", is_flag=True, help="count what would be removed, remove nothing")
@with_appcontext
def sweep_command(dry_run):
    """Remove photo files no evidence row names, older than INSPECT_ORPHAN_GRACE_HOURS."""
    from inspect_api.db import db
    from inspect_api.visits import orphans

    result = orphans.sweep(dry_run=dry_run)
    db.session.commit()
    click.echo(f"scanned {result.scanned} photo file(s): {result.named} named by evidence, "
               f"{result.young} within the grace period, {result.orphans} orphaned, "
               f"{'would remove' if dry_run else 'removed'} {result.orphans if dry_run else result.deleted}")
