"""``read`` and ``frames`` on the shared corpus, against its ground truth (the numbers the Rust
suites assert), from every kind of source."""

import io
import pathlib

import pytest

import kinesis_video_parser as kvp

# output_get_media.mkv: (fragment number, server ts, producer ts, ms behind, cluster ms)
GET_MEDIA = [
    ("91343852333181432392682062607743920146159169392", 1511852109126, 1511852108513, 15858, 0),
    ("91343852333181432397633822764885441725874549018", 1511852110915, 1511852110513, 14155, 2000),
    ("91343852333181432402585582922026963247510532162", 1511852112487, 1511852112513, 12940, 4000),
    ("91343852333181432407537343079168484595829378270", 1511852113414, 1511852114513, 12414, 6000),
    ("91343852333181432412489103236310005892133364608", 1511852114147, 1511852116513, 12093, 8000),
]
CHUNK_STARTS = [0, 547925, 1040439, 1523373, 2012579]
USER_TAGS = [
    ("COMPATIBLE_BRANDS", "isomavc1mp42"),
    ("MAJOR_BRAND", "M4V "),
    ("MINOR_VERSION", "1"),
    ("ENCODER", "Lavf57.71.100"),
    ("HANDLER_NAME", "ETI ISO Video Media Handler"),
    ("ENCODER", "Elemental H.264"),
    ("DURATION", "00:00:10.000000000"),
]


def sources(path: pathlib.Path):
    data = path.read_bytes()
    return {
        "str path": str(path),
        "PathLike": path,
        "bytes": data,
        "bytearray": bytearray(data),
        "memoryview": memoryview(data),
        "file": open(path, "rb"),
        "BytesIO": io.BytesIO(data),
        "raw unbuffered file": open(path, "rb", buffering=0),
    }


@pytest.mark.parametrize("kind", list(sources(pathlib.Path(__file__)).keys()))
def test_get_media_fragments_from_every_kind_of_source(kvs_java, kind):
    path = kvs_java / "output_get_media.mkv"
    data = path.read_bytes()
    frags = list(kvp.read(sources(path)[kind]))
    assert len(frags) == 5
    payload = 0
    for i, (f, (number, server, producer, behind, cluster)) in enumerate(zip(frags, GET_MEDIA)):
        assert f.index == i
        assert f.fragment_number == number
        assert f.server_timestamp_ms == server
        assert f.producer_timestamp_ms == producer
        assert f.millis_behind_now == behind
        assert f.continuation_token == number
        assert f.complete and not f.truncated and not f.damaged
        assert f.offset == CHUNK_STARTS[i]
        assert f.cluster_timestamp_ns == cluster * 1_000_000
        assert len(f.frames) == 60
        assert [fr.keyframe for fr in f.frames].count(True) == 1 and f.frames[0].keyframe
        names = [n for n, _ in f.tags]
        # 7 producer tags, then the 3 leading and 2 trailing KVS tags.
        assert [t for t in f.tags if not t[0].startswith("AWS_")] == USER_TAGS
        assert names.count("AWS_KINESISVIDEO_FRAGMENT_NUMBER") == 1
        assert len(names) == 12
        for fr in f.frames:
            assert fr.fragment_index == i
            assert bytes(fr.data) == data[fr.offset:fr.offset + fr.size]
            payload += fr.size
    assert payload == 2_494_505


def test_frame_data_is_a_read_only_view(kvs_java):
    frame = next(iter(kvp.frames(kvs_java / "output_get_media.mkv")))
    view = memoryview(frame.data)
    assert view.readonly and view.format == "B" and view.nbytes == frame.size == len(frame.data)
    with pytest.raises(TypeError):
        view[0] = 0
    # The view keeps its bytes alive when the frame is gone.
    del frame
    assert view.tobytes()[:4] == bytes(view[:4])


