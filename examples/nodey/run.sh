#!/bin/sh
# Starts nodey. `./run.sh perf` adds the flags that let profilers (and errno_exporter's stack
# captures) name JavaScript functions: a /tmp/perf-PID.map and interpreted frames on the native stack.
# V8 then also logs code events; that log goes to $TMPDIR, not into the checkout.
cd "$(dirname "$0")"
if [ "$1" = "perf" ]; then
	exec node --perf-basic-prof --interpreted-frames-native-stack --logfile="${TMPDIR:-/tmp}/nodey-v8.log" --no-logfile-per-isolate server.js
fi
exec node server.js
