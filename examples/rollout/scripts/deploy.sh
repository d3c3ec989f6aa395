#!/bin/sh
# Deploys RELCTL_RESOURCE at RELCTL_VERSION to RELCTL_TARGET (when the environment has targets).
# A version ending in -broken fails. ROLLOUT_DEPLOY_SECONDS sets how long a deploy takes (the control
# plane hands it to deploys when started with --pass-env ROLLOUT_DEPLOY_SECONDS).
set -eu
where=${RELCTL_TARGET:+ on $RELCTL_TARGET}
echo "deploying $RELCTL_RESOURCE ${RELCTL_PREVIOUS_VERSION:-(new)} -> $RELCTL_VERSION$where"
case "$RELCTL_VERSION" in *-broken) echo "error: $RELCTL_RESOURCE $RELCTL_VERSION does not start" >&2; exit 1 ;; esac
sleep "${ROLLOUT_DEPLOY_SECONDS:-0.5}"
echo "$RELCTL_RESOURCE $RELCTL_VERSION is up$where"
