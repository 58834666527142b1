#!/bin/sh
# The kamailio container: wait for provd's exported config, validate it, run
# Kamailio in the foreground as the kamailio user, and restart it when provd
# rewrites provd-local.cfg (a tenant domain added or removed), the same as
# PbxSupervisor.reconfigure() does for `provd serve --pbx`.
set -eu
SRC=/etc/provd-pbx
RUN=/run/kamailio
CFG=$RUN/cfg

for _ in $(seq 1 120); do
  [ -s "$SRC/provd-local.cfg" ] && break
  sleep 1
done
[ -s "$SRC/provd-local.cfg" ] || { echo "no config in $SRC after 120 s" >&2; exit 1; }

install -d -o kamailio -g kamailio -m 0750 "$RUN" "$CFG"

stage() {
  # provd-local.cfg is 0600 (tokens); copy it where the kamailio user reads it.
  install -o kamailio -g kamailio -m 0600 "$SRC/kamailio.cfg" "$SRC/provd-local.cfg" "$CFG/"
  kamailio -c -f "$CFG/kamailio.cfg"
}

stage
while :; do
  sum=$(md5sum "$SRC/provd-local.cfg" "$SRC/kamailio.cfg")
  kamailio -DD -E -u kamailio -g kamailio -f "$CFG/kamailio.cfg" \
    -m "${KAMAILIO_SHM_MB:-64}" -M "${KAMAILIO_PKG_MB:-8}" &
  pid=$!
  trap 'kill -TERM $pid; wait $pid; exit 0' TERM INT
  while kill -0 "$pid" 2>/dev/null; do
    sleep 5
    if [ "$(md5sum "$SRC/provd-local.cfg" "$SRC/kamailio.cfg")" != "$sum" ]; then
      if stage; then
        echo "configuration changed: restarting kamailio"
        kill -TERM "$pid"
      else
        echo "new configuration rejected by kamailio -c; keeping the running one" >&2
        sum=$(md5sum "$SRC/provd-local.cfg" "$SRC/kamailio.cfg")
      fi
    fi
  done
  wait "$pid" || echo "kamailio exited with $?; restarting in 2 s" >&2
  sleep 2
done
