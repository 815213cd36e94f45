"""What one photo upload may cost: memory measured on the largest files accepted, caps, concurrency.

Memory is the peak resident size of a fresh process (Linux VmHWM, cleared before each file), which
counts Pillow's own buffers: tracemalloc sees only Python's allocations and would miss them. Time is
measured by bench/photo_upload.py, not here (a shared test machine makes times meaningless).
"""

import io
import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from PIL import Image

from tessera.cards import images

ROOT = Path(__file__).resolve().parents[2]
BUDGET_MB = 64

CHILD = """
import json, os, sys
sys.path.insert(0, sys.argv[1])
os.environ["DJANGO_SETTINGS_MODULE"] = "tessera.settings.test"
import django
django.setup()
from tessera.cards import images

def kb(field):
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1])

peaks = {}
for path in sys.argv[2:]:
    data = open(path, "rb").read()
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")  # the peak so far is forgotten: what follows is this file's
    before = kb("VmRSS")
    variants = images.photo_variants(data, os.path.basename(path))
    assert set(variants) == {"photo", "photo_small"}
    peaks[os.path.basename(path)] = (kb("VmHWM") - before) / 1024
print(json.dumps(peaks))
"""


def _saved(image: Image.Image, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, **options)
    return out.getvalue()


def _textured(size: tuple[int, int]) -> Image.Image:
    """A photo-like texture: noise blown up, so that it compresses as photos do."""
    return Image.effect_noise((size[0] // 8, size[1] // 8), 60).convert("RGB").resize(size)


def _largest_side(bytes_per_pixel: int) -> int:
    """The side of the largest square image `_decode_check` accepts at this cost per pixel."""
    pixels = min(images.MAX_DECODE_BYTES // bytes_per_pixel, images.MAX_PIXELS)
    return int(pixels**0.5) - 4


def _worst_accepted_files() -> dict[str, bytes]:
    rgb, rgba, webp = _largest_side(4), _largest_side(8), _largest_side(16)
    return {
        # A flat PNG: tiny file, largest pixel count accepted for its mode.
        "flat.png": _saved(Image.new("RGB", (rgb, rgb), (200, 30, 30)), format="PNG"),
        "transparent.png": _saved(Image.new("RGBA", (rgba, rgba), (200, 30, 30, 90)), format="PNG"),
        "grey.png": _saved(Image.new("L", (_largest_side(2),) * 2, 90), format="PNG"),
        "animated.png": _saved(
            Image.new("RGBA", (rgba, rgba)),
            format="PNG",
            save_all=True,
            append_images=[Image.new("RGBA", (rgba, rgba), (i * 40, 0, 0, 255)) for i in range(1, 5)],
        ),
        # A 24-megapixel camera photo, the most pixels accepted.
        "camera.jpg": _saved(_textured((6000, 4000)), format="JPEG", quality=75),
        "progressive.jpg": _saved(_textured((2200, 2200)), format="JPEG", quality=85, progressive=True),
        "photo.webp": _saved(_textured((webp, webp)), format="WEBP", quality=85),
        "animated.webp": _saved(
            _textured((webp, webp)),
            format="WEBP",
            save_all=True,
            append_images=[_textured((webp, webp)) for _ in range(3)],
        ),
    }


def test_the_largest_files_accepted_stay_within_64_mb_each(tmp_path):
    files = _worst_accepted_files()
    for name, data in files.items():
        assert len(data) <= images.MAX_UPLOAD_BYTES, name
        (tmp_path / name).write_bytes(data)
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(ROOT), *(str(tmp_path / name) for name in files)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    peaks = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(peaks) == set(files)  # every one was accepted and measured
    assert max(peaks.values()) < BUDGET_MB, peaks


@pytest.mark.parametrize(
    ("image", "name"),
    [
        (Image.new("RGB", (6320, 6320), (255, 255, 255)), "flat.png"),  # 131 KB, 40 MP: 1.7 s before
        (Image.new("RGB", (7000, 4000)), "big.jpg"),  # 28 MP: more than a camera photo
        (Image.new("RGBA", (2000, 2000)), "alpha.png"),  # 4 MP with transparency: 2 MP accepted
        (Image.new("RGB", (1600, 1600)), "photo.webp"),  # WebP is decoded at full size: 1 MP accepted
    ],
)
@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_images_over_the_caps_are_refused_before_decoding(image, name):
    fmt = {"png": "PNG", "jpg": "JPEG", "webp": "WEBP"}[name.rsplit(".", 1)[1]]
    with pytest.raises(ValidationError, match="too many pixels") as refused:
        images.photo_variants(_saved(image, format=fmt), name)
    assert "megapixels are accepted" in str(refused.value)


def test_a_large_phone_photo_is_accepted_upright_and_square():
    photo = Image.new("RGB", (6000, 4000), (10, 120, 200))
    photo.paste((250, 20, 20), (0, 0, 6000, 400))  # a red band along the top edge as taken
    exif = Image.Exif()
    exif[0x0112] = 6  # the camera was turned: the top edge shows on the right
    variants = images.photo_variants(_saved(photo, format="JPEG", exif=exif), "phone.jpg")
    for name, size in images.PHOTO_SIZES.items():
        image = Image.open(io.BytesIO(variants[name]))
        assert image.size == (size, size) and not image.getexif()
    right_edge = Image.open(io.BytesIO(variants["photo"])).getpixel((505, 256))
    assert right_edge[0] > 200 and right_edge[2] < 80


def test_image_work_waits_for_a_turn_then_answers_busy(monkeypatch):
    monkeypatch.setattr(images, "IMAGE_WAIT_SECONDS", 0.2)
    small = _saved(Image.new("RGB", (600, 600)), format="PNG")
    release, holding = threading.Event(), []

    def hold():
        with images.image_work():
            holding.append(1)
            release.wait(5)

    workers = [threading.Thread(target=hold) for _ in range(images.IMAGE_WORKERS)]
    for worker in workers:
        worker.start()
    try:
        while len(holding) < images.IMAGE_WORKERS:
            threading.Event().wait(0.01)
        with pytest.raises(images.ImageBusy, match="Try again"):
            images.photo_variants(small, "me.png")
    finally:
        release.set()
        for worker in workers:
            worker.join()
    assert images.photo_variants(small, "me.png")["photo"]  # a turn is free again
