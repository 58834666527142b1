#!/bin/sh
# provd's container: initialise once, write Kamailio's config and tables for
# the kamailio container (shared volume /etc/provd-pbx), then serve phones
# and drive that Kamailio over its loopback JSON-RPC.
set -eu
: "${PROVD_DB:?PROVD_DB must name provd's PostgreSQL database}"
: "${PROVD_PUBLIC_HOST:?PROVD_PUBLIC_HOST must be the name or address phones use}"

if [ ! -e "$PROVD_DATA_DIR/provd.json" ] && [ -n "${PROVD_SEED_DIR:-}" ]; then
  # Another node of the same platform: the first node's keys, certificates, PBX
  # secrets and firmware images (the database is shared), not its runtime files.
  until [ -e "$PROVD_SEED_DIR/provd.json" ]; do sleep 1; done
  cp -a "$PROVD_SEED_DIR/." "$PROVD_DATA_DIR/"
  rm -rf "$PROVD_DATA_DIR/serve.lock" "$PROVD_DATA_DIR/leader.lock" "$PROVD_DATA_DIR/pbx/run"
  rm -f "$PROVD_DATA_DIR"/pbx/*.pid "$PROVD_DATA_DIR/pbx/runtime.json"
fi

if [ ! -e "$PROVD_DATA_DIR/provd.json" ]; then
  provd --data-dir "$PROVD_DATA_DIR" --db "$PROVD_DB" init \
    --public-host "$PROVD_PUBLIC_HOST" --sip-proxy-host "${PROVD_PBX_SIP_ADDRESS:-$PROVD_PUBLIC_HOST}"
fi

# Tables (Debian's SQL files, in provd's PostgreSQL), subscribers (HA1 only)
# and a validated kamailio.cfg + provd-local.cfg for the kamailio container.
python -m provd.pbx --data-dir "$PROVD_DATA_DIR" --db "$PROVD_DB" \
  export --target /etc/provd-pbx --run-dir /run/kamailio

# PROVD_WORKERS and PROVD_PROXY_PROTOCOL_FROM are read by serve itself.
exec provd --data-dir "$PROVD_DATA_DIR" --db "$PROVD_DB" serve --pbx-external \
  ${PROVD_BIND:+--bind "$PROVD_BIND"}
