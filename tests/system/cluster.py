"""A province's deployment in miniature, on this machine: app nodes (each a real gunicorn with its own
instance folder) on one PostgreSQL database and one S3-compatible bucket (moto's S3 server on
loopback standing in for OSS / MinIO), optionally behind Debian's nginx, with schedulers and media and
render workers as separate processes. Used by tests/system/test_two_nodes.py and
`scripts/bench.py --two-nodes`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from inspect_api.config import PROJECT_ROOT
from tests.system.server import BIN, LiveServer, free_port, server_database_url

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)


class S3Server:
    """moto's S3 server in a thread of this process, with one bucket."""

    def __init__(self, bucket: str = "inspect-evidence"):
        from moto.server import ThreadedMotoServer

        self.port = free_port()
        self.bucket = bucket
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict:
        return {"INSPECT_STORAGE": "s3", "INSPECT_S3_BUCKET": self.bucket, "INSPECT_S3_ENDPOINT_URL": self.endpoint,
                "INSPECT_S3_PREFIX": "inspect", "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
                "AWS_DEFAULT_REGION": "us-east-1"}

    def client(self):
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint, aws_access_key_id="test",
                            aws_secret_access_key="test", region_name="us-east-1")

    def start(self) -> S3Server:
        self._server.start()
        self.client().create_bucket(Bucket=self.bucket)
        return self

    def keys(self, prefix: str = "") -> list[str]:
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
        return sorted(o["Key"] for page in pages for o in page.get("Contents", []))

    def stop(self) -> None:
        self._server.stop()


class Cluster:
    """`nodes` gunicorn servers on one database and one bucket; `nginx` in front when asked for."""

    def __init__(self, tmp: Path, pg_url: str, s3: S3Server, *, nodes: int = 2, workers: int | list[int] = 2,
                 env: dict | None = None):
        self.tmp = tmp
        self.database_url = server_database_url(pg_url, tmp)
        self.s3 = s3
        extra = {**s3.env(), "INSPECT_PROXY_HOPS": "1", **(env or {})}
        counts = workers if isinstance(workers, list) else [workers] * nodes
        self.nodes = [LiveServer(self.database_url, tmp / f"node{i}", workers=n, env=extra)
                      for i, n in enumerate(counts)]
        self.procs: list[subprocess.Popen] = []
        self.nginx: subprocess.Popen | None = None
        self.port: int | None = None  # nginx's

    @property
    def env(self) -> dict:
        return self.nodes[0].env

    def start(self) -> Cluster:
        self.nodes[0].prepare()  # migrations, checklists, demo data: once, for the shared database
        for node in self.nodes:
            node.start()
        return self

    def start_nginx(self, nodes: list[LiveServer] | None = None) -> int:
        """nginx (Debian's) in front of the given nodes (default: all), round robin; its port."""
        if NGINX is None:
            raise RuntimeError("nginx is not installed (apt-get install nginx-light)")
        self.stop_nginx()
        prefix = self.tmp / "nginx"
        (prefix / "logs").mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        upstream = "\n".join(f"    server 127.0.0.1:{n.port};" for n in (nodes or self.nodes))
        conf = prefix / "nginx.conf"
        conf.write_text(NGINX_CONF.format(prefix=prefix, upstream=upstream, port=self.port))
        with open(prefix / "logs" / "stderr", "ab") as err:  # the child keeps its own descriptor
            self.nginx = subprocess.Popen([NGINX, "-p", str(prefix), "-c", str(conf), "-g", "daemon off;"],
                                          stdout=subprocess.DEVNULL, stderr=err, start_new_session=True)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                if self.front().request("GET", "/api/v1/health")[0] == 200:
                    return self.port
            time.sleep(0.1)
        raise RuntimeError(f"nginx did not start; see {prefix / 'logs'}")

    def front(self) -> LiveServer:
        """A client handle on nginx's port (LiveServer's request/token helpers)."""
        handle = LiveServer.__new__(LiveServer)
        handle.port = self.port
        return handle

    def spawn(self, *args: str, log: str) -> subprocess.Popen:
        """An `inspect-api …` process (scheduler, media or render worker) on the cluster's settings."""
        with open(self.tmp / log, "ab") as out:  # the child keeps its own descriptor
            proc = subprocess.Popen([str(BIN / "inspect-api"), *args],
                                    env={**self.env, "INSPECT_INSTANCE_DIR": str(self.tmp / f"proc-{len(self.procs)}")},
                                    cwd=PROJECT_ROOT, stdout=out, stderr=out, start_new_session=True)
        self.procs.append(proc)
        return proc

    def stop_nginx(self) -> None:
        if self.nginx is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.nginx.pid, signal.SIGTERM)
            self.nginx.wait(timeout=10)
            self.nginx = None

    def stop(self) -> None:
        self.stop_nginx()
        for proc in self.procs:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(timeout=10)
        for node in self.nodes:
            node.stop()


NGINX_CONF = """
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/logs/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    upstream inspect_api {{
{upstream}
        keepalive 32;
    }}
    server {{
        listen 127.0.0.1:{port};
        client_header_timeout 10s;
        client_body_timeout 30s;
        client_max_body_size 25m;
        client_body_buffer_size 1m;
        location / {{
            proxy_pass http://inspect_api;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_request_buffering on;
            proxy_buffering on;
            proxy_read_timeout 120s;
        }}
    }}
}}
"""
