#!/usr/bin/env bash
# Assembles hypercode/node-local:20 FROM scratch from this host's node and its libraries
# (see scripts/local-images.sh, which does the work for every local image).
exec "$(dirname "${BASH_SOURCE[0]}")/local-images.sh" node "$@"
