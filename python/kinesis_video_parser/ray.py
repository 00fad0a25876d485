"""Scale-out on Ray: an archive range as a ``ray.data.Dataset`` (one read task per batch of
fragments, every frame exactly once), and live streams followed by restartable actors.

``ray`` is an optional dependency: ``pip install "./python[ray]"``.
"""

from __future__ import annotations

import os
import time as _time
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence

import ray
from ray.data.block import BlockMetadata
from ray.data.datasource import Datasource, ReadTask

from . import _native

FRAME_COLUMNS = ("stream", "fragment_number", "producer_timestamp_ms", "server_timestamp_ms",
                 "track", "pts_ns", "keyframe", "size")


def _rows(stream: str, fragments: Iterable[Any], want_data: bool) -> Dict[str, list]:
    cols: Dict[str, list] = {c: [] for c in FRAME_COLUMNS}
    if want_data:
        cols["data"] = []
    for frag in fragments:
        for f in frag.frames:
            cols["stream"].append(stream)
            cols["fragment_number"].append(frag.fragment_number)
            cols["producer_timestamp_ms"].append(frag.producer_timestamp_ms)
            cols["server_timestamp_ms"].append(frag.server_timestamp_ms)
            cols["track"].append(f.track)
            cols["pts_ns"].append(f.pts_ns)
            cols["keyframe"].append(f.keyframe)
            cols["size"].append(f.size)
            if want_data:
                cols["data"].append(bytes(f.data))
    return cols


class ArchiveDatasource(Datasource):
    """The listed fragments of a range, split into read tasks of ``fragments_per_task``."""

    def __init__(self, stream, start_ms, end_ms, time, endpoint_url, region, fragments_per_task,
                 decode, keyframes_only):
        self.stream, self.start_ms, self.end_ms, self.time = stream, start_ms, end_ms, time
        self.endpoint_url, self.region = endpoint_url, region
        self.decode, self.keyframes_only = decode, keyframes_only
        # Listed once, here on the driver; the tasks read their shares without listing again.
        listed = _native.ArchiveReader(stream, start_ms, end_ms, time=time,
                                       endpoint_url=endpoint_url, region=region).list()
        n = max(1, int(fragments_per_task))
        self.batches: List[List[dict]] = [listed[i:i + n] for i in range(0, len(listed), n)]

    def estimate_inmemory_data_size(self) -> Optional[int]:
        return sum(f["size"] for b in self.batches for f in b)

    def get_read_tasks(self, parallelism: int, **_: Any) -> List[ReadTask]:
        return [self._task(batch) for batch in self.batches]

    def _task(self, batch: List[dict]) -> ReadTask:
        args = (self.stream, self.start_ms, self.end_ms, self.time, self.endpoint_url, self.region,
                batch, self.decode, self.keyframes_only)
        meta = BlockMetadata(num_rows=None, size_bytes=sum(f["size"] for f in batch),
                             exec_stats=None, input_files=None)
        return ReadTask(lambda: [_read_batch(*args)], meta)


def _read_batch(stream, start_ms, end_ms, time, endpoint_url, region, batch, decode,
                keyframes_only):
    import pyarrow as pa

    reader = _native.ArchiveReader(stream, start_ms, end_ms, time=time, endpoint_url=endpoint_url,
                                   region=region, fragments=batch, parallel=1)
    fragments = list(reader)
    if not decode:
        return pa.table(_rows(stream, fragments, want_data=True))
    return _decoded_block(stream, fragments, keyframes_only)


def _decoded_block(stream, fragments, keyframes_only):
    """One row per decoded picture; ``image`` an RGB array. Frames are decoded by PyAV
    from the track's codec and CodecPrivate, each fragment from its keyframe."""
    import av
    import numpy as np
    import pandas as pd

    rows: Dict[str, list] = {c: [] for c in FRAME_COLUMNS}
    rows["image"] = []
    for frag in fragments:
        video = next((t for t in frag.tracks if t["kind"] == "video"), None)
        if video is None:
            continue
        ctx = av.CodecContext.create(_PYAV_CODECS[video["codec_id"]], "r")
        if video["codec_private"]:
            ctx.extradata = video["codec_private"]
        # Pictures come out in presentation order, later than their packets: each is
        # matched to its frame by its pts, which the decoder carries through.
        sent = {}
        for f in frag.frames:
            if f.track != video["number"] or (keyframes_only and not f.keyframe):
                continue
            packet = av.Packet(bytes(f.data))
            packet.pts = f.pts_ns
            sent[f.pts_ns] = f
            for picture in ctx.decode(packet):
                _append_picture(rows, stream, frag, sent[picture.pts], picture.to_ndarray(format="rgb24"))
        for picture in ctx.decode(None):
            _append_picture(rows, stream, frag, sent[picture.pts], picture.to_ndarray(format="rgb24"))
    return pd.DataFrame({k: (list(v) if k == "image" else v) for k, v in rows.items()})


