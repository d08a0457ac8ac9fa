"""Realistic visit payloads built from the published checklist, as a phone would send them."""

from __future__ import annotations

import random
import uuid


def passing_answer(item: dict):
    kind = item["answer_type"]
    if kind == "yes_no":
        return "no" if item.get("fail_answer") == "yes" else "yes"
    if kind == "choice":
        fail = set(item.get("fail_choices") or [])
        return next(c["code"] for c in item["choices"] if c["code"] not in fail)
    if kind == "number":
        low = item.get("min", 0)
        high = item.get("fail_above", item.get("max", low + 10))
        return max(low, min(high, (item.get("fail_below") or low) + 1))
    return "正常"


def items_of(template: dict) -> list[dict]:
    return [item for system in template["systems"] for item in system["items"]]


def visit_payload(template: dict, *, unit_id: int, team: list[int], findings: int = 5, seed: int = 0,
                  fail_codes: tuple[str, ...] = ()) -> dict:
    rnd = random.Random(seed)
    responses = []
    for item in items_of(template):
        answer = passing_answer(item)
        if item["code"] in fail_codes and item.get("fail_answer"):
            answer = item["fail_answer"]
        responses.append({"item_code": item["code"], "answer": answer, "note": f"记录{seed}-{item['code']}"})
    manual = [{
        "id": str(uuid.UUID(int=rnd.getrandbits(128), version=4)),
        "category": rnd.choice(["unrelated_activity", "poor_attitude", "off_post", "late_or_early"]),
        "severity": rnd.choice(["minor", "serious"]),
        "badge_no": f"QC-{rnd.randint(1, 40):04d}",
        "observed_at": "2026-11-23T09:41:00+08:00",
        "description": f"第{i + 1}个问题: 上班时间玩手机游戏, 群众等候约{rnd.randint(3, 15)}分钟",
    } for i in range(findings)]
    return {
        "mode": "covert", "unit_id": unit_id, "window_no": "3", "staff_id": None,
        "checklist": {"code": template["code"], "version": template["version"]},
        "team": team, "started_at": "2026-11-23T09:30:00+08:00", "ended_at": "2026-11-23T10:05:00+08:00",
        "device_time": "2026-11-23T10:06:00+08:00", "gps": {"lat": 30.1, "lng": 104.2, "accuracy_m": 15.0},
        "notes": "暗访记录", "responses": responses, "findings": manual,
    }


def multipart(fields: dict, file_field: str, filename: str, data: bytes, mime: str) -> tuple[bytes, str]:
    boundary = f"----inspect{uuid.uuid4().hex}"
    parts = []
    for key, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode())
    parts.append((f'--{boundary}\r\nContent-Disposition: form-data; name="{file_field}"; filename="{filename}"\r\n'
                  f"Content-Type: {mime}\r\n\r\n").encode() + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"
