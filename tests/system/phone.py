"""Helpers for the phone app's end-to-end tests: a module-wide server and browser, real JPEG photos,
and the steps an inspector takes (log in, start a visit, fill the checklist, take photos)."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from inspect_api.config import PROJECT_ROOT

CHROMIUM = "/usr/bin/chromium"
PASSWORD = "inspect-demo"
VIEWPORT = {"width": 360, "height": 640}


def ensure_built() -> None:
    """The same build step ./scripts/run and ./scripts/test take (quick when nothing changed)."""
    script = 'source scripts/_setup.sh && export PATH="$VENV/bin:$PATH" && ensure_web_build'
    subprocess.run(["bash", "-c", script], cwd=PROJECT_ROOT, check=True, capture_output=True, timeout=900)
    assert (PROJECT_ROOT / "web" / "apps" / "phone" / "dist" / "index.html").is_file()


def chromium() -> str:
    if not os.path.exists(CHROMIUM) and os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", "chromium"],
                       capture_output=True, check=False, timeout=600)
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is absent and could not be installed (apt-get install chromium)")
    return CHROMIUM


def make_photo(path: Path, seed: int) -> str:
    """A real camera-sized JPEG (noise does not compress, like a photo); returns its SHA-256."""
    img = Image.effect_noise((1280, 960), 30 + seed * 7).convert("RGB")
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=80)
    path.write_bytes(buf.getvalue())
    return hashlib.sha256(buf.getvalue()).hexdigest()


def login(page, base: str, username: str, screenshot: str | None = None) -> None:
    page.goto(f"{base}/m/")
    if screenshot:
        page.wait_for_selector("input[name=username]")
        shot(page, screenshot)
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_selector("body[data-cached='1']", timeout=20_000)


def shot(page, name: str) -> None:
    """A 360×640 screenshot into $INSPECT_PHONE_SCREENSHOTS (docs/screenshots/phone), when it is set."""
    folder = os.environ.get("INSPECT_PHONE_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        if page.locator(".van-toast").count():  # a toast would hide the screen
            page.locator(".van-toast").last.wait_for(state="hidden", timeout=5_000)
        page.wait_for_timeout(300)  # transitions settle
        page.screenshot(path=str(Path(folder) / f"{name}.png"))


def start_visit(page, unit_name: str, teammate: str, screenshot: str | None = None) -> str:
    page.click("[data-test=new-visit]")
    page.fill("[data-test=unit-search] input", unit_name)
    page.locator("[data-test=unit-option]").filter(has_text=unit_name).first.click()
    page.click(f"[data-test=team-{teammate}]")
    if screenshot:
        shot(page, screenshot)
    page.click("[data-test=start]")
    page.wait_for_selector("[data-item]")
    return page.url.split("#/visit/")[1]


def fill_checklist(page, failing: dict[str, list[Path]]) -> None:
    """Answer every item: the codes in `failing` fail (yes/no items answered 否) with a note, the person
    by window and post, and their photos; every other item gets an answer that passes."""
    items = page.locator("[data-item]")
    for i in range(items.count()):
        item = items.nth(i)
        code = item.get_attribute("data-item")
        if code in failing:
            item.locator("[data-fails='1']").first.click()
            item.locator("[data-test=failed]").wait_for()
            item.locator("[data-field=note] textarea, textarea[data-field=note]").fill(f"{code} 现场发现的问题")
            item.locator("[data-field=window] input, input[data-field=window]").fill("3")
            item.locator("[data-field=position] input, input[data-field=position]").fill("收件岗")
            if failing[code]:
                item.locator(f"[data-photo-input={code}]").set_input_files([str(p) for p in failing[code]])
                item.locator("[data-test=photo]").nth(len(failing[code]) - 1).wait_for()
        elif item.locator("[data-fails='0']").count():
            item.locator("[data-fails='0']").first.click()
        elif item.locator("[data-answer=number] input, input[data-answer=number]").count():
            item.locator("[data-answer=number] input, input[data-answer=number]").fill("0")
        else:
            item.locator("[data-answer=text] textarea, textarea[data-answer=text]").fill("无")
    # Each answer is written to IndexedDB in a transaction of its own, and the progress line is read back
    # from there: once it counts every item, the last write is stored. A reload straight after the last
    # keystroke could abort that write (the visit reloads one answer short, and a submit then asks to
    # confirm the unanswered item), so nothing goes on before this.
    page.wait_for_function(r"() => /已答 (\d+)\/\1，/.test(document.body.innerText)", timeout=10_000)


def state_of(page) -> str:
    return page.inner_text("[data-test=visit-state]").strip()


def wait_state(page, label: str, timeout: float = 30_000) -> None:
    page.wait_for_function("label => document.querySelector('[data-test=visit-state]')?.textContent.trim() === label",
                           arg=label, timeout=timeout)
