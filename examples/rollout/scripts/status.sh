#!/bin/sh
# Prints the live version (the last line counts). To see drift, write another version into
# ${TMPDIR:-/tmp}/relctl-rollout-live/<environment>-<resource>, then: relctl app list --refresh
live="${TMPDIR:-/tmp}/relctl-rollout-live/$RELCTL_ENVIRONMENT-$RELCTL_RESOURCE"
if [ -f "$live" ]; then cat "$live"; else echo "$RELCTL_VERSION"; fi
