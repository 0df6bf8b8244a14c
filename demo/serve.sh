#!/bin/sh
# busybox httpd installs no SIGTERM handler, and PID 1 ignores a signal it does not handle: run
# as PID 1 it would make every `docker stop` wait out its grace period. This shell is PID 1
# instead and passes the stop on.
httpd -f -v -p 8080 -h /www &
trap 'kill -TERM $!; wait $!; exit 0' TERM INT
wait
