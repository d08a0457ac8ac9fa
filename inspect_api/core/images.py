"""Photo evidence with Pillow: prove a file is a JPEG (MPO included), PNG or HEIC image that ends
where its bytes end, read its EXIF capture time and GPS (check_image, on the upload's request path: cheap), and make
the derived copies (display, thumbnail, watermarked; upright_rgb and the helpers below, in the media
worker). Originals are never touched.

An image followed by other bytes (a ZIP or HTML page appended: a polyglot that a browser or an
unzip tool would read as something else) is refused, as is a file declared as one type but holding
another. The end of each format is found from its own structure: JPEG markers, MPO's picture
index, PNG chunks, HEIF's top-level boxes.

Decompression bombs are refused: Pillow only warns between 1× and 2× its pixel limit, so that
warning is an error here, and the pixel count is checked again explicitly.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

import pillow_heif
from PIL import Image, ImageDraw, ImageFile, ImageFont, ImageOps, UnidentifiedImageError

pillow_heif.register_heif_opener()
warnings.simplefilter("error", Image.DecompressionBombWarning)

FORMATS = {"JPEG": ("image/jpeg", "jpg"), "PNG": ("image/png", "png"), "HEIF": ("image/heic", "heic"),
           # MPO: a JPEG followed by more JPEGs (depth, other lens) that many phone cameras write
           "MPO": ("image/jpeg", "jpg")}
FAMILY = {"MPO": "JPEG"}  # what a declared type is compared against
DECLARED = {
    "image/jpeg": "JPEG", "image/jpg": "JPEG", "image/pjpeg": "JPEG", "image/png": "PNG",
    "image/heic": "HEIF", "image/heif": "HEIF", "image/heic-sequence": "HEIF",
}
EXTENSIONS = {".jpg": "JPEG", ".jpeg": "JPEG", ".mpo": "JPEG", ".png": "PNG", ".heic": "HEIF", ".heif": "HEIF"}
EXIF_IFD, GPS_IFD = 0x8769, 0x8825
DATETIME_ORIGINAL, OFFSET_TIME_ORIGINAL = 36867, 36881
PHONE_TZ = ZoneInfo("Asia/Shanghai")  # EXIF times carry no zone unless OffsetTimeOriginal is set


class ImageRejected(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass(frozen=True)
class ImageInfo:
    format: str
    media_type: str
    extension: str
    width: int
    height: int
    captured_at: datetime | None
    gps_lat: float | None
    gps_lng: float | None


def declared_format(content_type: str | None, filename: str | None) -> str | None:
    """The format the client claims, from the part's Content-Type, else the file name's extension;
    a claim of anything else (`text/html`, `image/gif`, `.zip`) is kept as that claim, so content
    that does not match it is refused rather than taken as whatever it is. None: no claim."""
    if content_type:
        return DECLARED.get(content_type.lower(), content_type.lower())
    suffix = Path(filename).suffix.lower() if filename else ""
    if suffix:
        return EXTENSIONS.get(suffix, suffix)
    return None


def _captured_at(exif) -> datetime | None:
    sub = exif.get_ifd(EXIF_IFD)
    raw = sub.get(DATETIME_ORIGINAL) or exif.get(306)
    if not isinstance(raw, str):
        return None
    try:
        naive = datetime.strptime(raw.strip("\x00 ").strip(), "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    offset = sub.get(OFFSET_TIME_ORIGINAL)
    if isinstance(offset, str):
        try:
            return datetime.fromisoformat(naive.isoformat() + offset.strip("\x00 ")).astimezone(UTC)
        except ValueError:
            pass
    return naive.replace(tzinfo=PHONE_TZ).astimezone(UTC)


def _degrees(dms, ref) -> float | None:
    try:
        d, m, s = (float(x) for x in dms)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    value = d + m / 60 + s / 3600
    return -value if ref in ("S", "W") else value


def _gps(exif) -> tuple[float | None, float | None]:
    gps = exif.get_ifd(GPS_IFD)
    if not gps:
        return None, None
    lat, lng = _degrees(gps.get(2), gps.get(1)), _degrees(gps.get(4), gps.get(3))
    if lat is None or lng is None or not (-90 <= lat <= 90 and -180 <= lng <= 180):
        return None, None
    return round(lat, 7), round(lng, 7)


def _verification_size(img: Image.Image) -> tuple[int, int]:
    """The smallest size libjpeg's draft mode decodes to (1/8 on each side): every byte of the
    entropy-coded data is still read and Huffman-decoded, so a truncated or corrupt scan fails as it
    does at full size, but most of the inverse DCT and all of the colour work are skipped (decoded
    grey, the colour components are parsed but not transformed)."""
    return max(1, img.width // 8), max(1, img.height // 8)


def check_image(path: Path, *, declared: str | None, max_pixels: int) -> ImageInfo:
    """Prove the file is a complete image of an accepted type, cheaply, and read its facts.

    Header (Pillow identifies the format; a decompression bomb's claimed size is refused before any
    pixel is decoded), the declared type, where the image ends (JPEG markers, MPO's index, PNG
    chunks, HEIF boxes: nothing may follow), the pixel limit, EXIF time and GPS, and a decode of
    the pixel data: JPEG (MPO's first picture) in draft mode at 1/8 scale, PNG and HEIC in full.
    Raises ImageRejected (415 not an accepted image type, 422 broken, mismatched or too large).
    """
    Image.MAX_IMAGE_PIXELS = max_pixels
    # WeasyPrint sets this global to True when imported (weasyprint/images.py), which would make a
    # truncated upload decode "successfully" with grey filler; uploads must be complete.
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        img = Image.open(path)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageRejected(422, "image_too_large", f"图片像素过多, 疑似解压炸弹 (more than {max_pixels} pixels)") from exc
    except UnidentifiedImageError as exc:
        raise ImageRejected(415, "not_an_image", "文件不是可识别的图片, 只接受 JPEG、PNG、HEIC (not an image)") from exc
    except OSError as exc:
        raise ImageRejected(422, "image_broken", "图片文件已损坏或不完整 (broken image)") from exc
    with img:
        fmt = img.format
        if fmt not in FORMATS:
            raise ImageRejected(415, "unsupported_image_type", f"不支持的图片格式 {fmt}, 只接受 JPEG、PNG、HEIC")
        if declared is not None and declared != FAMILY.get(fmt, fmt):
            raise ImageRejected(422, "type_mismatch",
                                f"文件内容为 {fmt}, 与声明的类型 {declared} 不符 (content does not match declared type)")
        end = image_end(path, fmt, img)
        size = path.stat().st_size
        if end < size:
            raise ImageRejected(422, "trailing_data",
                                f"图片在第 {end} 字节结束, 其后还有 {size - end} 字节其他数据 "
                                f"(bytes continue past the end of the image)")
        width, height = img.size
        if width * height > max_pixels:
            raise ImageRejected(422, "image_too_large", f"图片像素过多 (more than {max_pixels} pixels)")
        try:
            exif = img.getexif()
            captured_at = _captured_at(exif)
            lat, lng = _gps(exif)
            if fmt in ("JPEG", "MPO"):
                # grey: libjpeg still entropy-decodes every component, but skips the colour ones' IDCT
                img.draft("L", _verification_size(img))
            img.load()
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombWarning) as exc:
            raise ImageRejected(422, "image_broken", "图片文件已损坏或不完整 (truncated or corrupt image)") from exc
    media_type, ext = FORMATS[fmt]
    return ImageInfo(fmt, media_type, ext, width, height, captured_at, lat, lng)


def upright_rgb(path: Path, *, max_pixels: int, work_px: int) -> Image.Image:
    """Decode a checked image into an upright RGB picture at least `work_px` on its short side when
    the original is that large (JPEG decodes at a reduced scale in draft mode)."""
    Image.MAX_IMAGE_PIXELS = max_pixels
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    with Image.open(path) as img:
        if img.format in ("JPEG", "MPO"):
            img.draft("RGB", (work_px, work_px))
        img.load()
        # pillow-heif applies the orientation while decoding; rotating again would be wrong.
        upright = img if img.format == "HEIF" else ImageOps.exif_transpose(img)
        return upright.convert("RGB")


def open_image(path: Path, *, declared: str | None, max_pixels: int, work_px: int) -> tuple[ImageInfo, Image.Image]:
    """check_image, then a decode of the picture for copies (upright RGB, see upright_rgb)."""
    info = check_image(path, declared=declared, max_pixels=max_pixels)
    try:
        return info, upright_rgb(path, max_pixels=max_pixels, work_px=work_px)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombWarning) as exc:
        raise ImageRejected(422, "image_broken", "图片文件已损坏或不完整 (truncated or corrupt image)") from exc


@lru_cache(maxsize=8)
def _font(path: str, size: int):
    try:
        return ImageFont.truetype(path, size)
    except OSError:
        return ImageFont.load_default(size)


def display_copy(img: Image.Image, max_px: int) -> Image.Image:
    out = img.copy()
    out.thumbnail((max_px, max_px), Image.Resampling.LANCZOS)
    return out


def watermark(img: Image.Image, lines: list[str], font_path: str) -> Image.Image:
    """Stamp a dark band with the given lines at the foot of a copy of `img`."""
    out = img.copy().convert("RGBA")
    size = max(14, out.width // 45)
    font = _font(font_path, size)
    pad = size // 2
    band_h = pad * 2 + len(lines) * (size + pad // 2)
    overlay = Image.new("RGBA", out.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    draw.rectangle([0, out.height - band_h, out.width, out.height], fill=(0, 0, 0, 140))
    y = out.height - band_h + pad
    for line in lines:
        draw.text((pad, y), line, font=font, fill=(255, 255, 255, 235))
        y += size + pad // 2
    return Image.alpha_composite(out, overlay).convert("RGB")


def save_jpeg(img: Image.Image, path: Path, quality: int = 85) -> None:
    # No exif= argument: the copies carry no metadata (no GPS, no device).
    img.save(path, "JPEG", quality=quality, optimize=False, progressive=True)


# --- where an image ends ---------------------------------------------------------------------------

class _Broken(Exception):
    pass


def image_end(path: Path, fmt: str, img: Image.Image) -> int:
    """The offset just past the image's last byte, from the format's own structure. A file that
    ends early is left to the decoder (image_broken); bytes after the end are the caller's concern."""
    data = path.read_bytes()
    try:
        if fmt == "JPEG":
            return _padded(data, _jpeg_end(data, 0))
        if fmt == "MPO":
            return _padded(data, _mpo_end(data, img))
        if fmt == "PNG":
            return _png_end(data)
        if fmt == "HEIF":
            return _bmff_end(data)
    except _Broken:
        return len(data)  # not ours to judge: the decoder refuses a broken file
    return len(data)


def _padded(data: bytes, end: int) -> int:
    """Some cameras pad a JPEG with zero or 0xFF bytes after its end: that is not other data."""
    rest = data[end:]
    return len(data) if not rest.strip(b"\x00\xff") else end


# In a scan's entropy-coded data a 0xFF byte is followed by 0x00 (a stuffed byte), a restart marker
# (0xD0-0xD7) or more 0xFF (fill); the first 0xFF followed by anything else starts the next marker.
_SCAN_END = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")


def _jpeg_end(data: bytes, start: int) -> int:
    n = len(data)
    if data[start:start + 2] != b"\xff\xd8":
        raise _Broken
    i = start + 2
    while i < n:
        if data[i] != 0xFF:
            raise _Broken
        while i < n and data[i] == 0xFF:  # fill bytes before a marker
            i += 1
        if i >= n:
            raise _Broken
        marker = data[i]
        i += 1
        if marker == 0xD9:  # EOI
            return i
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:  # no length
            continue
        if i + 2 > n:
            raise _Broken
        i += int.from_bytes(data[i:i + 2], "big")
        if marker == 0xDA:  # start of scan: entropy-coded data runs to the next real marker
            # one search in C: a camera's 4 MB scan holds some 20,000 stuffed bytes to step over
            found = _SCAN_END.search(data, i)
            if found is None:
                raise _Broken
            i = found.start()
    raise _Broken


def _mpo_end(data: bytes, img: Image.Image) -> int:
    """The end of the last picture the MP index lists (offsets relative to the index's header)."""
    entries = (getattr(img, "mpinfo", None) or {}).get(0xB002) or []
    offsets = getattr(img, "_MpoImageFile__mpoffsets", None)
    if not entries or not offsets or len(offsets) != len(entries):
        raise _Broken
    end = _jpeg_end(data, 0)
    for entry, offset in zip(entries[1:], offsets[1:], strict=True):
        size = int(entry["Size"])
        if offset + size > len(data):
            raise _Broken
        end = max(end, _jpeg_end(data, offset))
    return end


def _png_end(data: bytes) -> int:
    i, n = 8, len(data)
    while i + 8 <= n:
        length = int.from_bytes(data[i:i + 4], "big")
        kind = data[i + 4:i + 8]
        i += 12 + length
        if kind == b"IEND":
            return i
    raise _Broken


def _bmff_end(data: bytes) -> int:
    """HEIF is a sequence of top-level ISO-BMFF boxes; the image ends where the last box ends."""
    i, n = 0, len(data)
    while i + 8 <= n:
        size = int.from_bytes(data[i:i + 4], "big")
        kind = data[i + 4:i + 8]
        if not all(32 <= b < 127 for b in kind):  # not a box: other data from here on
            return i
        if size == 1:
            if i + 16 > n:
                return i
            size = int.from_bytes(data[i + 8:i + 16], "big")
        elif size == 0:  # the box runs to the end of the file
            return n
        if size < 8 or i + size > n:
            return i
        i += size
    return i
