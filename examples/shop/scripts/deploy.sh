#!/bin/sh
# A stand-in deploy: relctl passes everything about the task in RELCTL_* variables.
# SHOP_DEPLOY_SECONDS sets how long it takes; a version ending in -broken fails.
set -eu
echo "deploying $RELCTL_RESOURCE ${RELCTL_PREVIOUS_VERSION:-(new)} -> $RELCTL_VERSION in $RELCTL_ENVIRONMENT (release $RELCTL_RELEASE_ID, $RELCTL_ACTION)"
case "$RELCTL_VERSION" in
  *-broken) echo "error: $RELCTL_RESOURCE $RELCTL_VERSION does not start" >&2; exit 1 ;;
esac
sleep "${SHOP_DEPLOY_SECONDS:-1}"
echo "$RELCTL_RESOURCE $RELCTL_VERSION is up"
