"""A small WebM (EBML) reader: enough to tell how long a recording lasts, without ffprobe."""

SEGMENT, CLUSTER, TIMECODE, SIMPLE_BLOCK, BLOCK_GROUP, BLOCK = (
    0x18538067,
    0x1F43B675,
    0xE7,
    0xA3,
    0xA0,
    0xA1,
)
INFO, TIMECODE_SCALE, DURATION, TRACKS, TRACK_ENTRY, CODEC_ID = (
    0x1549A966,
    0x2AD7B1,
    0x4489,
    0x1654AE6B,
    0xAE,
    0x86,
)
CONTAINERS = {SEGMENT, CLUSTER, BLOCK_GROUP, INFO, TRACKS, TRACK_ENTRY}


def _vint(data: bytes, pos: int, keep_marker: bool) -> tuple[int, int]:
    first = data[pos]
    length = 1
    while length <= 8 and not first & (0x80 >> (length - 1)):
        length += 1
    if length > 8:
        raise ValueError("invalid EBML variable-length integer")
    value = first if keep_marker else first & (0xFF >> length)
    for byte in data[pos + 1 : pos + length]:
        value = (value << 8) | byte
    return value, pos + length


def webm_summary(data: bytes) -> dict:
    """Codecs and the time span (ms) covered by the blocks, clusters with unknown size included."""
    if data[:4] != b"\x1a\x45\xdf\xa3":
        raise ValueError("not an EBML file")
    scale, codecs, times = 1_000_000, [], []
    cluster_time = 0
    pos = 0
    while pos < len(data):
        element, pos = _vint(data, pos, keep_marker=True)
        start = pos
        size, pos = _vint(data, pos, keep_marker=False)
        unknown = size == (1 << (7 * (pos - start))) - 1
        if element in CONTAINERS:
            continue  # descend: the children follow
        end = len(data) if unknown else pos + size
        body = data[pos:end]
        if element == TIMECODE:
            cluster_time = int.from_bytes(body, "big")
        elif element == TIMECODE_SCALE:
            scale = int.from_bytes(body, "big")
        elif element == CODEC_ID:
            codecs.append(body.decode("ascii", "replace"))
        elif element in (SIMPLE_BLOCK, BLOCK):
            _track, offset = _vint(body, 0, keep_marker=False)
            relative = int.from_bytes(body[offset : offset + 2], "big", signed=True)
            times.append(cluster_time + relative)
        pos = end
    span = (max(times) - min(times)) * scale / 1_000_000 if times else 0
    return {"codecs": codecs, "blocks": len(times), "duration_ms": span}
