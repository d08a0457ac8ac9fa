"""A real HTTP server on loopback that plays the 企业微信 and 钉钉 robot APIs and an SMS gateway, for
the outbox tests: it checks each request's JSON shape and, for 钉钉, the signature, and answers as
the test asks (success, an error code, a 500, or nothing at all)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class RobotServer:
    def __init__(self, dingtalk_secret: str = "SEC-test-secret"):
        self.secret = dingtalk_secret
        self.requests: list[dict] = []
        self.script: list[str] = []  # answers to give, in order; then "ok" for ever
        self.hang_seconds = 5.0
        self.received = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                parsed = urllib.parse.urlsplit(self.path)
                query = dict(urllib.parse.parse_qsl(parsed.query))
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = None
                record = {"path": parsed.path, "query": query, "body": body, "shape_ok": server._shape_ok(
                    parsed.path, body), "sign_ok": server._sign_ok(parsed.path, query)}
                server.requests.append(record)
                server.received.set()
                answer = server.script.pop(0) if server.script else "ok"
                if answer == "hang":
                    time.sleep(server.hang_seconds)
                    return
                if answer == "500":
                    self._send(500, b"internal error")
                elif answer == "errcode":
                    self._send(200, json.dumps({"errcode": 310000, "errmsg": "keywords not in content"}).encode())
                elif not (record["shape_ok"] and record["sign_ok"]):
                    self._send(200, json.dumps({"errcode": 300001, "errmsg": "bad request"}).encode())
                else:
                    self._send(200, json.dumps({"errcode": 0, "errmsg": "ok"}).encode())

            def _send(self, status, data):
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def _shape_ok(self, path: str, body) -> bool:
        if path == "/sms":
            return isinstance(body, dict) and set(body) == {"phone", "text"}
        return (isinstance(body, dict) and body.get("msgtype") == "text" and isinstance(body.get("text"), dict)
                and isinstance(body["text"].get("content"), str) and body["text"]["content"].strip() != "")

    def _sign_ok(self, path: str, query: dict) -> bool:
        if not path.startswith("/dingtalk"):
            return True
        ts = query.get("timestamp", "")
        if not ts.isdigit() or "sign" not in query:
            return False
        digest = hmac.new(self.secret.encode(), f"{ts}\n{self.secret}".encode(), hashlib.sha256).digest()
        return query["sign"] == base64.b64encode(digest).decode()

    def channels_yaml(self) -> str:
        return (f"robots:\n"
                f"  hall-group:\n    type: wecom\n    url: {self.url('/wecom/send?key=WECOM-KEY-123')}\n"
                f"  office-ding:\n    type: dingtalk\n    url: {self.url('/dingtalk/send?access_token=DING-TOKEN-9')}\n"
                f"    secret: {self.secret}\n"
                f"sms:\n  url: {self.url('/sms')}\n  method: POST\n"
                f"  body: '{{\"phone\": \"{{phone}}\", \"text\": \"{{text}}\"}}'\n")
