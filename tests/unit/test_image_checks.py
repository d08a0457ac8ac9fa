"""The upload's cheap check (core/images.check_image: header, markers, a draft-mode decode of JPEG at
1/8 scale) refuses exactly what a full decode refuses: a JPEG cut anywhere, baseline or progressive,
fails the same way at both scales, because libjpeg reads and Huffman-decodes every byte of the scan
whatever the output size. Measured here as well: the check costs a fraction of a full decode."""

from __future__ import annotations

import io
import time

import pytest
from PIL import Image, ImageFile

from inspect_api.core import images
from tests.images import photo


def _jpeg(progressive: bool) -> bytes:
    buf = io.BytesIO()
    Image.open(io.BytesIO(photo(1200, 900, seed=3))).save(buf, "JPEG", quality=90, progressive=progressive)
    return buf.getvalue()


def _full_decode_refuses(data: bytes) -> bool:
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        with Image.open(io.BytesIO(data)) as img:
            img.load()
        return False
    except (OSError, SyntaxError, ValueError):
        return True


def _check_refuses(tmp_path, data: bytes) -> str | None:
    path = tmp_path / "p.jpg"
    path.write_bytes(data)
    try:
        images.check_image(path, declared="JPEG", max_pixels=50_000_000)
        return None
    except images.ImageRejected as exc:
        return exc.code


@pytest.mark.parametrize("progressive", [False, True], ids=["baseline", "progressive"])
def test_every_cut_a_full_decode_refuses_the_check_refuses(tmp_path, progressive):
    data = _jpeg(progressive)
    cuts = sorted({int(len(data) * i / 60) for i in range(3, 60)} | {len(data) - k for k in (3, 4, 10, 100)})
    refused = 0
    for cut in cuts:
        if _full_decode_refuses(data[:cut]):
            assert _check_refuses(tmp_path, data[:cut]) == "image_broken", cut
            refused += 1
    assert refused >= len(cuts) - 4  # all but (at most) the cuts inside the final marker


def test_the_check_refuses_what_weasyprint_would_let_through(tmp_path):
    ImageFile.LOAD_TRUNCATED_IMAGES = True  # as importing WeasyPrint leaves it
    try:
        assert _check_refuses(tmp_path, _jpeg(False)[:20_000]) == "image_broken"
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = False


def _claiming(data: bytes, width: int, height: int) -> bytes:
    """The same JPEG with its frame header (SOF0/SOF2) claiming another size."""
    for marker in (b"\xff\xc0", b"\xff\xc2"):
        i = data.find(marker)
        if i > 0:
            return data[:i + 5] + height.to_bytes(2, "big") + width.to_bytes(2, "big") + data[i + 9:]
    raise AssertionError("no frame header")


@pytest.mark.parametrize("width,height", [(8000, 7000), (30000, 30000), (65000, 800)],
                         ids=["56MP-1x-2x", "900MP", "52MP-wide"])
def test_a_jpeg_claiming_huge_dimensions_is_refused_before_any_decode(tmp_path, width, height):
    data = _claiming(photo(64, 48, seed=1), width, height)
    t0 = time.perf_counter()
    assert _check_refuses(tmp_path, data) == "image_too_large"
    assert time.perf_counter() - t0 < 1.0  # no 900-megapixel buffer was ever allocated


@pytest.mark.parametrize("data,code", [
    (b"\xff\xd8\xff\xe0" + bytes(2000), "not_an_image"),          # the markers of a JPEG and nothing else
    (b"\xff\xd8" + b"<html>" * 200, "not_an_image"),
    (photo(320, 240, fmt="PNG")[:-30], "image_broken"),           # a PNG without its end
], ids=["jpeg-markers-only", "html-after-soi", "png-cut"])
def test_fakes_are_refused(tmp_path, data, code):
    path = tmp_path / "x"
    path.write_bytes(data)
    with pytest.raises(images.ImageRejected) as err:
        images.check_image(path, declared=None, max_pixels=50_000_000)
    assert err.value.code == code


def test_the_check_costs_a_fraction_of_a_full_decode(tmp_path):
    data = photo(4000, 3000, seed=2)
    path = tmp_path / "big.jpg"
    path.write_bytes(data)

    def best(fn, n=5):
        times = []
        for _ in range(n):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        return min(times)

    def full():
        with Image.open(io.BytesIO(data)) as img:
            img.load()

    check = best(lambda: images.check_image(path, declared="JPEG", max_pixels=50_000_000))
    assert check < 0.5 * best(full)


def _noisy_jpeg(**save) -> bytes:
    """A JPEG whose scan is full of stuffed bytes (0xFF 0x00), as a camera's noisy picture is."""
    img = Image.merge("RGB", [Image.effect_noise((320, 240), 40) for _ in range(3)])
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90, **save)
    return buf.getvalue()


@pytest.mark.parametrize("save", [{}, {"restart_marker_blocks": 4}, {"progressive": True}],
                         ids=["baseline", "restart-markers", "progressive"])
def test_the_image_ends_at_its_end_marker_past_stuffed_bytes_restart_markers_and_fill_bytes(tmp_path, save):
    data = _noisy_jpeg(**save)
    assert data.count(b"\xff\x00") > 20
    if save.get("restart_marker_blocks"):
        assert b"\xff\xd0" in data and b"\xff\xd7" in data
    path = tmp_path / "p.jpg"
    # fill bytes before the end marker belong to the image (ITU T.81 B.1.1.2)
    filled = data[:-2] + b"\xff\xff\xff" + data[-2:]
    for whole in (data, filled):
        path.write_bytes(whole)
        with Image.open(path) as img:
            assert images.image_end(path, "JPEG", img) == len(whole)
        assert images.check_image(path, declared="JPEG", max_pixels=50_000_000).width == 320
    # anything after the end marker is other data, a second JPEG included
    for extra in (b"PK\x03\x04" + bytes(40), data):
        path.write_bytes(data + extra)
        with Image.open(path) as img:
            assert images.image_end(path, "JPEG", img) == len(data)
        assert _check_refuses(tmp_path, data + extra) == "trailing_data"
