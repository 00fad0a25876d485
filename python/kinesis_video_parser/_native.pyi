"""Type stubs of the native module (the Rust crate's readers)."""

from os import PathLike
from typing import Iterator, List, Optional, Tuple, Union

Source = Union[str, "PathLike[str]", bytes, bytearray, memoryview, object]
"""A path, a bytes-like object, or a binary file object (anything with ``read``)."""

HAS_DECODE: bool
"""Whether this build decodes (``decode``); see the README, section Python."""

class KvsError(Exception):
    """Base of every error the package raises."""

class ParseError(KvsError):
    """The input is not valid Matroska/KVS."""
    offset: int
    """The byte where it went wrong."""
    kind: str
    """The rule it broke (``InvalidVint``, ``SizeOverrun``, …)."""

class TruncatedError(ParseError):
    """The input ended inside an element."""

class ReadError(KvsError):
    """Reading the source failed (never taken for its end); the cause is chained."""
    offset: int
    kind: str

class ServiceError(KvsError):
    """Kinesis Video Streams failed, after the retries."""
    stream: str

class DecodeError(KvsError):
    """A frame could not be decoded."""

class FrameData:
    """A frame's payload: a read-only buffer over the bytes read (no copy)."""
    def __len__(self) -> int: ...
    def __bytes__(self) -> bytes: ...
    def __buffer__(self, flags: int) -> memoryview: ...

class Frame:
    track: int
    pts_ns: int
    duration_ns: Optional[int]
    keyframe: bool
    fragment_index: int
    offset: int
    """Byte offset of the payload in the source."""
    fragment_number: Optional[str]
    producer_timestamp_ms: Optional[int]
    server_timestamp_ms: Optional[int]
    position: Optional[int]
    """Live and archive readers: the frame's position in its fragment."""
    size: int
    data: FrameData

class Fragment:
    index: int
    fragment_number: Optional[str]
    server_timestamp_ms: Optional[int]
    producer_timestamp_ms: Optional[int]
    millis_behind_now: Optional[int]
    continuation_token: Optional[str]
    error_id: Optional[str]
    complete: bool
    truncated: bool
    damaged: bool
    tags: List[Tuple[str, Union[str, bytes, None]]]
    frames: List[Frame]
    damage: List[Tuple[int, int, str]]
    """``(offset, length, reason)`` of each piece of damage skipped inside it."""
    offset: int
    end_offset: int
    cluster_timestamp_ns: Optional[int]
    stream: Optional[str]
    tracks: List[dict]
    """``number, kind, codec_id, codec_private, width, height`` of each track."""

class FragmentReader(Iterator[Fragment]):
    errors: List[ParseError]
    """What was read past with ``strict=False``: truncation and damage, with offsets."""
    def __next__(self) -> Fragment: ...

class FrameReader(Iterator[Frame]):
    errors: List[ParseError]
    def __next__(self) -> Frame: ...

def read(source: Source, strict: bool = False) -> FragmentReader:
    """The fragments of ``source``, in order. With ``strict``, truncation and damage raise
    (``TruncatedError``, ``ParseError``; reading may go on after); without, they are in
    ``errors`` and on the fragments (``truncated``, ``damaged``, ``complete``)."""

def frames(source: Source, strict: bool = False) -> FrameReader:
    """The frames of ``source``, in order, each with its fragment's number and timestamps."""

class LiveFrames(Iterator[Frame]):
    def __next__(self) -> Frame: ...

class GetMediaConsumer(Iterator[Fragment]):
    """A live stream, fragment by fragment, exactly once across dropped connections.

    ``start``: ``now``, ``earliest``, ``fragment:N`` (after N), ``token:T``,
    ``producer-ts:MS`` or ``server-ts:MS``. ``checkpoint``: a JSON file of resume points,
    saved after each fragment taken; a restart resumes at the fragment in flight."""
    errors: List[ServiceError]
    def __init__(self, stream: str, start: str = "now", endpoint_url: Optional[str] = None,
                 region: Optional[str] = None, checkpoint: Optional[Union[str, "PathLike[str]"]] = None,
                 *, max_failures: int = 10, read_timeout_ms: int = 10000) -> None: ...
    def __next__(self) -> Fragment: ...
    def frames(self) -> LiveFrames: ...
    def resume_point(self) -> str: ...
    def close(self) -> None: ...

class ArchiveReader(Iterator[Fragment]):
    """A time range (inclusive, ms since the epoch on the ``time`` clock: ``producer`` or
    ``server``), fragment by fragment in time order, each exactly once."""
    missing: List[str]
    errors: List[ServiceError]
    def __init__(self, stream: str, start_ms: int, end_ms: int, time: str = "producer",
                 endpoint_url: Optional[str] = None, region: Optional[str] = None,
                 parallel: int = 4, *, fragments: Optional[List[dict]] = None,
                 checkpoint: Optional[Union[str, "PathLike[str]"]] = None,
                 on_missing: str = "raise", batch: int = 100,
                 bytes_per_second: Optional[int] = 25000000) -> None: ...
    def list(self) -> List[dict]: ...
    def __next__(self) -> Fragment: ...

class RawImage:
    """One decoded picture (only in builds with ``decode``): RGB rows, 3 bytes a pixel."""
    rgb: FrameData
    width: int
    height: int
    pts_ns: int
    keyframe: bool
    track: int
    fragment_index: int
    fragment_number: Optional[str]
    producer_timestamp_ms: Optional[int]
    server_timestamp_ms: Optional[int]

class ImageReader(Iterator[RawImage]):
    errors: List[DecodeError]
    """Frames that could not be decoded (decoding went on at the next keyframe)."""
    def __next__(self) -> RawImage: ...

def decode_raw(source: Source, keyframes_only: bool = False, width: Optional[int] = None,
               height: Optional[int] = None, track: Optional[int] = None) -> ImageReader:
    """Only in builds with ``decode``; ``kinesis_video_parser.decode`` wraps it."""
