"""Fragments, frames, tags and images from Amazon Kinesis Video Streams.

The parser is the Rust crate ``kinesis-video-parser``: zero-copy (a frame's ``data`` is a
read-only buffer over the bytes read), incremental, and it runs with the GIL released.

>>> import kinesis_video_parser as kvp
>>> for frag in kvp.read("getmedia.mkv"):                      # doctest: +SKIP
...     print(frag.fragment_number, frag.producer_timestamp_ms, len(frag.frames))
"""

from ._native import (
    HAS_DECODE,
    ArchiveReader,
    DecodeError,
    Fragment,
    FragmentReader,
    Frame,
    FrameData,
    FrameReader,
    GetMediaConsumer,
    KvsError,
    LiveFrames,
    ParseError,
    ReadError,
    ServiceError,
    TruncatedError,
    frames,
    read,
)
from ._decode import Image, decode

__all__ = [
    "HAS_DECODE",
    "ArchiveReader",
    "DecodeError",
    "Fragment",
    "FragmentReader",
    "Frame",
    "FrameData",
    "FrameReader",
    "GetMediaConsumer",
    "Image",
    "KvsError",
    "LiveFrames",
    "ParseError",
    "ReadError",
    "ServiceError",
    "TruncatedError",
    "decode",
    "frames",
    "read",
]
