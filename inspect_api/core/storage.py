"""Where files live: a local directory by default (S3-compatible storage comes with evidence)."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from flask import current_app


class LocalStorage:
    def __init__(self, root: str):
        self.root = Path(root)

    def status(self) -> dict:
        """Writable and how much room is left; a probe file proves the write path works."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            probe = self.root / f".probe-{uuid.uuid4().hex}"
            with open(probe, "wb") as fh:
                fh.write(b"ok")
                fh.flush()
                os.fsync(fh.fileno())
            probe.unlink()
            st = os.statvfs(self.root)
            return {"status": "ok", "kind": "local", "free_bytes": st.f_bavail * st.f_frsize}
        except OSError as exc:
            return {"status": "error", "kind": "local", "message": exc.strerror or str(exc)}


def get_storage() -> LocalStorage:
    ext = current_app.extensions
    if "inspect_storage" not in ext:
        ext["inspect_storage"] = LocalStorage(current_app.config["INSPECT_STORAGE_DIR"])
    return ext["inspect_storage"]
