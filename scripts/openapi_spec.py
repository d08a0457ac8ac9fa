"""Write the app's OpenAPI description to a file, from create_app and no server (the phone app's
typed client is generated from it): .venv/bin/python scripts/openapi_spec.py [OUT]

Default OUT: web/packages/api/openapi.json. `--check` exits 1 when that file differs from the app."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "web" / "packages" / "api" / "openapi.json"


def spec_text() -> str:
    from inspect_api.app import create_app
    from inspect_api.config import Config
    from inspect_api.extensions import api

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(Config({"INSPECT_DATABASE_URL": f"sqlite:///{tmp}/spec.db", "INSPECT_INSTANCE_DIR": tmp}))
        with app.app_context():
            spec = api.spec.to_dict()
    return json.dumps(spec, ensure_ascii=False, indent=1, sort_keys=True) + "\n"


def main(argv: list[str]) -> int:
    check = "--check" in argv
    args = [a for a in argv if a != "--check"]
    out = Path(args[0]) if args else DEFAULT_OUT
    text = spec_text()
    if check:
        if not out.exists() or out.read_text(encoding="utf-8") != text:
            print(f"{out} is stale: run .venv/bin/python scripts/openapi_spec.py && (cd web && npm run gen:api)",
                  file=sys.stderr)
            return 1
        return 0
    out.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
