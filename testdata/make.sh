#!/usr/bin/env bash
# Regenerates the small test files in this folder (about 1 s). Needs Debian 12's ffmpeg (5.1)
# and python3. Output is deterministic for a given ffmpeg build.
#
#   kvs_like.mkv  GetMedia-shaped: three EBML documents back to back, each an unknown-size
#                 Segment with Info, Tracks (H.264 160x120 + AAC 16 kHz mono), leading
#                 AWS_KINESISVIDEO_* tags (fragment number, server and producer timestamps),
#                 one known-size Cluster (1 s, epoch-ms timestamps), a user tag after the
#                 Cluster and the trailing KVS tags (millis behind now, continuation token).
set -euo pipefail
cd "$(dirname "$0")"
FF="ffmpeg -hide_banner -loglevel error -nostdin -y"
BX="-fflags +bitexact -flags:v +bitexact -flags:a +bitexact -map_metadata -1 -map_chapters -1"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

: > kvs_like.mkv
for i in 0 1 2; do
  number="9134385233318143239268206260774392014615916939$i"
  $FF -f lavfi -i "testsrc2=size=160x120:rate=10" -f lavfi -i "sine=frequency=$((440 + 220 * i)):sample_rate=16000" \
    -t 1 -c:v libx264 -preset veryfast -crf 38 -pix_fmt yuv420p -threads 1 -bf 0 \
    -x264-params keyint=10:min-keyint=10:scenecut=0 -c:a aac -b:a 16k -ac 1 \
    -output_ts_offset $((1700000000 + i)) $BX \
    -metadata AWS_KINESISVIDEO_FRAGMENT_NUMBER="$number" \
    -metadata AWS_KINESISVIDEO_SERVER_TIMESTAMP="$((1700000000 + i)).$((100 + i))" \
    -metadata AWS_KINESISVIDEO_PRODUCER_TIMESTAMP="$((1700000000 + i)).000" \
    -live 1 -write_crc32 0 -cluster_time_limit 5000 -cluster_size_limit 1000000 -f matroska "$T/chunk$i.mkv"
  cat "$T/chunk$i.mkv" >> kvs_like.mkv
  PYTHONPATH=. python3 - "$number" "$((900 - 100 * i))" "$i" >> kvs_like.mkv <<'PY'
import sys
from kvs_tags import el, simple, tags
number, behind, i = sys.argv[1], sys.argv[2], int(sys.argv[3])
out = sys.stdout.buffer
# A user tag after the Cluster (as producers write metadata for the next fragment).
out.write(el("1254C367", el("7373", simple("MOTION", "yes" if i % 2 == 0 else "no")), 4))
out.write(tags(("AWS_KINESISVIDEO_MILLIS_BEHIND_NOW", behind), ("AWS_KINESISVIDEO_CONTINUATION_TOKEN", number)))
PY
done
ls -l kvs_like.mkv
