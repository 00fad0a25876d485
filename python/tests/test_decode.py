"""``decode`` against the ground truth of the decode suites and against PyAV on the same file."""

import pytest

import kinesis_video_parser as kvp

pytestmark = pytest.mark.skipif(not kvp.HAS_DECODE, reason="!!!!!!!! SKIPPED: built without decode !!!!!!!!")


def test_every_frame_of_a_get_media_body_decodes(kvs_java):
    images = list(kvp.decode(kvs_java / "output_get_media.mkv"))
    assert len(images) == 300
    first = images[0]
    assert first.array.shape == (360, 640, 3) and first.array.dtype.name == "uint8"
    assert [i.keyframe for i in images].count(True) == 5
    assert images[0].fragment_number == "91343852333181432392682062607743920146159169392"
    assert images[-1].producer_timestamp_ms == 1511852116513
    pts = [i.pts_ns for i in images]
    assert pts == sorted(pts)


def test_keyframes_only_and_scaling(kvs_java):
    images = list(kvp.decode(kvs_java / "output_get_media.mkv", keyframes_only=True, width=320))
    assert len(images) == 5 and all(i.keyframe for i in images)
    assert {i.array.shape for i in images} == {(180, 320, 3)}
    assert [i.fragment_index for i in images] == list(range(5))


def test_pictures_equal_pyav_on_the_same_frames(generated):
    av = pytest.importorskip("av")
    np = pytest.importorskip("numpy")
    path = generated / "h264_gop1s.mkv"
    ours = list(kvp.decode(path))
    with av.open(str(path)) as c:
        theirs = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    assert len(ours) == len(theirs) > 0
    # The same decoder library; the conversions to RGB round differently: the mean absolute
    # difference of every picture, as the Rust decode suite checks against the ffmpeg CLI.
    worst = max(float(np.abs(a.array.astype(int) - b.astype(int)).mean()) for a, b in zip(ours, theirs))
    assert worst < 2


def test_built_without_decode_says_so():
    if kvp.HAS_DECODE:
        return
    with pytest.raises(RuntimeError, match="without decoding"):
        next(kvp.decode(b""))
