"""`inspect-api documents …`: the render worker, and a bulletin draft from the command line."""

from __future__ import annotations

import logging

import click
from flask.cli import with_appcontext


@click.group("documents")
def documents_cli():
    """Documents: the render worker process."""


@documents_cli.command("worker")
@click.option("--once", is_flag=True, help="render what is queued now, then stop")
@click.option("--poll", default=2.0, show_default=True, help="seconds between looks at the queue")
@with_appcontext
def worker_command(once, poll):
    """Render queued documents, each in a child process of its own (run one or more next to the web server)."""
    from inspect_api.documents import worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if once:
        n = worker.drain()
        click.echo(f"rendered {n} job(s)")
        return
    worker.run_forever(poll)
