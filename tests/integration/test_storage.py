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


def test_a_spooled_part_is_hashed_as_written_and_taken_over_not_copied(tmp_path):
    """What the request's multipart parser writes into a HashedSpool is hashed as it arrives; `receive`
    hands the same file over (no second file appears), and the taker then owns it: closing the spool
    leaves it. A spool never taken removes its file when closed (the request's end)."""
    from inspect_api.core.storage import HashedSpool, receive

    scratch = tmp_path / "scratch"
    scratch.mkdir()
    parts = [bytes([i]) * (64 * 1024 + i) for i in range(7)]  # the parser's chunks, of odd sizes
    spool = HashedSpool(scratch)
    for part in parts:
        spool.write(memoryview(part))
    spool.seek(0)  # the parser's last step
    with pytest.raises(ValueError):
        spool.write(b"more")  # the hash stays that of the part
    assert spool.read(3) == parts[0][:3]
    spool.seek(0)
    received = receive(spool, scratch, sync=True)
    data = b"".join(parts)
    assert (received.path, received.sha256, received.size) == (spool.path, hashlib.sha256(data).hexdigest(), len(data))
    assert list(scratch.iterdir()) == [received.path] and received.path.read_bytes() == data
    spool.close()
    assert received.path.read_bytes() == data  # the taker's now

    untaken = HashedSpool(scratch)
    untaken.write(b"abc")
    assert untaken.path.exists()
    untaken.close()
    assert not untaken.path.exists() and untaken.closed


def test_a_spool_already_read_or_elsewhere_is_copied_as_any_stream(tmp_path):
    """`receive` takes a spool over only from its start and in the scratch folder asked for; otherwise
    it copies what is left to read, as it copies any stream."""
    from inspect_api.core.storage import HashedSpool, receive

    here, there = tmp_path / "here", tmp_path / "there"
    here.mkdir()
    there.mkdir()
    spool = HashedSpool(here)
    spool.write(b"0123456789")
    spool.seek(4)
    rest = receive(spool, here)
    assert rest.path != spool.path and rest.size == 6 and rest.sha256 == hashlib.sha256(b"456789").hexdigest()
    spool.seek(0)
    moved = receive(spool, there)
    assert moved.path.parent == there and moved.size == 10
    spool.close()
    assert not spool.path.exists()
