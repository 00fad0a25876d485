"""The live consumer and the archive reader against the stand-in service (the Rust suites'
stand-in, run as a process), with a connection cut mid-fragment."""

import pytest

import kinesis_video_parser as kvp
from conftest import StandIn
from test_read import GET_MEDIA

NUMBERS = [g[0] for g in GET_MEDIA]
EVERYTHING = (0, 2**62)


@pytest.fixture
def service(kvs_java):
    s = StandIn({"cam": kvs_java / "output_get_media.mkv"}, cut=2)
    yield s
    s.close()


def test_live_fragments_exactly_once_across_a_cut(service, kvs_java):
    want = {f.fragment_number: f for f in kvp.read(kvs_java / "output_get_media.mkv")}
    consumer = kvp.GetMediaConsumer("cam", start="earliest", endpoint_url=service.url)
    got = []
    for frag in consumer:
        got.append(frag)
        if len(got) == 5:
            break
    consumer.close()
    assert [f.fragment_number for f in got] == NUMBERS
    assert [f.index for f in got] == list(range(5))
    for f in got:
        w = want[f.fragment_number]
        assert f.stream == "cam" and f.complete
        assert f.producer_timestamp_ms == w.producer_timestamp_ms
        assert [(x.pts_ns, x.keyframe, bytes(x.data)) for x in f.frames] == \
            [(x.pts_ns, x.keyframe, bytes(x.data)) for x in w.frames]
        assert [x.position for x in f.frames] == list(range(60))


def test_live_frames_exactly_once_across_a_cut(service):
    consumer = kvp.GetMediaConsumer("cam", start="earliest", endpoint_url=service.url)
    seen = []
    for frame in consumer.frames():
        seen.append((frame.fragment_number, frame.position))
        if len(seen) == 300:
            break
    assert seen == [(n, p) for n in NUMBERS for p in range(60)]


def test_a_checkpoint_resumes_at_the_fragment_in_flight(service, tmp_path):
    ckpt = tmp_path / "ckpt.json"
    first = kvp.GetMediaConsumer("cam", start="earliest", endpoint_url=service.url, checkpoint=ckpt)
    taken = [next(first).fragment_number, next(first).fragment_number]
    first.close()
    # The first fragment was saved when the second was asked for; the second was in flight.
    again = kvp.GetMediaConsumer("cam", start="earliest", endpoint_url=service.url, checkpoint=ckpt)
    assert next(again).fragment_number == taken[1] == NUMBERS[1]
    assert next(again).fragment_number == NUMBERS[2]


def test_a_stream_that_is_not_there_is_a_service_error(service):
    consumer = kvp.GetMediaConsumer("nope", start="earliest", endpoint_url=service.url, max_failures=2)
    with pytest.raises(kvp.ServiceError) as e:
        next(consumer)
    assert e.value.stream == "nope"


def test_bad_start_is_a_value_error(service):
    with pytest.raises(ValueError):
        kvp.GetMediaConsumer("cam", start="yesterday", endpoint_url=service.url)


def test_archive_in_order_exactly_once_across_a_cut(service):
    reader = kvp.ArchiveReader("cam", *EVERYTHING, endpoint_url=service.url, parallel=2, batch=2)
    listed = reader.list()
    assert [f["fragment_number"] for f in listed] == NUMBERS
    assert [f["producer_timestamp_ms"] for f in listed] == [g[2] for g in GET_MEDIA]
    frags = list(reader)
    assert [f.fragment_number for f in frags] == NUMBERS
    assert [len(f.frames) for f in frags] == [60] * 5
    assert all(f.complete for f in frags)


def test_archive_time_range_is_inclusive_on_the_chosen_clock(service):
    producer = [g[2] for g in GET_MEDIA]
    reader = kvp.ArchiveReader("cam", producer[1], producer[3], endpoint_url=service.url)
    assert [f.fragment_number for f in reader] == NUMBERS[1:4]
    server = [g[1] for g in GET_MEDIA]
    reader = kvp.ArchiveReader("cam", server[3], server[4], time="server", endpoint_url=service.url)
    assert [f.fragment_number for f in reader] == NUMBERS[3:5]


def test_archive_reads_a_given_share_of_a_listing(service):
    listed = kvp.ArchiveReader("cam", *EVERYTHING, endpoint_url=service.url).list()
    share = listed[3:]
    reader = kvp.ArchiveReader("cam", *EVERYTHING, endpoint_url=service.url, fragments=share)
    assert [f.fragment_number for f in reader] == NUMBERS[3:]
