"""Where files live, behind one interface: a local directory (default) or S3-compatible object
storage (boto3) for deployments with several app servers.

Keys are relative paths such as `originals/ab/abcd….jpg`. `put` returns only once the bytes are
durable (fsync of the file and its directory locally; a completed PUT on S3). `delete` and `walk`
(stored files under some folders, with their modification times) serve the sweep of photo files no
evidence row names (visits/orphans.py).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from flask import current_app

CHUNK = 1024 * 1024


# --- intake: every upload (evidence photos, attachments) is first written to scratch while hashed ---

@dataclass
class Received:
    """An upload written to local scratch space while it was hashed."""

    path: Path
    sha256: str
    size: int


class HashedSpool:
    """A multipart file part written straight into the store's scratch space, hashed as the parser
    writes it (`UploadRequest`): `receive` then takes the file over instead of copying it.

    Until it is taken, the spool owns its file and removes it when closed (the request's end closes
    it). Taken, the file is the taker's (as `receive`'s is), and the spool only closes its handle.
    Reads and seeks go to the file; a write after the spool was read back, or after it was taken,
    is refused, so the hash is always that of the bytes written."""

    def __init__(self, scratch_dir: Path):
        fd, name = tempfile.mkstemp(dir=scratch_dir, prefix="upload-", suffix=".part")
        self.path = Path(name)
        self._file = os.fdopen(fd, "w+b")
        self._digest = hashlib.sha256()
        self._size = 0
        self._writing = True
        self._owned = True

    def write(self, data) -> int:
        if not self._writing:
            raise ValueError("a hashed spool is written once, from its start")
        self._digest.update(data)
        self._size += len(data)
        return self._file.write(data)

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        self._writing = False  # the parser seeks back once the part is written
        return self._file.seek(offset, whence)

    def __getattr__(self, name):  # read, readline, tell, fileno, flush, readable, seekable …
        return getattr(self._file, name)

    def __iter__(self):
        return iter(self._file)

    def take(self, *, sync: bool) -> Received:
        """The file, its SHA-256 and size, handed over: the caller removes the file."""
        self._writing = False
        self._file.flush()
        if sync:
            os.fsync(self._file.fileno())
        self._owned = False
        return Received(self.path, self._digest.hexdigest(), self._size)

    def close(self) -> None:
        self._file.close()
        if self._owned:
            self._owned = False
            self.path.unlink(missing_ok=True)

    @property
    def closed(self) -> bool:
        return self._file.closed


def receive(stream, scratch_dir: Path, *, sync: bool = True) -> Received:
    """Copy the upload to a scratch file, hashing as it goes. The caller removes the file. A part
    the request already spooled there while hashing it (`HashedSpool`) is taken over, not copied.

    `sync=False`: the file is not fsynced here; the caller starts that itself (`fsync_later`) to
    overlap it with the checks, and waits for it before the bytes count as stored."""
    if isinstance(stream, HashedSpool) and stream.path.parent == Path(scratch_dir) and stream.tell() == 0:
        return stream.take(sync=sync)
    digest = hashlib.sha256()
    size = 0
    fd, name = tempfile.mkstemp(dir=scratch_dir, prefix="upload-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := stream.read(1024 * 1024):
                digest.update(chunk)
                size += len(chunk)
                out.write(chunk)
            out.flush()
            if sync:
                os.fsync(out.fileno())
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    return Received(Path(name), digest.hexdigest(), size)


_FSYNC_THREADS = 4
_fsync_pool: ThreadPoolExecutor | None = None
_fsync_pool_lock = threading.Lock()


def _fsync_executor() -> ThreadPoolExecutor:
    """This process's fsync threads, started once. A new thread for each fsync cost its starter a wait
    for the new thread's first turn on the interpreter lock (one or two switch intervals, 5 ms each, on
    a busy worker): in a peak morning, `Thread.start` was a sixth of the upload path's samples."""
    global _fsync_pool
    with _fsync_pool_lock:
        if _fsync_pool is None:
            _fsync_pool = ThreadPoolExecutor(max_workers=_FSYNC_THREADS, thread_name_prefix="fsync")
        return _fsync_pool


def _forget_fsync_pool() -> None:  # a forked child has none of its parent's threads
    global _fsync_pool, _fsync_pool_lock
    _fsync_pool, _fsync_pool_lock = None, threading.Lock()


