#!/bin/sh
set -eu
echo "removing $RELCTL_RESOURCE from $RELCTL_ENVIRONMENT"
