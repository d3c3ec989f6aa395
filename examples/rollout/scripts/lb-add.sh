#!/bin/sh
echo "putting $RELCTL_TARGET back into the load balancer"
