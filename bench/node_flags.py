#!/usr/bin/env python3
"""What Node.js's profiling flags cost the lab app (examples/nodey): requests per second with each
set of flags, relative to none, from rounds interleaved in one run (these machines are noisy), and
how fast V8's code log grows once the app is warm.

    python3 bench/node_flags.py [--rounds 3] [--seconds 5] [--connections 8]

Needs node and /etc/nodey.conf missing (the lab's failing path). Prints a Markdown table."""
import argparse, os, shutil, signal, socket, statistics, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SERVER = os.path.join(ROOT, "examples", "nodey", "server.js")
PERF = ["--perf-basic-prof", "--interpreted-frames-native-stack"]
VARIANTS = [
    ("no flags", []),
    ("--perf-basic-prof --interpreted-frames-native-stack (perf map: JS names)", PERF),
    ("run.sh perf: the above + --log-code --log-source-position (V8 log: inlined frames, lines)", PERF + ["--log-code", "--log-source-position"]),
    ("--perf-prof --interpreted-frames-native-stack (jitdump, for comparison)", ["--perf-prof", "--interpreted-frames-native-stack"]),
]

# A keep-alive load generator: CONNECTIONS requests in flight for SECONDS; prints requests/s.
LOAD = r"""
const http = require('http');
const [port, path, seconds, connections] = process.argv.slice(1).map((v, i) => i === 1 ? v : Number(v));
const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
let done = 0; const end = Date.now() + seconds * 1000;
const loop = () => { if (Date.now() >= end) return Promise.resolve();
  return new Promise((resolve, reject) => http.get({ host: '127.0.0.1', port, path, agent }, (r) => { r.resume(); r.on('end', () => { done++; resolve(); }); }).on('error', reject)).then(loop); };
Promise.all(Array.from({ length: connections }, loop)).then(() => { console.log(done / seconds); agent.destroy(); });
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_variant(flags, seconds, connections, scratch):
    port = free_port()
    log = os.path.join(scratch, "v8.log")
    extra = ["--logfile=" + log, "--no-logfile-per-isolate"] if flags else []
    node = subprocess.Popen(["node", *flags, *extra, SERVER], cwd=scratch, env={**os.environ, "PORT": str(port)},
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        node.stdout.readline()  # "nodey listening on …"
        results = {}
        # Warm first (as a production server is), then measure each page.
        for path in ["/about", "/about-async"]:
            subprocess.run(["node", "-e", LOAD, str(port), path, "2", str(connections)], check=True, capture_output=True)
        log_warm = os.path.getsize(log) if os.path.exists(log) else 0
        for path in ["/about", "/about-async"]:
            out = subprocess.run(["node", "-e", LOAD, str(port), path, str(seconds), str(connections)], check=True, capture_output=True, text=True)
            results[path] = float(out.stdout.strip())
        log_end = os.path.getsize(log) if os.path.exists(log) else 0
        results["log_warm"] = log_warm
        results["log_growth_per_s"] = (log_end - log_warm) / (2 * seconds)
        return results
    finally:
        node.send_signal(signal.SIGTERM)
        node.wait()
        for name in os.listdir("/tmp"):
            if name == f"perf-{node.pid}.map":
                os.remove(os.path.join("/tmp", name))
        for name in os.listdir(scratch):
            os.remove(os.path.join(scratch, name))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args()
    if os.path.exists("/etc/nodey.conf"):
        sys.exit("move /etc/nodey.conf away: the lab measures its failing path")
    scratch = tempfile.mkdtemp(prefix="node-flags-")
    samples = {name: [] for name, _ in VARIANTS}
    try:
        for round_number in range(args.rounds):
            for name, flags in VARIANTS:
                samples[name].append(run_variant(flags, args.seconds, args.connections, scratch))
                print(f"round {round_number + 1}: {name}: {samples[name][-1]}", file=sys.stderr)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    median = lambda name, key: statistics.median(s[key] for s in samples[name])
    base = {path: median(VARIANTS[0][0], path) for path in ["/about", "/about-async"]}
    print(f"| node flags ({args.rounds} interleaved rounds, {args.seconds:g} s each, {args.connections} connections) | /about req/s | vs none | /about-async req/s | vs none | V8 log after warm-up | log growth, warm |")
    print("|---|---|---|---|---|---|---|")
    for name, flags in VARIANTS:
        about, asynchronous = median(name, "/about"), median(name, "/about-async")
        logged = "--log-code" in flags
        warm = f"{median(name, 'log_warm') / 1e6:.1f} MB" if logged else "–"
        growth = f"{median(name, 'log_growth_per_s') / 1e3:.1f} kB/s" if logged else "–"
        print(f"| {name} | {about:.0f} | {about / base['/about']:.2f}× | {asynchronous:.0f} | {asynchronous / base['/about-async']:.2f}× | {warm} | {growth} |")


if __name__ == "__main__":
    main()