def test_frames_carry_their_fragment_keys(kvs_java):
    frames = list(kvp.frames(kvs_java / "output_get_media.mkv"))
    assert len(frames) == 300
    for i, (number, server, producer, _, cluster) in enumerate(GET_MEDIA):
        mine = frames[60 * i:60 * (i + 1)]
        assert {f.fragment_index for f in mine} == {i}
        assert {f.fragment_number for f in mine} == {number}
        assert {f.producer_timestamp_ms for f in mine} == {producer}
        assert {f.server_timestamp_ms for f in mine} == {server}
        assert mine[0].pts_ns == cluster * 1_000_000
    pts = [f.pts_ns for f in frames]
    assert pts == sorted(pts)


def test_producer_sdk_stream_user_tags_and_relative_time(kvs_java):
    frags = list(kvp.read(kvs_java / "test_mixed_tags.mkv"))
    assert len(frags) == 10
    assert [f.producer_timestamp_ms for f in frags] == [5000 * i for i in range(10)]
    for i, f in enumerate(frags):
        user = [t for t in f.tags if not t[0].startswith("AWS_")]
        want = [(f"testTag_{k}", f"testTag_{k}_Value") for k in range(5)]
        assert user == (want * 2 if i == 0 else want)
        assert [fr.size for fr in f.frames] == [100] * 10
        assert f.complete


def test_truncated_capture_keeps_its_cut_fragment(kvs_java):
    path = kvs_java / "output-get-media-equal-timecode.mkv"
    reader = kvp.read(path)
    frags = list(reader)
    assert [len(f.frames) for f in frags] == [120, 119]
    assert frags[0].complete and not frags[1].complete and frags[1].truncated
    assert frags[1].offset == 639_613
    assert frags[1].millis_behind_now is None and frags[1].continuation_token is None
    [err] = reader.errors
    assert isinstance(err, kvp.TruncatedError) and isinstance(err, kvp.ParseError)
    # The cut SimpleBlock starts before the end and declares more than is there.
    assert 1_272_988 <= err.offset <= path.stat().st_size


def test_strict_raises_the_truncation_with_its_offset(kvs_java):
    reader = kvp.read(kvs_java / "output-get-media-equal-timecode.mkv", strict=True)
    first = next(reader)
    assert first.complete
    with pytest.raises(kvp.TruncatedError) as e:
        next(reader)
    assert e.value.offset >= 1_272_988
    # Read past it, the cut fragment still comes.
    rest = list(reader)
    assert len(rest) == 1 and rest[0].truncated


def test_damage_is_skipped_and_every_fragment_after_it_delivered(kvs_java):
    data = bytearray((kvs_java / "output_get_media.mkv").read_bytes())
    # Garble the second chunk's Cluster header (its ID), a few bytes past where it starts.
    cluster = data.index(bytes.fromhex("1f43b675"), CHUNK_STARTS[1])
    data[cluster:cluster + 4] = b"\xff\xff\xff\xff"
    frags = list(kvp.read(bytes(data)))
    numbers = [f.fragment_number for f in frags if f.complete]
    assert [g[0] for g in GET_MEDIA if g[0] not in numbers] == [GET_MEDIA[1][0]]
    assert any(f.damaged or f.damage for f in frags)


class Failing(io.RawIOBase):
    """A file object whose reads fail after ``good`` bytes."""

    def __init__(self, data, good):
        self.data, self.good, self.pos = data, good, 0

    def readable(self):
        return True

    def read(self, n=-1):
        if self.pos >= self.good:
            raise ConnectionResetError("the peer hung up")
        out = self.data[self.pos:min(self.pos + n, self.good)]
        self.pos += len(out)
        return out


def test_a_failing_read_is_an_error_never_an_end(kvs_java):
    data = (kvs_java / "output_get_media.mkv").read_bytes()
    reader = kvp.read(Failing(data, CHUNK_STARTS[2] + 100))
    got = []
    with pytest.raises(kvp.ReadError) as e:
        for f in reader:
            got.append(f.fragment_number)
    assert got == [GET_MEDIA[0][0], GET_MEDIA[1][0]]
    assert isinstance(e.value.__cause__, ConnectionResetError)
    assert e.value.offset == CHUNK_STARTS[2] + 100
    assert list(reader) == []


def test_not_a_source_is_a_type_error():
    with pytest.raises(TypeError):
        kvp.read(42)


def test_garbage_is_no_fragment_and_no_exception():
    assert list(kvp.read(b"\x00" * 1000)) == []
