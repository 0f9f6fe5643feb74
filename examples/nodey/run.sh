#!/bin/sh
# Starts nodey. `./run.sh perf` adds the flags that let profilers (and errno_exporter's stack
# captures) name JavaScript functions: a /tmp/perf-PID.map, interpreted frames on the native stack,
# and V8's code log with source positions, which names the functions V8 inlined into optimized code
# and their lines. The log goes to $TMPDIR (nodey-v8-PID.log), not into the checkout.
cd "$(dirname "$0")"
if [ "$1" = "perf" ]; then
	exec node --perf-basic-prof --interpreted-frames-native-stack \
		--log-code --log-source-position --logfile="${TMPDIR:-/tmp}/nodey-v8-$$.log" --no-logfile-per-isolate server.js
fi
exec node server.js
