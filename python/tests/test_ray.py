"""``kinesis_video_parser.ray`` on a local Ray cluster against the stand-in service."""

import pathlib
import time

import pytest

ray = pytest.importorskip("ray")

import kinesis_video_parser as kvp  # noqa: E402
from kinesis_video_parser import ray as kvp_ray  # noqa: E402
from conftest import StandIn  # noqa: E402
from test_read import GET_MEDIA  # noqa: E402

NUMBERS = [g[0] for g in GET_MEDIA]


@pytest.fixture(scope="module")
def cluster():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"AWS_ACCESS_KEY_ID": "AKIDTESTTESTTEST",
                                       "AWS_SECRET_ACCESS_KEY": "secret",
                                       "AWS_REGION": "us-east-1",
                                       "AWS_CONFIG_FILE": "/nonexistent",
                                       "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
                                       "AWS_EC2_METADATA_DISABLED": "true"}})
    yield
    ray.shutdown()


@pytest.fixture
def service(kvs_java):
    s = StandIn({"cam": kvs_java / "output_get_media.mkv"}, cut=1)
    yield s
    s.close()


def test_read_kvs_every_frame_exactly_once_over_several_tasks(cluster, service, kvs_java):
    want = [(f.fragment_number, fr.pts_ns, fr.keyframe, bytes(fr.data))
            for f in kvp.read(kvs_java / "output_get_media.mkv") for fr in f.frames]
    ds = kvp_ray.read_kvs("cam", 0, 2**62, endpoint_url=service.url, fragments_per_task=2)
    rows = ds.take_all()
    got = sorted((r["fragment_number"], r["pts_ns"], r["keyframe"], r["data"]) for r in rows)
    assert got == sorted(want)
    assert {r["stream"] for r in rows} == {"cam"}
    assert all(r["size"] == len(r["data"]) for r in rows)
    by_number = {g[0]: g for g in GET_MEDIA}
    assert all(r["producer_timestamp_ms"] == by_number[r["fragment_number"]][2] for r in rows)
    # 5 fragments, 2 per task: 3 read tasks, each of its share of the one listing.
    source = kvp_ray.ArchiveDatasource("cam", 0, 2**62, "producer", service.url, None, 2, False, False)
    shares = [[f["fragment_number"] for f in b] for b in source.batches]
    assert shares == [NUMBERS[0:2], NUMBERS[2:4], NUMBERS[4:]]
    assert len(source.get_read_tasks(2)) == 3


def test_read_kvs_decoded_keyframes(cluster, service):
    pytest.importorskip("av")
    ds = kvp_ray.read_kvs("cam", 0, 2**62, endpoint_url=service.url, fragments_per_task=2,
                          decode=True, keyframes_only=True)
    rows = sorted(ds.take_all(), key=lambda r: r["pts_ns"])
    assert [r["fragment_number"] for r in rows] == NUMBERS
    assert all(r["keyframe"] for r in rows)
    assert [r["pts_ns"] for r in rows] == [g[4] * 1_000_000 for g in GET_MEDIA]
    assert {r["image"].shape for r in rows} == {(360, 640, 3)}
    # The same picture as the package's own decoder gives for that keyframe.
    if kvp.HAS_DECODE:
        import numpy as np
        ours = next(iter(kvp.decode(kvp_ray_source(), keyframes_only=True)))
        # Two scalers' rounding: the mean absolute difference, as the Rust decode suite checks.
        assert float(np.abs(ours.array.astype(int) - rows[0]["image"].astype(int)).mean()) < 2


def kvp_ray_source():
    from conftest import shared
    return shared("kvs-java") / "output_get_media.mkv"


def test_follow_resumes_from_its_checkpoint_after_the_actor_is_killed(cluster, service, tmp_path):
    out = tmp_path / "seen.txt"

    def handle(frag, out=str(out)):
        import os
        with open(out, "a") as f:
            f.write(f"{os.getpid()} {frag.fragment_number}\n")
        time.sleep(0.5)

    followers = kvp_ray.follow(["cam"], handle, str(tmp_path / "ckpt"), start="earliest",
                               endpoint_url=service.url)
    actor = followers.actors["cam"]

    def lines():
        return [ln.split() for ln in out.read_text().splitlines()] if out.exists() else []

    def seen():
        return [number for _, number in lines()]

    deadline = time.time() + 60
    while len(seen()) < 2:
        assert time.time() < deadline, "the follower never started"
        time.sleep(0.05)
    ray.kill(actor, no_restart=False)
    while len(set(seen())) < 5:
        assert time.time() < deadline, f"not every fragment after the restart: {seen()}"
        time.sleep(0.1)
    followers.stop()
    got = seen()
    # Every fragment, in order; only the fragment in flight when it died came twice.
    firsts = list(dict.fromkeys(got))
    assert firsts == NUMBERS
    assert len(got) - len(firsts) <= 1
    # Two lives of the actor: the second began where the first's checkpoint said.
    pids = list(dict.fromkeys(pid for pid, _ in lines()))
    assert len(pids) == 2
    first_life = [n for pid, n in lines() if pid == pids[0]]
    second_life = [n for pid, n in lines() if pid == pids[1]]
    assert second_life[0] in (first_life[-1], NUMBERS[NUMBERS.index(first_life[-1]) + 1])
    assert first_life + second_life[second_life[0] == first_life[-1]:] == NUMBERS
