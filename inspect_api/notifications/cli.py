"""`inspect-api notifications`: drain the outbox now (the scheduler does it every minute)."""

from __future__ import annotations

import json

import click
from flask.cli import with_appcontext


@click.group("notifications")
def notifications_cli():
    """Notifications outside the app: the outbox of robot, SMS and mail messages."""


@notifications_cli.command("drain")
@click.option("--limit", type=click.IntRange(1, 10_000), default=100, show_default=True,
              help="messages to send in this run at most")
@with_appcontext
def drain_cmd(limit):
    """Send the messages that are due; prints the counts (sent, retry, failed, uncertain)."""
    from inspect_api.notifications.outbox import drain

    click.echo(json.dumps(drain(limit), ensure_ascii=False))
