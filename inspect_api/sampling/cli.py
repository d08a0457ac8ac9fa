"""`inspect-api sampling verify PLAN_ID|--file FILE`: re-run a draw and show every difference."""

from __future__ import annotations

import json
import sys

import click
from flask.cli import with_appcontext


@click.group("sampling")
def sampling_cli():
    """Random-sampling plans (双随机)."""


@sampling_cli.command("verify")
@click.argument("plan_id", type=int, required=False)
@click.option("--file", "path", type=click.Path(exists=True, dir_okay=False),
              help="a published draw (inputs, result, seed) instead of a stored plan")
@with_appcontext
def verify(plan_id, path):
    """Re-run a draw from its inputs and seed; exit 1 naming every difference."""
    if (plan_id is None) == (path is None):
        raise click.UsageError("give a PLAN_ID or --file, not both")
    if path:
        from inspect_api.sampling import rules

        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
        try:
            plan, units, inspectors, days = rules.inputs_from_dict(data["inputs"])
            expected = rules.result_from_dict(data["result"])
            seed = data["seed"] + (f":{data['public_entropy']}" if data.get("public_entropy") else "")
        except (KeyError, TypeError, ValueError) as exc:
            raise click.ClickException(f"not a published draw: {exc}") from exc
        problems = []
        if not rules.check_commitment(data["seed"], data.get("seed_commitment") or ""):
            problems.append("种子与公布的承诺值不符 (seed does not match the commitment)")
        # the commitment covers the secret seed; the public value is joined to it after the commitment
        problems += rules.verify(plan, units, inspectors, days, seed, expected)
    else:
        from inspect_api.errors import NotFound
        from inspect_api.sampling import services

        try:
            plan_row = services.get_plan(plan_id)
        except NotFound as exc:
            raise click.ClickException(exc.message) from exc
        problems = services.verify(plan_row)
    if not problems:
        click.echo("verified: the draw re-runs to the same result")
        return
    for p in problems:
        click.secho(p, fg="red")
    sys.exit(1)
