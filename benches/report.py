#!/usr/bin/env python3
"""Prints the README's tables from the last `cargo bench --bench parse` and `--bench archive` runs.

Reads criterion's estimates (target/criterion/<input>/<entry>/new/estimates.json: the median of
the sample means) and the .work files the bench writes next to them (input bytes, frames and
payload bytes delivered, ours for comparison). Usage: benches/report.py [TARGET_DIR]
"""
import json
import os
import sys

INPUTS = ["small", "large", "opus", "opus_laced", "getmedia"]
OURS = ["ours/memory", "ours/borrowed", "ours/stream", "ours/async"]
PEERS = ["matroska-demuxer", "webm-iterable", "symphonia-format-mkv", "mkvparser"]


def median_s(root, group, who):
    """Criterion's median of an entry's sample means, in seconds (None if it did not run)."""
    path = os.path.join(root, "criterion", group, who.replace("/", "_"), "new", "estimates.json")
    try:
        with open(path) as f:
            return json.load(f)["median"]["point_estimate"] / 1e9
    except (OSError, ValueError, KeyError):
        return None


def load(root, name, who):
    s = median_s(root, name, who)
    try:
        with open(os.path.join(root, "criterion", name, who.replace("/", "_") + ".work")) as f:
            size, frames, payload, our_frames, our_payload = map(int, f.read().split())
    except (OSError, ValueError):
        return None
    if s is None:
        return None
    return dict(s=s, bytes=size, frames=frames, our_frames=our_frames)


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "target")
    print("| input | parser | median | frames/s | MB/s | memory vs it | borrowed vs it | frames delivered |")
    print("|---|---|---:|---:|---:|---:|---:|---|")
    for name in INPUTS:
        ours = load(root, name, "ours/memory")
        if ours is None:
            continue
        lent = load(root, name, "ours/borrowed")
        for who in OURS + PEERS:
            r = load(root, name, who)
            if r is None:
                continue
            # frames/s counts the frames this entry delivered (mkvparser: blocks).
            fps = r["frames"] / r["s"]
            mbs = r["bytes"] / 1e6 / r["s"]
            complete = r["frames"] == r["our_frames"] or who == "mkvparser"
            lent_ratio = ""
            if who == "ours/memory":
                ratio = "1"
            elif who.startswith("ours"):
                x = ours["s"] / r["s"]
                ratio = f"{x:.2f}x of memory" if x >= 0.1 else f"{x:.1g}x of memory"
            elif complete:
                # Same input, same work: the time ratio (for mkvparser, which does less on
                # laced input, the ratio of wall times on the same bytes).
                ratio = f"{r['s'] / ours['s']:.2f}x"
                if lent is not None:
                    lent_ratio = f"{r['s'] / lent['s']:.2f}x"
            else:
                ratio = "n/a"
            if r["frames"] == r["our_frames"]:
                delivered = "all"
            elif who == "mkvparser":
                delivered = f"{r['frames']:,} blocks (no de-lacing)"
            else:
                delivered = f"{r['frames']:,} of {r['our_frames']:,}"
            t = r["s"] * 1e3
            print(f"| {name} | {who} | {t:.2f} ms | {fps / 1e6:.2f} M | {mbs:,.0f} | {ratio} | {lent_ratio} | {delivered} |")
    print()
    streamed(root)


def streamed(root):
    """What the adapters add over the in-memory parse, against the copy they cannot avoid."""

    print("| input | memory | stream | async | copy floor | stream adds | vs copy | async adds | vs copy |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name in INPUTS:
        t = {who: median_s(root, name, who) for who in ["ours_memory", "ours_stream", "ours_async", "copy_floor", "stream_adds", "async_adds"]}
        if t["ours_memory"] is None or t["copy_floor"] is None:
            continue
        ms = lambda x: "" if x is None else f"{x * 1e3:.2f} ms"
        vs = lambda x: "" if x is None else f"{x / t['copy_floor']:.2f}x"
        cells = [ms(t[k]) for k in ["ours_memory", "ours_stream", "ours_async", "copy_floor"]]
        cells += [ms(t["stream_adds"]), vs(t["stream_adds"]), ms(t["async_adds"]), vs(t["async_adds"])]
        print(f"| {name} | {' | '.join(cells)} |")


def against_plain(root, group, ours):
    """A network table: our entry against `plain` (the same bytes without the crate's work)."""
    d = os.path.join(root, "criterion", group)
    try:
        with open(os.path.join(d, "bytes.work")) as f:
            size = int(f.read())
    except (OSError, ValueError):
        return
    med = {who: median_s(root, group, who) for who in [ours, "plain"]}
    if None in med.values():
        return
    print()
    print(f"| {group} entry | median | MB/s | vs plain |")
    print("|---|---:|---:|---:|")
    for who in [ours, "plain"]:
        print(f"| {who} | {med[who] * 1e3:.1f} ms | {size / 1e6 / med[who]:,.0f} | {med['plain'] / med[who]:.2f}x |")
    try:
        with open(os.path.join(d, "paired.work")) as f:
            ratios = sorted(float(x) for x in f.read().split())
    except (OSError, ValueError):
        ratios = []
    if ratios:
        q = lambda p: ratios[min(len(ratios) - 1, int(p * len(ratios)))]
        print(f"| paired ({len(ratios)} pairs) | | | {q(0.5):.2f}x (quartiles {q(0.25):.2f}–{q(0.75):.2f}) |")


if __name__ == "__main__":
    main()
    target = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "target")
    against_plain(target, "archive", "reader")
    against_plain(target, "put_media", "client")
