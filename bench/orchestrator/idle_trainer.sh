#!/bin/sh
# Stand-in trainer for the daemon benchmark: a run that stays alive (CPU-idle) until cancelled.
exec sleep 100000
