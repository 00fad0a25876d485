"""The Python package against its anchors, in one run (medians):

- ``read``: every fragment (tags and frames) of a GetMedia body through ``kvp.read``, fed
  from a botocore ``StreamingBody`` as boto3 hands it over, against AWS's Python consumer
  library on the same bytes fed as boto3 iterates them (1 KiB chunks; run from
  ``../shared/anchors``, never copied here);
- ``decode``: ``kvp.decode`` against PyAV decoding the same frames to the same RGB arrays.

usage: python3 python/bench/bench.py [--runs N]   (needs ../shared beside the repository)
"""

import argparse
import io
import json
import pathlib
import statistics
import subprocess
import sys
import time

import kinesis_video_parser as kvp

REPO = pathlib.Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared"
GET_MEDIA = SHARED / "testdata" / "kvs-java" / "output_get_media.mkv"
ANCHOR = SHARED / "anchors" / "aws-python-consumer" / "bench.py"


def median_seconds(fn, runs, setup=lambda: None):
    """Median time of ``fn(setup())``, the setup untimed (as the anchor's script times only
    its parser's run)."""
    times = []
    for _ in range(runs):
        arg = setup()
        t0 = time.perf_counter()
        fn(arg)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def streaming_body(data):
    from botocore.response import StreamingBody

    return StreamingBody(io.BytesIO(data), len(data))


def kvp_read_all(source):
    frags = list(kvp.read(source))
    assert sum(len(f.frames) for f in frags) == 300 and len(frags) == 5
    return len(frags)


def anchor_read(path, runs):
    out = []
    for _ in range(runs):
        line = subprocess.run([sys.executable, str(ANCHOR), str(path)], check=True,
                              capture_output=True, text=True).stdout
        out.append(json.loads(line))
    return statistics.median(o["seconds"] for o in out), out[0]["fragments"]


def pyav_decode(path):
    import av

    with av.open(str(path)) as c:
        return sum(1 for f in c.decode(video=0) if f.to_ndarray(format="rgb24") is not None)


def kvp_decode(path):
    return sum(1 for _ in kvp.decode(path))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=15)
    args = ap.parse_args()
    data = GET_MEDIA.read_bytes()
    mb = len(data) / 1e6
    ours = median_seconds(kvp_read_all, args.runs, lambda: streaming_body(data))
    ours_mem = median_seconds(kvp_read_all, args.runs, lambda: data)
    theirs, their_fragments = anchor_read(GET_MEDIA, max(3, args.runs // 5))
    rows = [
        ("read: kvp.read(StreamingBody)", ours, 5, mb / ours),
        ("read: kvp.read(bytes)", ours_mem, 5, mb / ours_mem),
        ("read: AWS Python consumer library", theirs, their_fragments, mb / theirs),
    ]
    print(f"GetMedia body {GET_MEDIA.name}: {len(data):,} bytes, 5 fragments, 300 frames")
    print(f"{'':40} {'median':>10} {'fragments':>9} {'MB/s':>9}")
    for name, s, n, rate in rows:
        print(f"{name:40} {s * 1e3:8.2f}ms {n:9} {rate:9.1f}")
    print(f"kvp.read(StreamingBody) is {theirs / ours:.0f}x the AWS library, and delivers "
          f"{5 - their_fragments} more fragment(s)")
    if kvp.HAS_DECODE:
        runs = max(3, args.runs // 3)
        n = kvp_decode(GET_MEDIA)
        assert n == pyav_decode(GET_MEDIA) == 300
        d_ours = median_seconds(kvp_decode, runs, lambda: GET_MEDIA)
        d_theirs = median_seconds(pyav_decode, runs, lambda: GET_MEDIA)
        print(f"decode 300 frames 640x360 to RGB: kvp.decode {d_ours * 1e3:.1f} ms, "
              f"PyAV {d_theirs * 1e3:.1f} ms: {d_theirs / d_ours:.2f}x")
    else:
        print("decode: this build has no decoding (HAS_DECODE is False)")


if __name__ == "__main__":
    main()
