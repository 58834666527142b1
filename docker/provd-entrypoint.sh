#!/bin/sh
# provd's container: initialise once, write Kamailio's config and tables for
# the kamailio container (shared volume /etc/provd-pbx), then serve phones
# and drive that Kamailio over its loopback JSON-RPC.
set -eu
: "${PROVD_DB:?PROVD_DB must name provd's PostgreSQL database}"
: "${PROVD_PUBLIC_HOST:?PROVD_PUBLIC_HOST must be the name or address phones use}"

if [ ! -e "$PROVD_DATA_DIR/provd.json" ]; then
  provd --data-dir "$PROVD_DATA_DIR" --db "$PROVD_DB" init \
    --public-host "$PROVD_PUBLIC_HOST" --sip-proxy-host "${PROVD_PBX_SIP_ADDRESS:-$PROVD_PUBLIC_HOST}"
fi

# Tables (Debian's SQL files, in provd's PostgreSQL), subscribers (HA1 only)
# and a validated kamailio.cfg + provd-local.cfg for the kamailio container.
python -m provd.pbx --data-dir "$PROVD_DATA_DIR" --db "$PROVD_DB" \
  export --target /etc/provd-pbx --run-dir /run/kamailio

exec provd --data-dir "$PROVD_DATA_DIR" --db "$PROVD_DB" serve --pbx-external
