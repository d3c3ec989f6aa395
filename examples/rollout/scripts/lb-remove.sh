#!/bin/sh
echo "taking $RELCTL_TARGET out of the load balancer"
