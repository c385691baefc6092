"""Writes the alert sounds (short, mono, 16 kHz): ``python resources/sounds/make_sounds.py``.

Made from sine tones here rather than taken from elsewhere, so there is no licence to track.
"""

from __future__ import annotations

import math
import struct
import wave
from pathlib import Path

RATE = 16_000


def _tone(freq: float, seconds: float, volume: float = 0.5) -> list[float]:
    n = int(RATE * seconds)
    fade = int(RATE * 0.01)  # 10 ms ramps: no clicks
    out = []
    for i in range(n):
        env = min(1.0, i / fade, (n - i) / fade)
        out.append(volume * env * math.sin(2 * math.pi * freq * i / RATE))
    return out


def _silence(seconds: float) -> list[float]:
    return [0.0] * int(RATE * seconds)


def _write(path: Path, samples: list[float]) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(b"".join(struct.pack("<h", round(s * 32767)) for s in samples))


SOUNDS = {
    # A new grade I (immediate) incident: two rising tones.
    "new-immediate.wav": _tone(880, 0.15) + _silence(0.05) + _tone(1320, 0.2),
    # An incident passed its attendance target: three low, insistent beeps.
    "breach.wav": (_tone(523, 0.12, 0.6) + _silence(0.06)) * 2 + _tone(523, 0.2, 0.6),
    # The connection to the server was lost: one falling tone.
    "offline.wav": _tone(660, 0.15) + _tone(440, 0.25),
}


if __name__ == "__main__":
    here = Path(__file__).resolve().parent
    for name, samples in SOUNDS.items():
        _write(here / name, samples)
        print(name, (here / name).stat().st_size, "bytes")
