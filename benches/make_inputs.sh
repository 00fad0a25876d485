#!/usr/bin/env bash
# Makes the bench inputs in benches/data/ (not committed). Needs ffmpeg (Debian 12's 5.1, with
# libx264 and libopus), mkvmerge and python3. Takes about two minutes on 2 cores; files that
# exist are kept (delete benches/data/ to remake them).
#
#   small.mkv       10 min of 160x120 H.264 at 30 fps: 18,000 small frames (parse bench)
#   large.mkv       1 min of 1080p H.264 at 20 Mbit/s: 1,200 large frames (parse bench)
#   opus.mkv        30 min of Opus in 20 ms frames: 90,000 tiny frames, one per SimpleBlock
#   opus_laced.mkv  the same audio remuxed by mkvmerge, which laces it (parse bench)
#   getmedia.mkv    small.mkv cut into 300 two-second GetMedia-shaped documents (unknown-size
#                   Segment and Cluster, KVS tags before and after each Cluster), back to back
#   gop2s.mkv       20 s of 640x360 H.264 at 25 fps, a keyframe every 2 s (decode bench)
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p data
cd data
FF="ffmpeg -hide_banner -loglevel error -nostdin -y"
BX="-fflags +bitexact -flags:v +bitexact -flags:a +bitexact -map_metadata -1"

produce() { # produce NAME COMMAND...: runs the command unless NAME exists, writing to NAME.tmp.mkv
  local name=$1
  shift
  if [ ! -s "$name" ]; then
    "$@"
    mv "$name.tmp.mkv" "$name"
  fi
  ls -l "$name"
}

produce small.mkv $FF -f lavfi -i testsrc2=size=160x120:rate=30 -t 600 -c:v libx264 -preset ultrafast \
  -crf 40 -g 60 -pix_fmt yuv420p $BX small.mkv.tmp.mkv
produce large.mkv $FF -f lavfi -i testsrc2=size=1920x1080:rate=20 -t 60 -c:v libx264 -preset ultrafast \
  -b:v 20M -minrate 20M -maxrate 20M -bufsize 20M -x264-params nal-hrd=cbr -g 40 -pix_fmt yuv420p \
  $BX large.mkv.tmp.mkv
produce opus.mkv $FF -f lavfi -i "sine=frequency=440:sample_rate=48000" -t 1800 -c:a libopus -b:a 24k \
  -frame_duration 20 $BX opus.mkv.tmp.mkv
produce opus_laced.mkv mkvmerge -q -o opus_laced.mkv.tmp.mkv opus.mkv
produce gop2s.mkv $FF -f lavfi -i testsrc2=size=640x360:rate=25 -t 20 -c:v libx264 -preset veryfast \
  -crf 28 -g 50 -keyint_min 50 -sc_threshold 0 -bf 0 -pix_fmt yuv420p $BX gop2s.mkv.tmp.mkv

getmedia() {
  local t
  t=$(mktemp -d)
  # One live-mode (unknown-size) Matroska document per 2-second GOP.
  $FF -i small.mkv -c copy -f segment -segment_time 2 -segment_format matroska \
    -segment_format_options live=1:cluster_time_limit=5000:cluster_size_limit=10000000 -reset_timestamps 0 $BX "$t/seg%04d.mkv"
  PYTHONPATH=../../testdata python3 - "$t" getmedia.mkv.tmp.mkv <<'PY'
import glob, sys
from kvs_tags import tags
CLUSTER = bytes.fromhex("1F43B675")
with open(sys.argv[2], "wb") as out:
    for i, path in enumerate(sorted(glob.glob(sys.argv[1] + "/seg*.mkv"))):
        doc = open(path, "rb").read()
        at = doc.index(CLUSTER)  # the first Cluster: Tracks and Info come before it
        number = str(91343852333181432392682062607743920146159169390 + i * 1000003)
        epoch = 1700000000 + 2 * i
        out.write(doc[:at])
        out.write(tags(("AWS_KINESISVIDEO_FRAGMENT_NUMBER", number),
                       ("AWS_KINESISVIDEO_SERVER_TIMESTAMP", f"{epoch}.{100 + i % 900}"),
                       ("AWS_KINESISVIDEO_PRODUCER_TIMESTAMP", f"{epoch}.000")))
        out.write(doc[at:])
        out.write(tags(("AWS_KINESISVIDEO_MILLIS_BEHIND_NOW", str(900 + i)),
                       ("AWS_KINESISVIDEO_CONTINUATION_TOKEN", number)))
PY
  rm -rf "$t"
}
produce getmedia.mkv getmedia
