"""Janus's recording format (.mjr, "MJR00002"): its header, its RTP packets, and what a VP8 frame shows.

Layout: "MJR00002", a 2-byte length and a JSON header ("t" type, "c" codec, "e" end-to-end encrypted), then
per packet "MEET", a 4-byte time offset, a 2-byte length and the RTP packet as Janus received it.
"""

import json
import struct
from dataclasses import dataclass
from pathlib import Path

MAGIC = b"MJR00002"


@dataclass
class Recording:
    header: dict
    packets: list[bytes]

    @property
    def encrypted(self) -> bool:
        return self.header.get("e") is True


def mjr_read(path: Path) -> Recording:
    data = path.read_bytes()
    if not data.startswith(MAGIC):
        raise ValueError(f"{path.name} is not an MJR00002 recording")
    (length,) = struct.unpack_from(">H", data, 8)
    header = json.loads(data[10 : 10 + length])
    packets, at = [], 10 + length
    while at + 10 <= len(data):
        if data[at : at + 4] != b"MEET":
            raise ValueError(f"{path.name}: no packet marker at {at}")
        (size,) = struct.unpack_from(">H", data, at + 8)
        packets.append(data[at + 10 : at + 10 + size])
        at += 10 + size
    return Recording(header, packets)


def mjr_without_e2ee_flag(source: Path, target: Path) -> None:
    """A copy whose header no longer says "end-to-end encrypted", so that janus-pp-rec tries to convert it."""
    recording = mjr_read(source)
    header = {k: v for k, v in recording.header.items() if k != "e"}
    text = json.dumps(header, separators=(",", ":")).encode()
    data = source.read_bytes()
    (old,) = struct.unpack_from(">H", data, 8)
    target.write_bytes(MAGIC + struct.pack(">H", len(text)) + text + data[10 + old :])


def rtp_payload(packet: bytes) -> bytes:
    """The payload of an RTP packet: past CSRCs and header extensions, without padding."""
    if len(packet) < 12:
        return b""
    count, extension, padding = packet[0] & 0x0F, packet[0] & 0x10, packet[0] & 0x20
    at = 12 + 4 * count
    if extension:
        (words,) = struct.unpack_from(">H", packet, at + 2)
        at += 4 + 4 * words
    end = len(packet) - (packet[-1] if padding else 0)
    return packet[at:end]


def vp8_frame_start(payload: bytes) -> bytes | None:
    """The first bytes of a VP8 frame, when this packet starts one (RFC 7741 payload descriptor)."""
    if not payload:
        return None
    first = payload[0]
    start, partition = first & 0x10, first & 0x07
    if not start or partition != 0:
        return None
    at = 1
    if first & 0x80:  # extended control bits
        bits = payload[1]
        at = 2
        if bits & 0x80:  # picture id, 7 or 15 bits
            at += 2 if payload[at] & 0x80 else 1
        if bits & 0x40:  # TL0PICIDX
            at += 1
        if bits & 0x30:  # TID / KEYIDX
            at += 1
    return payload[at:]


def vp8_key_frames(recording: Recording) -> list[tuple[int, int]]:
    """(width, height) of every key frame, read from the 10 bytes the E2EE frame format leaves clear."""
    sizes = []
    for packet in recording.packets:
        frame = vp8_frame_start(rtp_payload(packet))
        if frame is None or len(frame) < 10 or frame[0] & 0x01:  # bit 0 set: an inter frame
            continue
        if frame[3:6] == b"\x9d\x01\x2a":
            width, height = struct.unpack_from("<HH", frame, 6)
            sizes.append((width & 0x3FFF, height & 0x3FFF))
    return sizes
