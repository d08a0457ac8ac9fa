"""Real image files for evidence tests, made with Pillow and pillow-heif (no stand-ins)."""

from __future__ import annotations

import io
import struct
import zlib
from datetime import datetime

import pillow_heif
from PIL import Image

pillow_heif.register_heif_opener()


def _gps_ifd(lat: float, lng: float) -> dict:
    def dms(value):
        value = abs(value)
        d = int(value)
        m = int((value - d) * 60)
        s = round(((value - d) * 60 - m) * 60, 4)
        return (float(d), float(m), float(s))

    return {1: "N" if lat >= 0 else "S", 2: dms(lat), 3: "E" if lng >= 0 else "W", 4: dms(lng)}


def photo(width=800, height=600, *, fmt="JPEG", color=(30, 120, 200), taken: datetime | None = None,
          gps: tuple[float, float] | None = None, orientation: int | None = None, seed: int = 0) -> bytes:
    """A photo with a gradient (so JPEG has real content), optional EXIF time, GPS and orientation."""
    img = Image.new("RGB", (width, height), color)
    px = img.load()
    step = max(1, width // 64)
    for x in range(0, width, step):
        for y in range(0, height, step):
            px[x, y] = ((x + seed) % 256, (y * 3 + seed) % 256, (x + y) % 256)
    exif = Image.Exif()
    if taken is not None:
        exif.get_ifd(0x8769)[36867] = taken.strftime("%Y:%m:%d %H:%M:%S")
    if gps is not None:
        exif.get_ifd(0x8825).update(_gps_ifd(*gps))
    if orientation is not None:
        exif[0x0112] = orientation
    buf = io.BytesIO()
    kwargs = {"exif": exif.tobytes()} if len(exif) or taken or gps else {}
    if fmt == "JPEG":
        img.save(buf, "JPEG", quality=90, **kwargs)
    elif fmt == "PNG":
        img.save(buf, "PNG", **kwargs)
    elif fmt == "HEIF":
        img.save(buf, "HEIF", quality=80, **kwargs)
    else:
        img.save(buf, fmt)
    return buf.getvalue()


def truncated_jpeg() -> bytes:
    data = photo(1200, 900, seed=7)
    return data[: len(data) // 2]


def png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims `width` × `height`: a decompression bomb's calling card."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def mpo(width=800, height=600, seed: int = 0, taken: datetime | None = None) -> bytes:
    """A multi-picture JPEG (MPO), as many phone cameras write: two JPEGs and an MP index."""
    first = Image.open(io.BytesIO(photo(width, height, seed=seed, taken=taken)))
    second = Image.open(io.BytesIO(photo(width // 2, height // 2, seed=seed + 1)))
    buf = io.BytesIO()
    first.save(buf, "MPO", save_all=True, append_images=[second], exif=first.getexif().tobytes())
    return buf.getvalue()


def with_maker_notes(width=800, height=600, seed: int = 0) -> bytes:
    """A JPEG whose EXIF carries a maker note (tag 0x927C): opaque vendor bytes, as phones write."""
    img = Image.open(io.BytesIO(photo(width, height, seed=seed)))
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "HUAWEI", "ELS-AN00"
    exif.get_ifd(0x8769)[0x927C] = b"HUAWEI\x00\x00" + bytes(range(256)) * 8
    exif.get_ifd(0x8769)[36867] = "2026:11:23 09:41:00"
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90, exif=exif.tobytes())
    return buf.getvalue()


def zip_bytes() -> bytes:
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("evil.html", "<script>alert(1)</script>")
    return buf.getvalue()
