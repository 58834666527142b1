#!/bin/sh
# rtpengine as provd.pbx.supervisor.rtpengine_argv() starts it: userspace
# forwarding (no kernel module in a container), no config file.
set -eu
iface="${PROVD_PBX_MEDIA_ADDRESS:?PROVD_PBX_MEDIA_ADDRESS must be the media address}"
[ -n "${PROVD_PBX_MEDIA_ADVERTISED_ADDRESS:-}" ] && iface="$iface!$PROVD_PBX_MEDIA_ADVERTISED_ADDRESS"
exec rtpengine --config-file=none --table=-1 --foreground --log-stderr --log-level=5 \
  --interface="$iface" \
  --listen-ng="${PROVD_PBX_RTPENGINE_NG_ADDRESS:-127.0.0.1}:${PROVD_PBX_RTPENGINE_NG_PORT:-2223}" \
  --port-min="${PROVD_PBX_RTP_PORT_MIN:-30000}" --port-max="${PROVD_PBX_RTP_PORT_MAX:-30999}" \
  --num-threads="${RTPENGINE_THREADS:-2}"