os.register_at_fork(after_in_child=_forget_fsync_pool)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_later(path: Path) -> Callable[[], None]:
    """fsync a file or directory in one of this process's fsync threads (the disk works while the
    caller checks the image or writes the row); returns the wait, which re-raises the fsync's error.
    Nothing may count as stored before the wait returned."""
    done = _fsync_executor().submit(_fsync, path)

    def wait() -> None:
        done.result()
    return wait


def _done() -> None:
    return None


class StorageError(Exception):
    pass


def _check_key(key: str) -> str:
    parts = key.split("/")
    if not key or key.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise StorageError(f"bad storage key {key!r}")
    return key


SCRATCH_PATTERNS = ("*.part", "*.tmp", "*.jpg")  # uploads being received, copies being made


def remove_stale(paths, before_ts: float) -> int:
    """Delete the files among `paths` last modified before `before_ts` (a POSIX time); their count.
    A file that vanished meanwhile (another clean-up, a finished upload) is not an error."""
    removed = 0
    for path in paths:
        try:
            if path.is_file() and path.stat().st_mtime < before_ts:
                path.unlink()
                removed += 1
        except FileNotFoundError:
            continue
    return removed


class LocalStorage:
    kind = "local"

    def stale_scratch(self) -> list[Path]:
        """What a killed process can leave behind: `.incoming/*` (uploads and copies in the making)
        and `.<name>.<hex>.tmp` next to where a file was being moved in."""
        found: list[Path] = []
        incoming = self.root / ".incoming"
        if incoming.is_dir():
            for pattern in SCRATCH_PATTERNS:
                found.extend(incoming.glob(pattern))
        if self.root.is_dir():
            found.extend(p for p in self.root.rglob(".*.tmp") if ".incoming" not in p.parts)
        return found

    def __init__(self, root: str):
        self.root = Path(root)

    def path(self, key: str) -> Path:
        return self.root / _check_key(key)

    def scratch_dir(self) -> Path:
        """A folder on the same file system as the store, so finished uploads move in atomically."""
        d = self.root / ".incoming"
        d.mkdir(parents=True, exist_ok=True)
        return d

    def put(self, key: str, src: Path) -> None:
        """Copy a finished local file under `key`, durably. An existing key is kept: keys are
        content-addressed, so the same key means the same bytes."""
        dest = self.path(key)
        if dest.exists():
            return
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.parent / f".{dest.name}.{uuid.uuid4().hex}.tmp"
        shutil.copyfile(src, tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, dest)
        fd = os.open(dest.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def move_in(self, key: str, src: Path) -> Callable[[], None]:
        """Link a fsynced scratch file of this store (`receive`) in under `key`; the directory's fsync
        runs in a thread: returns its wait. An existing key is kept (the same bytes). `src` is left for
        the caller to remove."""
        dest = self.path(key)
        if dest.exists():
            return _done
        if src.parent != self.root / ".incoming":
            self.put(key, src)
            return _done
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(src, 0o644)  # what a copy would get: mkstemp makes scratch files private
        # A hard link, not a rename: `src` stays until the caller removes it, so a caller that finds
        # the key gone again under its lock (a refused upload of the same bytes removed it) can move it
        # in once more. Linking fails when the key exists, so of two at once exactly one places it.
        try:
            os.link(src, dest)
        except FileExistsError:
            return _done
        except OSError:  # a file system without hard links
            self.put(key, src)
            return _done
        return fsync_later(dest.parent)

    def delete(self, key: str) -> None:
        """Remove the file under `key`; a missing one is not an error. Empty folders stay (a
        concurrent `put` may be about to write into one)."""
        self.path(key).unlink(missing_ok=True)

    def walk(self, prefixes: Iterable[str]) -> Iterator[tuple[str, datetime]]:
        """Every stored file under the folders `prefixes` (e.g. `originals/`), with when it was last
        written (UTC); hidden files (a `put` in progress) are not stored files and are left out."""
        for prefix in prefixes:
            top = self.root / prefix.strip("/")
            for folder, dirs, files in os.walk(top):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    if name.startswith("."):
                        continue
                    path = Path(folder) / name
                    try:
                        mtime = path.stat().st_mtime
                    except FileNotFoundError:  # removed meanwhile
                        continue
                    yield path.relative_to(self.root).as_posix(), datetime.fromtimestamp(mtime, UTC)

    def exists(self, key: str) -> bool:
        return self.path(key).exists()

    def open(self, key: str) -> BinaryIO:
        return open(self.path(key), "rb")

    def iter_bytes(self, key: str) -> Iterator[bytes]:
        with self.open(key) as fh:
            while chunk := fh.read(CHUNK):
                yield chunk

    def size(self, key: str) -> int:
        return self.path(key).stat().st_size

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
            return {"status": "ok", "kind": self.kind, "free_bytes": st.f_bavail * st.f_frsize}
        except OSError as exc:
            return {"status": "error", "kind": self.kind, "message": exc.strerror or str(exc)}


class S3Storage:
    """S3-compatible object storage. Scratch files stay on local disk until they are complete."""

    kind = "s3"
    list_page = 1000  # keys per list_objects_v2 page (S3's own most)

    def __init__(self, bucket: str, *, endpoint_url: str | None = None, prefix: str = "", scratch: str,
                 client=None):
        import boto3

        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.client = client or boto3.client("s3", endpoint_url=endpoint_url or None)
        self._scratch = Path(scratch)

    def _key(self, key: str) -> str:
        key = _check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def scratch_dir(self) -> Path:
        self._scratch.mkdir(parents=True, exist_ok=True)
        return self._scratch

    def stale_scratch(self) -> list[Path]:
        found: list[Path] = []
        if self._scratch.is_dir():
            for pattern in SCRATCH_PATTERNS:
                found.extend(self._scratch.glob(pattern))
        return found

    def put(self, key: str, src: Path) -> None:
        if self.exists(key):
            return
        with open(src, "rb") as fh:
            self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=fh)

    def move_in(self, key: str, src: Path) -> Callable[[], None]:
        """An upload (complete when it returns): `src` stays for the caller to remove."""
        self.put(key, src)
        return _done

    def delete(self, key: str) -> None:
        """Remove the object under `key`; S3 answers a missing key's delete as done."""
        self.client.delete_object(Bucket=self.bucket, Key=self._key(key))

    def walk(self, prefixes: Iterable[str]) -> Iterator[tuple[str, datetime]]:
        """Every object under the folders `prefixes`, with its LastModified (UTC), a page at a time."""
        paginator = self.client.get_paginator("list_objects_v2")
        strip = len(self.prefix) + 1 if self.prefix else 0
        for prefix in prefixes:
            folder = prefix.strip("/") + "/"
            pages = paginator.paginate(Bucket=self.bucket, Prefix=f"{self.prefix}/{folder}" if self.prefix else folder,
                                       PaginationConfig={"PageSize": self.list_page})
            for page in pages:
                for obj in page.get("Contents", []):
                    yield obj["Key"][strip:], obj["LastModified"].astimezone(UTC)

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
            return True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise

    def open(self, key: str) -> BinaryIO:
        return self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"]

    def iter_bytes(self, key: str) -> Iterator[bytes]:
        body = self.open(key)
        try:
            yield from body.iter_chunks(CHUNK)
        finally:
            body.close()

    def size(self, key: str) -> int:
        return self.client.head_object(Bucket=self.bucket, Key=self._key(key))["ContentLength"]

    def status(self) -> dict:
        try:
            self.client.head_bucket(Bucket=self.bucket)
            return {"status": "ok", "kind": self.kind, "bucket": self.bucket}
        except Exception as exc:  # any client or network failure is a status, not a crash
            return {"status": "error", "kind": self.kind, "message": type(exc).__name__}


def build_storage(config) -> LocalStorage | S3Storage:
    if config["INSPECT_STORAGE"] == "s3":
        return S3Storage(
            config["INSPECT_S3_BUCKET"],
            endpoint_url=config.get("INSPECT_S3_ENDPOINT_URL"),
            prefix=config.get("INSPECT_S3_PREFIX", ""),
            scratch=str(Path(config["INSPECT_INSTANCE_DIR"]) / "incoming"),
        )
    return LocalStorage(config["INSPECT_STORAGE_DIR"])


def get_storage() -> LocalStorage | S3Storage:
    ext = current_app.extensions
    if "inspect_storage" not in ext:
        ext["inspect_storage"] = build_storage(current_app.config)
    return ext["inspect_storage"]
