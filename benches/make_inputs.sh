#!/usr/bin/env bash
# Makes the decode bench input (about 1 s): 20 s of 640x360 H.264 at 25 fps with a keyframe
# every 2 s (a camera-like GOP), in benches/data/ (not committed).
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p data
ffmpeg -hide_banner -loglevel error -nostdin -y -f lavfi -i testsrc2=size=640x360:rate=25 -t 20 \
  -c:v libx264 -preset veryfast -crf 28 -g 50 -keyint_min 50 -sc_threshold 0 -bf 0 -pix_fmt yuv420p \
  -fflags +bitexact -flags:v +bitexact data/gop2s.mkv
ls -l data/gop2s.mkv