_PYAV_CODECS = {"V_MPEG4/ISO/AVC": "h264", "V_MPEGH/ISO/HEVC": "hevc", "V_VP8": "vp8",
                "V_VP9": "vp9", "V_AV1": "av1"}


def _append_picture(rows, stream, frag, frame, array):
    for k, v in (("stream", stream), ("fragment_number", frag.fragment_number),
                 ("producer_timestamp_ms", frag.producer_timestamp_ms),
                 ("server_timestamp_ms", frag.server_timestamp_ms), ("track", frame.track),
                 ("pts_ns", frame.pts_ns), ("keyframe", frame.keyframe), ("size", frame.size),
                 ("image", array)):
        rows[k].append(v)


def read_kvs(stream: str, start_ms: int, end_ms: int, time: str = "producer",
             endpoint_url: Optional[str] = None, region: Optional[str] = None,
             fragments_per_task: int = 50, decode: bool = False,
             keyframes_only: bool = False) -> "ray.data.Dataset":
    """The frames of ``stream`` in ``start_ms..=end_ms`` (on the ``time`` clock) as a Dataset,
    one row per frame: ``stream, fragment_number, producer_timestamp_ms, server_timestamp_ms,
    track, pts_ns, keyframe, size`` and ``data`` (bytes), or with ``decode=True`` one row per
    picture with ``image`` (an RGB array) instead.

    The range is listed once, here; each task reads ``fragments_per_task`` fragments of the
    listing with GetMediaForFragmentList, so every frame is read exactly once, whatever the
    parallelism (a task that fails is run again whole by Ray and yields its block once).
    """
    return ray.data.read_datasource(ArchiveDatasource(
        stream, start_ms, end_ms, time, endpoint_url, region, fragments_per_task, decode,
        keyframes_only))


@ray.remote(max_restarts=-1, max_task_retries=-1)
class StreamFollower:
    """One stream's live consumer in an actor. Restarted by Ray when it dies, it resumes from
    its checkpoint: at least once, the repeats limited to the fragment in flight."""

    def __init__(self, stream: str, fn: Callable, checkpoint: str, start: str,
                 endpoint_url: Optional[str], region: Optional[str], frames: bool):
        self.stream, self.fn, self.frames = stream, fn, frames
        self.consumer = _native.GetMediaConsumer(stream, start=start, endpoint_url=endpoint_url,
                                                 region=region, checkpoint=checkpoint)

    def run(self, max_items: Optional[int] = None) -> int:
        """Calls ``fn`` on each fragment (or frame) until it was called ``max_items`` times in
        this run (forever without it); returns how many times it was."""
        handled = 0
        for item in (self.consumer.frames() if self.frames else self.consumer):
            self.fn(item)
            handled += 1
            if max_items is not None and handled >= max_items:
                break
        return handled

    def pid(self) -> int:
        return os.getpid()


class Followers:
    """The actors of :func:`follow`: ``actors`` by stream, ``runs`` their running calls."""

    def __init__(self, actors: Dict[str, Any], runs: Dict[str, Any]):
        self.actors, self.runs = actors, runs

    def stop(self) -> None:
        """Ends every actor for good (no restart)."""
        for a in self.actors.values():
            ray.kill(a, no_restart=True)


def follow(streams: Sequence[str], fn: Callable, checkpoint_dir: str, start: str = "now",
           endpoint_url: Optional[str] = None, region: Optional[str] = None,
           frames: bool = False, max_items: Optional[int] = None) -> Followers:
    """One actor per stream running the live consumer and calling ``fn`` on each fragment (or
    frame, with ``frames=True``). Each stream's checkpoint is ``checkpoint_dir/<stream>.json``
    (on storage every node sees); an actor that dies is restarted by Ray and resumes from it.
    """
    os.makedirs(checkpoint_dir, exist_ok=True)
    actors, runs = {}, {}
    for s in streams:
        path = os.path.join(checkpoint_dir, f"{s.replace('/', '_')}.json")
        actors[s] = StreamFollower.remote(s, fn, path, start, endpoint_url, region, frames)
        runs[s] = actors[s].run.remote(max_items)
    return Followers(actors, runs)
