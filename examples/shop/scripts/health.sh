#!/bin/sh
# A stand-in health check: exit 0 = Healthy. A version ending in -unhealthy is not.
case "$RELCTL_VERSION" in
  *-unhealthy) echo "$RELCTL_RESOURCE $RELCTL_VERSION answers 503" >&2; exit 1 ;;
esac
echo "$RELCTL_RESOURCE $RELCTL_VERSION answers 200"
