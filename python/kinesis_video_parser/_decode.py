"""``decode``: frames to RGB numpy arrays, through the system FFmpeg (built in only when the
package was built with its ``decode`` feature; ``HAS_DECODE`` says)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator, Optional

from . import _native


@dataclass(frozen=True)
class Image:
    """One decoded picture and where it came from."""

    array: Any
    """numpy ``uint8`` array of shape (height, width, 3), RGB."""
    pts_ns: int
    keyframe: bool
    track: int
    fragment_index: int
    fragment_number: Optional[str]
    producer_timestamp_ms: Optional[int]
    server_timestamp_ms: Optional[int]


def decode(source, keyframes_only: bool = False, width: Optional[int] = None,
           height: Optional[int] = None, track: Optional[int] = None) -> Iterator[Image]:
    """The pictures of the first video track of ``source`` (or of ``track``), in order.

    ``keyframes_only`` decodes keyframes only (the others are not decoded at all);
    ``width``/``height`` scale (one of them keeps the aspect ratio). Raises ``RuntimeError``
    when the package was built without decoding.
    """
    if not _native.HAS_DECODE:
        raise RuntimeError(
            "kinesis_video_parser was built without decoding: reinstall with the FFmpeg "
            "development packages and MATURIN_PEP517_ARGS=\"--features decode\" "
            "(see the README, section Python)")
    import numpy as np

    for pic in _native.decode_raw(source, keyframes_only, width, height, track):
        array = np.frombuffer(pic.rgb, dtype=np.uint8).reshape(pic.height, pic.width, 3)
        yield Image(array, pic.pts_ns, pic.keyframe, pic.track, pic.fragment_index,
                    pic.fragment_number, pic.producer_timestamp_ms, pic.server_timestamp_ms)
