"""Both storage back ends behind one interface: a local directory and S3-compatible storage
(moto's S3 server on loopback, spoken to over real HTTP by boto3)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer

from inspect_api.core.storage import LocalStorage, S3Storage, StorageError
from tests.system.server import free_port


@pytest.fixture(scope="module")
def s3_endpoint():
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture()
def s3(s3_endpoint, tmp_path, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    client = boto3.client("s3", endpoint_url=s3_endpoint)
    bucket = f"evidence-{tmp_path.name.lower().replace('_', '-')[:40]}"
    client.create_bucket(Bucket=bucket)
    return S3Storage(bucket, endpoint_url=s3_endpoint, prefix="inspect", scratch=str(tmp_path / "scratch"))


@pytest.fixture()
def local(tmp_path):
    return LocalStorage(str(tmp_path / "store"))


@pytest.fixture(params=["local", "s3"])
def storage(request):
    return request.getfixturevalue(request.param)


def test_put_read_and_status(storage, tmp_path):
    data = bytes(range(256)) * 9000  # over 2 MiB, several read chunks
    src = tmp_path / "src.bin"
    src.write_bytes(data)
    key = f"originals/ab/{hashlib.sha256(data).hexdigest()}.jpg"
    assert not storage.exists(key)
    storage.put(key, src)
    assert storage.exists(key) and storage.size(key) == len(data)
    assert b"".join(storage.iter_bytes(key)) == data
    storage.put(key, src)  # content-addressed: putting the same key again is a no-op
    assert storage.status()["status"] == "ok"
    assert Path(storage.scratch_dir()).is_dir()


@pytest.mark.parametrize("key", ["", "/etc/passwd", "../x", "a/../../b", "a//b"])
def test_keys_cannot_escape_the_store(storage, tmp_path, key):
    src = tmp_path / "f"
    src.write_bytes(b"x")
    with pytest.raises(StorageError):
        storage.put(key, src)


def test_s3_status_reports_a_missing_bucket(s3_endpoint, tmp_path, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    storage = S3Storage("no-such-bucket", endpoint_url=s3_endpoint, scratch=str(tmp_path))
    assert storage.status()["status"] == "error"


def test_local_put_leaves_no_temporary_files(local, tmp_path):
    src = tmp_path / "src"
    src.write_bytes(b"photo bytes")
    local.put("originals/aa/x.jpg", src)
    assert sorted(p.name for p in (Path(local.root) / "originals" / "aa").iterdir()) == ["x.jpg"]


def test_fsyncs_run_on_the_process_s_few_fsync_threads_and_their_errors_reach_the_waiter(tmp_path, monkeypatch):
    """An upload's fsyncs go to threads started once: starting a thread for each cost the request a
    wait for that thread's first turn on a busy worker (scripts/bench_county.py's morning)."""
    import threading

    from inspect_api.core import storage

    ran_on = []
    real = storage._fsync
    monkeypatch.setattr(storage, "_fsync", lambda path: (ran_on.append(threading.get_ident()), real(path))[1])
    files = []
    for i in range(12):
        f = tmp_path / f"f{i}"
        f.write_bytes(b"x" * (i + 1))
        files.append(f)
    waits = [storage.fsync_later(f) for f in files] + [storage.fsync_later(tmp_path)]
    for wait in waits:
        wait()
    assert len(ran_on) == 13 and threading.get_ident() not in ran_on
    assert len(set(ran_on)) <= storage._FSYNC_THREADS  # the same few threads, not one a call
    missing = storage.fsync_later(tmp_path / "gone")
    with pytest.raises(FileNotFoundError):
        missing()  # nothing counts as stored when its fsync failed
