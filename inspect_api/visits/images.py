"""Photo evidence with Pillow: prove a file is a JPEG, PNG or HEIC image, read its EXIF capture time
and GPS, and make the derived copies (display, thumbnail, watermarked). Originals are never touched.

Decompression bombs are refused: Pillow only warns between 1× and 2× its pixel limit, so that
warning is an error here, and the pixel count is checked again explicitly.
"""

from __future__ import annotations

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

FORMATS = {"JPEG": ("image/jpeg", "jpg"), "PNG": ("image/png", "png"), "HEIF": ("image/heic", "heic")}
DECLARED = {
    "image/jpeg": "JPEG", "image/jpg": "JPEG", "image/pjpeg": "JPEG", "image/png": "PNG",
    "image/heic": "HEIF", "image/heif": "HEIF", "image/heic-sequence": "HEIF",
}
EXTENSIONS = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".heic": "HEIF", ".heif": "HEIF"}
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
    """The format the client claims, from the part's Content-Type, else the file name."""
    if content_type and content_type.lower() in DECLARED:
        return DECLARED[content_type.lower()]
    if filename:
        return EXTENSIONS.get(Path(filename).suffix.lower())
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


def open_image(path: Path, *, declared: str | None, max_pixels: int, work_px: int) -> tuple[ImageInfo, Image.Image]:
    """Check the file and decode it once, at a reduced scale where JPEG allows (draft mode).

    Returns the facts and an upright RGB image at least `work_px` on its short side when the
    original is that large. Raises ImageRejected (415 not an accepted image type, 422 broken,
    mismatched or too large).
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
        if declared is not None and declared != fmt:
            raise ImageRejected(422, "type_mismatch",
                                f"文件内容为 {fmt}, 与声明的类型 {declared} 不符 (content does not match type)")
        width, height = img.size
        if width * height > max_pixels:
            raise ImageRejected(422, "image_too_large", f"图片像素过多 (more than {max_pixels} pixels)")
        try:
            exif = img.getexif()
            captured_at = _captured_at(exif)
            lat, lng = _gps(exif)
            if fmt == "JPEG":
                img.draft("RGB", (work_px, work_px))
            img.load()
            # pillow-heif applies the orientation while decoding; rotating again would be wrong.
            upright = img if fmt == "HEIF" else ImageOps.exif_transpose(img)
            rgb = upright.convert("RGB")
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombWarning) as exc:
            raise ImageRejected(422, "image_broken", "图片文件已损坏或不完整 (truncated or corrupt image)") from exc
    media_type, ext = FORMATS[fmt]
    return ImageInfo(fmt, media_type, ext, width, height, captured_at, lat, lng), rgb


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
