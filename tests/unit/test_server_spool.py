"""A request read in full by the worker's event loop, as gunicorn's parser then reads it from the buffer
(inspect_api/server_worker.SpoolUnreader)."""

from __future__ import annotations

import os
import socket
import tempfile

from gunicorn.http.body import Body, LengthReader

from inspect_api.server_worker import SPOOL_CHUNK, SPOOL_IN_MEMORY, SpoolUnreader


def test_a_camera_sized_body_reaches_the_application_whole_a_chunk_at_a_time_and_the_next_request_stays():
    body = os.urandom(4_000_000)  # a phone camera's photo
    following = b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n\r\n"  # a next request sent early
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115 (closed by the reader)
    spool.write(body + following)
    spool.seek(0)
    a, b = socket.socketpair()
    try:
        unreader = SpoolUnreader(a, spool)
        handed = []
        chunk = unreader.chunk

        def counted(size_hint=None):
            data = chunk(size_hint)
            handed.append(len(data))
            return data

        unreader.chunk = counted
        reader = Body(LengthReader(unreader, len(body)))
        got = bytearray()
        while piece := reader.read(64 * 1024):  # as werkzeug's form parser reads it
            got += piece
        assert bytes(got) == body
        # gunicorn's Unreader copies what it holds beyond each read: handed the whole body at once,
        # it copied the rest of a 4 MB photo again on each of some 60 reads
        assert max(handed) <= SPOOL_CHUNK and sum(handed) >= len(body)
        unreader.release()
        assert unreader.buf.getvalue() == following
    finally:
        a.close()
        b.close()
