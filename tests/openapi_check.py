"""Every response the test suite receives, checked against the OpenAPI description the app serves:
its status is documented for that operation, and a JSON body validates against the documented schema.

The web apps' typed client is generated from the description, so what is sent must be what is
described. tests/conftest.py records every response of the session's app (an `after_request` hook)
and fails the run, naming each disagreement once, when any response drifts.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from openapi_schema_validator import OAS30Validator

_CONVERTER = re.compile(r"<(?:[a-z_]+:)?([a-zA-Z_][a-zA-Z0-9_]*)>")


def openapi_path(rule: str) -> str:
    """`/api/v1/visits/<visit_id>/evidence/<int:n>` -> `/api/v1/visits/{visit_id}/evidence/{n}`."""
    return _CONVERTER.sub(r"{\1}", rule)


@dataclass
class ResponseChecker:
    spec: dict
    problems: dict[str, str] = field(default_factory=dict)  # one line per (operation, status, problem)
    checked: set[tuple[str, str, int]] = field(default_factory=set)
    _validators: dict = field(default_factory=dict)

    def _validator(self, schema: dict) -> OAS30Validator:
        key = json.dumps(schema, sort_keys=True)
        if key not in self._validators:
            # refs (#/components/schemas/...) resolve against the root: give the schema the spec's components
            self._validators[key] = OAS30Validator({**schema, "components": self.spec.get("components", {})})
        return self._validators[key]

    def check(self, method: str, rule: str, status: int, mimetype: str | None, body: bytes) -> None:
        path = openapi_path(rule)
        if not path.startswith("/api/v1/") or path in ("/api/v1/openapi.json", "/api/v1/docs"):
            return  # HTML pages and the description itself
        where = f"{method} {path} {status}"
        self.checked.add((method, path, status))
        op = self.spec["paths"].get(path, {}).get(method.lower())
        if op is None:
            self.problems.setdefault(where, "operation not in the description")
            return
        responses = op.get("responses", {})
        documented = responses.get(str(status)) or responses.get(f"{str(status)[0]}XX")
        if documented is None and status >= 400:
            documented = responses.get("default")  # an error: every operation documents the Error body
        if documented is None:
            self.problems.setdefault(where, f"status not documented (documented: {sorted(responses)})")
            return
        while "$ref" in documented:  # '#/components/responses/NAME'
            documented = self.spec["components"]["responses"][documented["$ref"].rsplit("/", 1)[1]]
        content = documented.get("content") or {}
        if status == 304 or not body:
            return
        if mimetype != "application/json":
            if content and mimetype not in content and "*/*" not in content and not any(
                    m.endswith("/*") and mimetype and mimetype.startswith(m[:-1]) for m in content):
                self.problems.setdefault(where, f"sends {mimetype}, documents {sorted(content)}")
            return
        schema = (content.get("application/json") or {}).get("schema")
        if schema is None:
            self.problems.setdefault(where, "sends JSON, documents no JSON body")
            return
        try:
            data = json.loads(body)
        except ValueError:
            self.problems.setdefault(where, "body is not JSON")
            return
        error = next(iter(self._validator(schema).iter_errors(data)), None)
        if error is not None:
            at = "/".join(str(p) for p in error.absolute_path) or "(body)"
            self.problems.setdefault(where, f"body does not match its schema at {at}: {error.message[:200]}")

    def report(self) -> str:
        return "\n".join(f"  {where}: {problem}" for where, problem in sorted(self.problems.items()))
