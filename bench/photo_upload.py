"""Photo uploads: time and memory of the worst files the card photo upload accepts.

For each kind of file (flat and textured PNG at the largest size accepted for its mode, a 24-megapixel
JPEG, the largest progressive JPEG, WebP lossy and lossless, an animated PNG) a fresh Python process
runs `tessera.cards.images.photo_variants` (what `card_photo_set` stores): its time (wall clock, and
CPU time of the process) is the median of 5 runs after one warm-up of the same format at a small size, its memory the growth of the process's
peak RSS (VmHWM, cleared before) over the first run, which counts Pillow's own buffers, unlike
tracemalloc. The reference,
measured in the same run and the same way: Image.open + load of a 1-megapixel JPEG.

    .venv/bin/python bench/photo_upload.py [--busy]

`--busy` keeps one core busy with a spinning process, as a loaded machine would. Prints
`photo_upload_worst_ms`, `photo_upload_peak_mb`, `reference_pillow_open_ms`, the same two times in CPU
time, and a comment line per file.
"""

import argparse
import io
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _busy import busy_core  # noqa: E402 - shared by every benchmark

RUNS = 5


def _noise(size: tuple[int, int], seed: int) -> "Image.Image":  # noqa: F821
    """A textured image (compresses badly, as photos do) built from a small random tile."""
    from PIL import Image

    rng = random.Random(seed)
    tile = Image.frombytes("RGB", (64, 64), bytes(rng.randrange(256) for _ in range(64 * 64 * 3)))
    image = Image.new("RGB", size)
    for x in range(0, size[0], 64):
        for y in range(0, size[1], 64):
            image.paste(tile.rotate(90 * ((x + y) // 64 % 4)), (x, y))
    return image


def _saved(image, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, **options)
    return out.getvalue()


def worst_files() -> dict[str, tuple[str, bytes]]:
    """The largest files of each kind that the upload accepts (names say why they are the worst)."""
    from PIL import Image

    sys.path.insert(0, str(ROOT))
    from tessera.cards import images

    budget = images.MAX_DECODE_BYTES

    def side(bytes_per_pixel: float) -> int:
        return int((min(budget / bytes_per_pixel, images.MAX_PIXELS)) ** 0.5) - 8

    rgb, rgba, grey = side(4), side(8), side(2)
    files = {
        "png_rgb_flat": ("me.png", _saved(Image.new("RGB", (rgb, rgb), (200, 30, 30)), format="PNG")),
        "png_rgb_textured": (
            "me.png",
            _under_limit(lambda n: _saved(_noise((n, n), 1), format="PNG"), rgb, images.MAX_UPLOAD_BYTES),
        ),
        "png_rgba_flat": (
            "me.png",
            _saved(Image.new("RGBA", (rgba, rgba), (200, 30, 30, 128)), format="PNG"),
        ),
        "png_palette_transparent": (
            "me.png",
            _saved(Image.new("P", (side(10), side(10)), 3), format="PNG", transparency=0),
        ),
        "png_grey_flat": ("me.png", _saved(Image.new("L", (grey, grey), 90), format="PNG")),
        "png_animated": (
            "me.png",
            _saved(
                Image.new("RGBA", (rgba, rgba), (0, 0, 0, 0)),
                format="PNG",
                save_all=True,
                append_images=[Image.new("RGBA", (rgba, rgba), (i, 0, 0, 255)) for i in range(1, 8)],
            ),
        ),
        "jpeg_24mp": (
            "me.jpg",
            _jpeg_under_limit(_noise((1500, 1000), 2).resize((6000, 4000)), images.MAX_UPLOAD_BYTES),
        ),
        "jpeg_progressive": (
            "me.jpg",
            _under_limit(
                lambda n: _saved(_noise((n, n), 3), format="JPEG", quality=85, progressive=True),
                side(3.3),
                images.MAX_UPLOAD_BYTES,
            ),
        ),
        "webp_lossy": ("me.webp", _saved(_noise((side(16), side(16)), 4), format="WEBP", quality=90)),
        "webp_lossless": (
            "me.webp",
            _under_limit(
                lambda n: _saved(_noise((n, n), 5), format="WEBP", lossless=True),
                side(16),
                images.MAX_UPLOAD_BYTES,
            ),
        ),
    }
    for name, (filename, data) in files.items():
        try:
            images.photo_variants(data, filename)  # accepted, or the benchmark measures nothing
        except Exception as error:
            raise SystemExit(f"{name} is refused: {error}") from None
    return files


def _jpeg_under_limit(image, limit: int) -> bytes:
    for quality in (95, 90, 85, 80, 75, 70, 60, 50, 40, 30):
        data = _saved(image, format="JPEG", quality=quality)
        if len(data) <= limit:
            return data
    return data


def _under_limit(make, side: int, limit: int) -> bytes:
    """`make(side)` at the largest side, from `side` down, whose file fits the upload limit."""
    while len(data := make(side)) > limit:
        side = side * 9 // 10
    return data


def reference_file() -> bytes:
    return _saved(_noise((1000, 1000), 6), format="JPEG", quality=85)


CHILD = """
import io, json, os, statistics, sys, time
sys.path.insert(0, {root!r})
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tessera.settings.test")
import django
django.setup()
from PIL import Image
from tessera.cards import images

kind, filename, path = sys.argv[1], sys.argv[2], sys.argv[3]
data = open(path, "rb").read()
small = io.BytesIO()
Image.new("RGB", (64, 64)).save(small, format=Image.open(io.BytesIO(data)).format)
if kind == "reference":
    def work():
        Image.open(io.BytesIO(data)).load()
    Image.open(io.BytesIO(small.getvalue())).load()
else:
    def work():
        images.photo_variants(data, filename)
    images.photo_variants(small.getvalue(), filename)  # plugins loaded, code warm
def rss_kb(field):
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1])
# The peak of this process from here on: clearing the peak is allowed on one's own process (Linux).
with open("/proc/self/clear_refs", "w") as clear:
    clear.write("5")
before = rss_kb("VmRSS")
times, cpu = [], []
for _ in range({runs}):
    began, began_cpu = time.perf_counter(), time.process_time()
    work()
    times.append((time.perf_counter() - began) * 1000)
    cpu.append((time.process_time() - began_cpu) * 1000)
    if len(times) == 1:
        peak = rss_kb("VmHWM") - before
print(json.dumps({{"ms": statistics.median(times), "cpu_ms": statistics.median(cpu), "peak_mb": peak / 1024}}))
"""


def measure(kind: str, filename: str, data: bytes, tmp: Path) -> dict:
    path = tmp / f"{kind}.bin"
    path.write_bytes(data)
    code = CHILD.format(root=str(ROOT), runs=RUNS)
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code, kind, filename, str(path)], capture_output=True, text=True, check=True
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--busy", action="store_true", help="keep one core busy for the whole run")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tessera.settings.test")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    began = time.perf_counter()
    files = worst_files()
    print(f"# files built in {time.perf_counter() - began:.1f} s", flush=True)
    load_before = Path("/proc/loadavg").read_text().split()[0]
    busy = busy_core(600) if args.busy else None
    try:
        with tempfile.TemporaryDirectory(prefix="tessera-bench-") as tmp:
            reference = measure("reference", "ref.jpg", reference_file(), Path(tmp))
            results = {name: measure(name, *file, Path(tmp)) for name, file in files.items()}
    finally:
        if busy is not None:
            busy.kill()
            busy.wait()
    for name, figures in results.items():
        _filename, data = files[name]
        print(
            f"# {name}: {len(data) / 1024:.0f} KB, {figures['ms']:.1f} ms ({figures['cpu_ms']:.1f} ms of CPU),"
            f" {figures['peak_mb']:.1f} MB"
        )
    print(f"# load average before and after: {load_before} {Path('/proc/loadavg').read_text().split()[0]}")
    print(f"photo_upload_worst_ms: {max(r['ms'] for r in results.values()):.1f}")
    print(f"photo_upload_peak_mb: {max(r['peak_mb'] for r in results.values()):.1f}")
    print(f"reference_pillow_open_ms: {reference['ms']:.1f}")
    # CPU time leaves out the waits for a core that a loaded machine adds to the times above.
    print(f"photo_upload_worst_cpu_ms: {max(r['cpu_ms'] for r in results.values()):.1f}")
    print(f"reference_pillow_open_cpu_ms: {reference['cpu_ms']:.1f}")


if __name__ == "__main__":
    main()
