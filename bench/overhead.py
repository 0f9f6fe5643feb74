#!/usr/bin/env python3
"""Added cost per syscall of errno_exporter vs no tracing, the empty-program floor, bpftrace and BCC.

Run with `make bench` (as root). Conditions are interleaved round by round in a shuffled order, and
each condition's loops are compared with no-tracing loops run just before it started and just after
it stopped (the async suite: with its round's no-tracing loop): this VM's speed drifts within
minutes and its failing-openat loop is bimodal, so only paired, same-run medians and ratios mean
anything.

  suite syscalls (the failed-syscall counter)
    loops       getppid (succeeds: every syscall of the machine takes this path); openat of a missing file
    conditions  none | errno_exporter | floor (empty tp_btf/sys_exit) | bpftrace count | BCC syscount -x
  suite paths (the failed-open counter)
    loops       openat + close of an existing file (succeeds); openat of a missing file (fails);
                read(-1) (fails, not a path syscall)
    conditions  none | errno_exporter | errno_exporter without paths | floor |
                bpftrace failed-open one-liner (entry pointer + exit read) | BCC opensnoop -x (if it attaches)
  suite triggers (stack-capture triggers)
    loops       openat of a missing file that no trigger names; openat + close of an existing file
    conditions  errno_exporter without triggers | with 1, 100 and 10,000 exact trigger paths |
                with 10,000 prefixes | with a trigger on the loop's own path, rate-limited to 1/min
    and the time from a failed open to its capture being visible on /api/v1/captures (median, p99)
  suite watches (live investigations: POST /api/v1/watches)
    loops       getppid (succeeds); openat of a missing file; read(-1)
    conditions  the agent with --web.enable-investigations and no watch | 4 watches on other targets |
                a watch on the loop's own comm
  suite async (async stacks for Node.js)
    loop        node: sequential `await fs.promises.readFile` of an existing small file
    conditions  none | errno_exporter with a trigger without async_stacks | with async_stacks on
                another path (uprobes attached, no match) | with async_stacks on the file itself
                (every read's submission captured, rate limit off; result: failure, so the pool
                thread's successful open is not)
    and the time from nodey's /about-async failing to its capture, with submitted_by, on the API
  suite scrape (the HTTP side)
    /metrics latency (median, p99), CPU per scrape and RSS at 1,000 / 10,000 / 50,000 / 100,000 path series, plain
    and gzip, vs Debian's prometheus-node-exporter serving the same series from its textfile collector
Also: each program's own run time per event (kernel.bpf_stats_enabled), the agent's idle RSS,
time from exec to /-/ready, and scrape latency with the series at hand and with 10,000 path series.
"""
import argparse
import glob
import json
import math
import os
import random
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RELEASE = os.path.join(ROOT, ".build", "release")
AGENT = os.path.join(RELEASE, "errno_exporter")
LOAD = os.path.join(RELEASE, "errno-load")
WORK = os.path.join(ROOT, ".build", "bench")
RESULTS = os.path.join(ROOT, "bench", "results")
CPU = "1"  # every loop runs pinned to the same CPU
PORT = 19917

BPFTRACE_COUNT = "tracepoint:raw_syscalls:sys_exit /args->ret < 0 && args->ret >= -4095/ { @[args->id, -args->ret, comm] = count(); }"
BPFTRACE_OPENS = ("tracepoint:syscalls:sys_enter_openat { @path[tid] = args->filename; } "
                  "tracepoint:syscalls:sys_exit_openat /@path[tid]/ { if (args->ret < 0) { @[comm, str(@path[tid]), -args->ret] = count(); } "
                  "delete(@path[tid]); }")


def sh(*args, **kwargs):
    return subprocess.run(args, check=True, capture_output=True, text=True, **kwargs).stdout


def loop(kind, count):
    """Nanoseconds per call of `count` calls, pinned to CPU."""
    return float(sh("taskset", "-c", CPU, LOAD, "--bench", kind, str(count)).strip())


def build_floor():
    os.makedirs(WORK, exist_ok=True)
    arch = {"x86_64": "x86", "aarch64": "arm64"}[os.uname().machine]
    obj = os.path.join(WORK, "floor.bpf.o")
    sh("clang-14", "-target", "bpf", "-O2", "-g", f"-D__TARGET_ARCH_{arch}",
       f"-I/usr/include/{os.uname().machine}-linux-gnu", "-c", os.path.join(ROOT, "bench/floor.bpf.c"), "-o", obj)
    loader = os.path.join(WORK, "floor_loader")
    sh("cc", "-O2", "-o", loader, os.path.join(ROOT, "bench/floor_loader.c"), "-lbpf")
    return loader, obj


def ensure_bcc_headers():
    """BCC compiles against kernel headers; Debian's match no custom kernel, so link the installed ones."""
    modules = f"/lib/modules/{os.uname().release}"
    if os.path.exists(os.path.join(modules, "build", "Makefile")):
        return
    arch_trees = sorted(glob.glob("/usr/src/linux-headers-*-amd64" if os.uname().machine == "x86_64" else "/usr/src/linux-headers-*-arm64"))
    common_trees = sorted(glob.glob("/usr/src/linux-headers-*-common"))
    if not arch_trees or not common_trees:
        sys.exit("BCC needs kernel headers: install linux-headers-amd64 (make bench-deps)")
    os.makedirs(modules, exist_ok=True)
    for name, target in (("build", arch_trees[-1]), ("source", common_trees[-1])):
        path = os.path.join(modules, name)
        if os.path.islink(path) or os.path.exists(path):
            os.remove(path)
        os.symlink(target, path)


def ensure_tracefs():
    """bpftrace and BCC read tracepoint formats from tracefs (errno_exporter itself does not need it)."""
    for path, fstype in (("/sys/kernel/tracing", "tracefs"), ("/sys/kernel/debug", "debugfs")):
        if not os.path.ismount(path):
            subprocess.run(["mount", "-t", fstype, fstype, path], check=True)


class Condition:
    """A tracer started before a condition's loops and stopped after."""

    def __init__(self, name, argv, ready, stdin=False, log=None):
        self.name, self.argv, self.ready, self.stdin, self.log = name, argv, ready, stdin, log
        self.process = None
        self.started_at = None
        self.ready_after = None

    def start(self):
        if self.argv is None:
            return
        self.started_at = time.monotonic()
        # A tool that logs as it goes (the agent: a line per capture) writes to a file: an unread pipe
        # would fill up and block it.
        output = open(self.log, "w") if self.log else subprocess.PIPE
        self.process = subprocess.Popen(self.argv, stdin=subprocess.PIPE if self.stdin else subprocess.DEVNULL,
                                        stdout=output, stderr=subprocess.STDOUT, text=True)
        try:
            self.ready(self)
        except BaseException:
            self.process.kill()  # never leave a tracer (and its port) behind for the next condition
            self.process.wait()
            self.process = None
            raise
        self.ready_after = time.monotonic() - self.started_at
        time.sleep(0.3)  # let start-up work settle

    def stop(self):
        if self.process is None:
            return
        if self.stdin:
            self.process.stdin.close()
        else:
            self.process.send_signal(2)  # SIGINT: bpftrace and syscount print and exit
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None


def wait_for_line(text, timeout=60):
    def ready(condition):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = condition.process.stdout.readline()
            if not line:
                break
            if text in line:
                return
        raise RuntimeError(f"{condition.name} did not print {text!r}")
    return ready


def wait_for_http_ready(condition, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if urllib.request.urlopen(f"http://127.0.0.1:{PORT}/-/ready", timeout=1).status == 200:
                return
        except OSError:
            time.sleep(0.005)
    raise RuntimeError("errno_exporter did not become ready")


def bpf_programs():
    """run_time_ns and run_cnt of every loaded tracing program, by id."""
    programs = json.loads(sh("bpftool", "-j", "prog", "show"))
    return {p["id"]: (p.get("name", "?"), p.get("run_time_ns", 0), p.get("run_cnt", 0))
            for p in programs if p.get("type") in ("tracing", "tracepoint", "raw_tracepoint")}


def program_cost(before, kind, count):
    """ns per run of the programs that appeared since `before`, over one loop with stats on."""
    with open("/proc/sys/kernel/bpf_stats_enabled", "w") as f:
        f.write("1")
    try:
        start = {k: v for k, v in bpf_programs().items() if k not in before}
        loop(kind, count)
        end = bpf_programs()
    finally:
        with open("/proc/sys/kernel/bpf_stats_enabled", "w") as f:
            f.write("0")
    costs = {}
    for pid, (name, t0, c0) in start.items():
        name, t1, c1 = end.get(pid, (name, t0, c0))
        if c1 > c0:
            costs[name] = (t1 - t0) / (c1 - c0)
    return costs


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def scrape_ms(samples=21):
    times = []
    body = b""
    for _ in range(samples):
        start = time.perf_counter()
        body = urllib.request.urlopen(f"http://127.0.0.1:{PORT}/metrics", timeout=10).read()
        times.append((time.perf_counter() - start) * 1000)
    series = sum(1 for line in body.decode().splitlines() if line.startswith("errno_syscall_failures_total"))
    return statistics.median(times), series


def agent_condition(name, config_text=None, agent=AGENT):
    config = os.path.join(ROOT, "config", "errno_exporter.yml")
    os.makedirs(WORK, exist_ok=True)
    if config_text is not None:
        config = os.path.join(WORK, f"{name}.yml")
        with open(config, "w") as f:
            f.write(config_text)
    return Condition(name, [agent, f"--config.file={config}", f"--web.listen-address=127.0.0.1:{PORT}"], wait_for_http_ready,
                     log=os.path.join(WORK, f"{name}.log"))


def attaches(argv, ready_text, timeout=60):
    """Whether a tool starts and attaches here; else the reason it gave."""
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            output.append(line)
            if ready_text in line:
                return True, ""
        return False, "".join(output)[-400:].strip().replace("\n", " / ")
    finally:
        process.kill()
        process.wait()


def run_suite(name, conditions, kinds, rounds):
    added = {c.name: {k: [] for k, _ in kinds} for c in conditions}
    raw = {c.name: {k: [] for k, _ in kinds} for c in conditions}
    prog_cost = {c.name: {k: [] for k, _ in kinds} for c in conditions}
    agent_extra = {"rss_kib": [], "ready_s": [], "scrape_ms": [], "series": [], "baseline_rss_kib": []}
    for kind, count in kinds:  # warm up caches and the CPU's frequency
        loop(kind, count)
    def untraced():
        """One loop of each kind with nothing attached, kept as the "none" condition's."""
        loops = {kind: loop(kind, count) for kind, count in kinds}
        for kind, _ in kinds:
            raw["none"][kind].append(loops[kind])
        return loops

    for round_number in range(rounds):
        order = conditions[1:]
        random.shuffle(order)
        before_condition = untraced()
        for condition in order:
            before = bpf_programs()
            condition.start()
            try:
                traced = {}
                for kind, count in kinds:
                    traced[kind] = loop(kind, count)
                    raw[condition.name][kind].append(traced[kind])
                    for program, cost in program_cost(before, kind, count // 4).items():
                        prog_cost[condition.name][kind].append((program, cost))
                if condition.name == "errno_exporter":
                    agent_extra["rss_kib"].append(rss_kib(condition.process.pid))
                    agent_extra["ready_s"].append(condition.ready_after)
                    ms, series = scrape_ms()
                    agent_extra["scrape_ms"].append(ms)
                    agent_extra["series"].append(series)
                elif condition.name == "baseline":
                    agent_extra["baseline_rss_kib"].append(rss_kib(condition.process.pid))
            finally:
                condition.stop()
            # The host's speed drifts within minutes: each condition is compared with the untraced
            # loops run just before it started and just after it stopped.
            after_condition = untraced()
            for kind, _ in kinds:
                added[condition.name][kind].append(traced[kind] - (before_condition[kind] + after_condition[kind]) / 2)
            before_condition = after_condition
        print(f"{name}: round {round_number + 1}/{rounds} done", file=sys.stderr)
    medians = {c.name: {k: statistics.median(added[c.name][k]) if added[c.name][k] else float("nan") for k, _ in kinds} for c in conditions}
    return medians, raw, prog_cost, agent_extra


def scrape_with_path_series(count):
    """Scrape latency with `count` distinct path series in the map."""
    condition = agent_condition("errno_exporter_scrape", f"paths:\n  max_series: {count * 2}\n")
    condition.start()
    try:
        sh(LOAD, "--comm", "bench_paths", "--distinct-paths", str(count), "/nonexistent/errno-bench/path-")
        times = []
        series = 0
        for _ in range(21):
            start = time.perf_counter()
            body = urllib.request.urlopen(f"http://127.0.0.1:{PORT}/metrics", timeout=30).read()
            times.append((time.perf_counter() - start) * 1000)
            series = sum(1 for line in body.decode().splitlines() if line.startswith("errno_path_failures_total"))
        times.sort()
        return statistics.median(times), times[-1], series, rss_kib(condition.process.pid)
    finally:
        condition.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--suite", choices=["syscalls", "paths", "triggers", "watches", "async", "scrape", "all"], default="all")
    parser.add_argument("--getppid", type=int, default=2_000_000, help="calls per getppid loop")
    parser.add_argument("--openat", type=int, default=300_000, help="calls per openat loop")
    parser.add_argument("--baseline", metavar="BINARY",
                        help="another errno_exporter build (e.g. the previous commit's release binary) run as extra conditions "
                             "of the syscalls suite, in the same interleaved rounds: a before/after from one run")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("make bench needs root: it attaches BPF programs")

    ensure_tracefs()
    ensure_bcc_headers()
    loader, floor_object = build_floor()
    floor = Condition("floor", [loader, floor_object], wait_for_line("ready"), stdin=True)
    sections = []
    if args.suite in ("syscalls", "all"):
        syscount = "syscount-bpfcc" if subprocess.run(["which", "syscount-bpfcc"], capture_output=True).returncode == 0 else "/usr/share/bcc/tools/syscount"
        conditions = [
            Condition("none", None, None), agent_condition("errno_exporter"),
            agent_condition("errno_exporter_counter_only", "paths:\n  syscalls: []\n"), floor,
            Condition("bpftrace", ["bpftrace", "-e", BPFTRACE_COUNT], wait_for_line("Attaching")),
            Condition("bcc_syscount", [syscount, "-x"], wait_for_line("Tracing")),
        ]
        if args.baseline:
            conditions += [agent_condition("baseline", agent=args.baseline),
                           agent_condition("baseline_counter_only", "paths:\n  syscalls: []\n", agent=args.baseline)]
        kinds = (("getppid", args.getppid), ("openat", args.openat))
        medians, raw, costs, extra = run_suite("syscalls", conditions, kinds, args.rounds)
        sections.append(table("Failed-syscall counter", conditions, kinds, medians, raw, costs) + [
            "", "Ratios of added cost (targets in brackets):", "",
            f"- successful syscalls, errno_exporter / floor: {ratio(medians, 'errno_exporter', 'floor', 'getppid')} [≤ 1.05]",
            "- failing syscalls, the counter alone (paths.syscalls: [], as BCC and bpftrace only count):",
            f"  - errno_exporter_counter_only / BCC syscount -x: {ratio(medians, 'errno_exporter_counter_only', 'bcc_syscount', 'openat')} [≤ 0.70]",
            f"  - errno_exporter_counter_only / bpftrace: {ratio(medians, 'errno_exporter_counter_only', 'bpftrace', 'openat')} [≤ 0.55]",
            "- failing openat with the default config (counter + path read; compare with the paths suite):",
            f"  - errno_exporter / BCC syscount -x: {ratio(medians, 'errno_exporter', 'bcc_syscount', 'openat')} [≤ 1.30; program ≤ 150 ns/run]",
            "- the same failing openat, by the programs' own ns/run above the empty program's (bpf_stats: free of the loop's noise, "
            "but blind to what BCC's classic tracepoint costs outside its program, so it flatters BCC):",
            f"  - errno_exporter / BCC syscount -x: {program_ratio(costs, 'errno_exporter', 'bcc_syscount', 'openat')}; "
            f"counter alone / BCC syscount -x: {program_ratio(costs, 'errno_exporter_counter_only', 'bcc_syscount', 'openat')}",
            *([f"- baseline ({args.baseline}), same rounds: default config / BCC syscount -x {ratio(medians, 'baseline', 'bcc_syscount', 'openat')}, "
               f"counter alone / BCC syscount -x {ratio(medians, 'baseline_counter_only', 'bcc_syscount', 'openat')}; "
               f"errno_exporter / baseline, failing openat: {ratio(medians, 'errno_exporter', 'baseline', 'openat')}"] if args.baseline else []),
            "", "errno_exporter itself (medians over rounds):", "",
            f"- idle RSS: {statistics.median(extra['rss_kib']) / 1024:.1f} MiB [≤ 32]"
            + (f" (baseline: {statistics.median(extra['baseline_rss_kib']) / 1024:.1f} MiB)" if extra["baseline_rss_kib"] else ""),
            f"- exec to /-/ready: {statistics.median(extra['ready_s']) * 1000:.0f} ms",
            f"- scrape (/metrics, {int(statistics.median(extra['series']))} failure series): {statistics.median(extra['scrape_ms']):.2f} ms"])
    if args.suite in ("paths", "all"):
        opensnoop = "opensnoop-bpfcc" if subprocess.run(["which", "opensnoop-bpfcc"], capture_output=True).returncode == 0 else "/usr/share/bcc/tools/opensnoop"
        opensnoop_ok, opensnoop_reason = attaches([opensnoop, "-x"], "PID")
        conditions = [
            Condition("none", None, None), agent_condition("errno_exporter"),
            agent_condition("errno_exporter_no_paths", "paths:\n  syscalls: []\n"), floor,
            Condition("bpftrace_opens", ["bpftrace", "-e", BPFTRACE_OPENS], wait_for_line("Attaching")),
        ]
        if opensnoop_ok:
            conditions.append(Condition("bcc_opensnoop", [opensnoop, "-x"], wait_for_line("PID")))
        kinds = (("openat-ok", args.openat), ("openat", args.openat), ("bad-read", args.getppid // 2))
        medians, raw, costs, extra = run_suite("paths", conditions, kinds, args.rounds)
        scrape_median, scrape_max, path_series, rss = scrape_with_path_series(10_000)
        sections.append(table("Failed-open counter (openat-ok is an open + close pair)", conditions, kinds, medians, raw, costs) + [
            "", "Ratios of added cost (targets in brackets):", "",
            f"- failing opens, errno_exporter / bpftrace enter+exit one-liner: {ratio(medians, 'errno_exporter', 'bpftrace_opens', 'openat')} [≤ 0.50]",
            f"- successful opens, errno_exporter / floor: {ratio(medians, 'errno_exporter', 'floor', 'openat-ok')} [≤ 1.15]",
            f"- failing non-path syscalls, errno_exporter / errno_exporter without paths: {ratio(medians, 'errno_exporter', 'errno_exporter_no_paths', 'bad-read')} [≈ 1.00]",
            f"- failing opens, errno_exporter / BCC opensnoop -x: {ratio(medians, 'errno_exporter', 'bcc_opensnoop', 'openat') if opensnoop_ok else 'opensnoop cannot attach here: ' + opensnoop_reason}",
            "", f"Scrape with {path_series} path series: median {scrape_median:.1f} ms, slowest of 21 {scrape_max:.1f} ms; agent RSS {rss / 1024:.1f} MiB"])
    if args.suite in ("triggers", "all"):
        sections.append(trigger_suite(args))
    if args.suite in ("watches", "all"):
        sections.append(watch_suite(args))
    if args.suite in ("async", "all"):
        sections.append(async_suite(args))
    if args.suite in ("scrape", "all"):
        sections.append(scrape_suite(args.rounds))
    report(args, sections)


ASYNC_FILE = os.path.join(WORK, "async-small.json")


def async_read_ns(count):
    """ns per fs.promises.readFile in node, pinned to CPU."""
    script = os.path.join(ROOT, "bench", "async_reads.js")
    return float(sh("taskset", "-c", CPU, "node", script, ASYNC_FILE, str(count)).strip())


def async_latency(samples):
    """Seconds from nodey's /about-async answering to its capture (with submitted_by) on the API."""
    config = ("triggers:\n  - name: lab\n    path: /etc/nodey.conf\n    comm: node\n    async_stacks: true\n"
              "    max_per_minute: 0\n")
    condition = agent_condition("errno_exporter_async_latency", config)
    port = 19919
    nodey = subprocess.Popen([os.path.join(ROOT, "examples", "nodey", "run.sh"), "perf"], env={**os.environ, "PORT": str(port)},
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    nodey.stdout.readline()
    condition.start()
    latencies = []
    try:
        last = "0"
        for _ in range(samples):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/about-async", timeout=5).read()
            except urllib.error.HTTPError as error:  # nodey answers 500 "An error occurred": the lab's bug
                error.read()
            answered = time.time()
            while True:
                data = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{PORT}/api/v1/captures?trigger=lab&limit=1", timeout=5).read())["data"]
                if data and data[0]["id"] != last and data[0]["submitted_by"]:
                    last = data[0]["id"]
                    latencies.append(time.time() - answered)
                    break
                if time.time() - answered > 5:
                    raise RuntimeError("async capture did not appear within 5 s")
                time.sleep(0.0002)
    finally:
        condition.stop()
        nodey.terminate()
        nodey.wait()
        for leftover in glob.glob(f"/tmp/perf-{nodey.pid}.map"):
            os.remove(leftover)
    return latencies


def async_suite(args):
    os.makedirs(WORK, exist_ok=True)
    with open(ASYNC_FILE, "w") as f:
        f.write('{"small": true}\n')
    conditions = [
        Condition("none", None, None),
        agent_condition("trigger_without_async", "triggers:\n  - {name: other, path: /srv/bench/other, comm: node}\n"),
        agent_condition("async_no_match", "triggers:\n  - {name: other, path: /srv/bench/other, comm: node, async_stacks: true}\n"),
        agent_condition("async_every_read", f"triggers:\n  - {{name: reads, path: {ASYNC_FILE}, comm: node, async_stacks: true, max_per_minute: 0}}\n"
                        "captures:\n  buffer_bytes: 67108864\n"),
    ]
    count = max(args.openat // 100, 2000)
    raw = {c.name: [] for c in conditions}
    added = {c.name: [] for c in conditions}
    async_read_ns(count // 4)
    for round_number in range(args.rounds):
        baseline = async_read_ns(count)
        raw["none"].append(baseline)
        order = conditions[1:]
        random.shuffle(order)
        for condition in order:
            condition.start()
            try:
                ns = async_read_ns(count)
                raw[condition.name].append(ns)
                added[condition.name].append(ns - baseline)
            finally:
                condition.stop()
        print(f"async: round {round_number + 1}/{args.rounds} done", file=sys.stderr)
    latencies = sorted(async_latency(100))
    p99 = latencies[max(int(len(latencies) * 0.99) - 1, 0)]
    lines = ["## Async stacks (Node.js fs.promises.readFile of a small existing file)", "",
             f"ns per read (median over {args.rounds} rounds; added over no tracing in the same round):", "",
             "| condition | ns per read | added |", "|---|---|---|"]
    for c in conditions:
        median = statistics.median(raw[c.name])
        lines.append(f"| {c.name} | {median:.0f} | " + ("0" if c.name == "none" else f"{statistics.median(added[c.name]):+.0f}") + " |")
    base = statistics.median(added["trigger_without_async"])
    lines += ["", f"- uprobes attached, path not matching: {statistics.median(added['async_no_match']) - base:+.0f} ns per async read over a trigger without async_stacks",
              f"- every read's submission captured: {statistics.median(added['async_every_read']) - base:+.0f} ns per async read",
              "", f"/about-async answered → its capture with submitted_by on /api/v1/captures (100 samples): "
              f"median {statistics.median(latencies) * 1000:.2f} ms, p99 {p99 * 1000:.2f} ms"]
    return lines


def trigger_config(paths=0, prefixes=0, own_path=False):
    """A config with a trigger on `paths` exact paths and `prefixes` prefixes that the loops never open."""
    lines = ["triggers:"]
    if paths:
        lines.append("  - name: many-paths")
        lines.append("    path:")
        lines += [f"      - /srv/bench/unused/{i:05d}/app.conf" for i in range(paths)]
    if prefixes:
        lines.append("  - name: many-prefixes")
        lines.append("    path_prefix:")
        lines += [f"      - /srv/bench/prefix-{i:05d}/" for i in range(prefixes)]
    if own_path:
        lines += ["  - name: loop", "    path: /nonexistent/errno-load", "    max_per_minute: 1"]
    return "\n".join(lines) + "\n" if len(lines) > 1 else ""


def capture_latency(samples):
    """Seconds from a failed open to its capture on /api/v1/captures, per sample."""
    directory = "/tmp/errno-bench-latency"
    config = f"triggers:\n  - name: latency\n    path_prefix: {directory}/\n    max_per_minute: 0\n"
    condition = agent_condition("errno_exporter_latency", config)
    condition.start()
    latencies = []
    try:
        for i in range(samples):
            path = f"{directory}/{i}-{random.random()}"
            started = time.time()
            try:
                os.open(path, os.O_RDONLY)
            except FileNotFoundError:
                pass
            while True:
                body = urllib.request.urlopen(f"http://127.0.0.1:{PORT}/api/v1/captures?trigger=latency&limit=1", timeout=5).read()
                data = json.loads(body)["data"]
                if data and data[0]["path"] == path:
                    latencies.append(time.time() - started)
                    break
                if time.time() - started > 5:
                    raise RuntimeError(f"capture of {path} did not appear within 5 s")
                time.sleep(0.0002)
    finally:
        condition.stop()
    return latencies


def trigger_suite(args):
    conditions = [
        Condition("none", None, None),
        agent_condition("errno_exporter", ""),
        agent_condition("triggers_1", trigger_config(paths=1)),
        agent_condition("triggers_100", trigger_config(paths=100)),
        agent_condition("triggers_10000", trigger_config(paths=10_000)),
        agent_condition("prefixes_10000", trigger_config(prefixes=10_000)),
        agent_condition("matching_rate_limited", trigger_config(own_path=True)),
    ]
    kinds = (("openat", args.openat), ("openat-ok", args.openat))
    medians, raw, costs, _ = run_suite("triggers", conditions, kinds, args.rounds)
    latencies = sorted(capture_latency(200))
    p99 = latencies[int(len(latencies) * 0.99) - 1]
    base = medians["errno_exporter"]["openat"]
    return table("Stack-capture triggers (the loops' paths match no trigger, except in matching_rate_limited)", conditions, kinds, medians, raw, costs) + [
        "", "Added ns per non-matching failing open over errno_exporter without triggers (same rounds):", "",
        *[f"- {name}: {medians[name]['openat'] - base:+.1f} ns" for name in ("triggers_1", "triggers_100", "triggers_10000", "prefixes_10000", "matching_rate_limited")],
        f"- successful opens with 10,000 trigger paths vs without triggers: {medians['triggers_10000']['openat-ok'] - medians['errno_exporter']['openat-ok']:+.1f} ns",
        "", f"Failed open → capture visible on /api/v1/captures (200 samples, unwound and symbolized): "
        f"median {statistics.median(latencies) * 1000:.2f} ms, p99 {p99 * 1000:.2f} ms"]


def watching(bodies):
    """A ready check for an agent started with --web.enable-investigations: ready, then the watches
    in `bodies` started (POST /api/v1/watches)."""
    def ready(condition):
        wait_for_http_ready(condition)
        for body in bodies:
            request = urllib.request.Request(f"http://127.0.0.1:{PORT}/api/v1/watches", data=json.dumps(body).encode(),
                                             headers={"Content-Type": "application/json"}, method="POST")
            if urllib.request.urlopen(request, timeout=5).status != 201:
                raise RuntimeError(f"watch {body} was refused")
    return ready


def watch_suite(args):
    """Watches cost nothing while none runs: successful and failing syscalls with 0 and 4 watches
    (on other processes: the loop's failures are looked up in the selectors, not counted), and with
    one watch on the loop itself (every failure summarised, events rate-limited in the kernel)."""
    with open("/proc/self/mounts") as mounts:
        root = next(line.split()[1] for line in mounts if line.split()[2] == "cgroup2")  # /sys/fs/cgroup or …/unified
    cgroup = os.path.join(root, "errno-bench-watch")
    os.makedirs(cgroup, exist_ok=True)
    others = [{"pid": 1}, {"comm": "bench-nobody"}, {"comm": "bench-nobody2"}, {"cgroup": "/errno-bench-watch"}]
    investigations = ["--web.enable-investigations"]
    base = agent_condition("no_watch", "")
    conditions = [
        Condition("none", None, None),
        Condition("no_watch", base.argv + investigations, watching([]), log=base.log),
        Condition("watches_4", base.argv + investigations, watching(others), log=base.log),
        Condition("watch_on_loop", base.argv + investigations, watching([{"comm": "errno-load"}]), log=base.log),
    ]
    previous = os.environ.get("ERRNO_BENCH_PREVIOUS_AGENT")  # a build from before watches, for "no watch costs nothing"
    if previous:
        conditions.append(Condition("previous_build", [previous] + base.argv[1:], wait_for_http_ready, log=base.log))
    kinds = (("getppid", args.getppid), ("openat", args.openat), ("bad-read", args.getppid // 2))
    try:
        medians, raw, costs, _ = run_suite("watches", conditions, kinds, args.rounds)
    finally:
        os.rmdir(cgroup)
    return table("Watches (the agent with --web.enable-investigations, default config)", conditions, kinds, medians, raw, costs) + [
        "", "Ratios of added cost, same rounds (targets in brackets):", "",
        *([f"- no watch / the build before watches (ERRNO_BENCH_PREVIOUS_AGENT): successful {ratio(medians, 'no_watch', 'previous_build', 'getppid')}, "
           f"failing opens {ratio(medians, 'no_watch', 'previous_build', 'openat')}, failing reads {ratio(medians, 'no_watch', 'previous_build', 'bad-read')} [≈ 1.00]"]
          if previous else []),
        f"- successful syscalls, 4 watches / no watch: {ratio(medians, 'watches_4', 'no_watch', 'getppid')} [≈ 1.00: successes never look]",
        f"- failing opens, 4 watches / no watch: {ratio(medians, 'watches_4', 'no_watch', 'openat')}",
        f"- failing reads, 4 watches / no watch: {ratio(medians, 'watches_4', 'no_watch', 'bad-read')}",
        f"- failing opens, a watch on the loop (summaries + 1000 events/s, the rest rate-limited) / no watch: {ratio(medians, 'watch_on_loop', 'no_watch', 'openat')}",
        f"- added ns per failing open: no watch {medians['no_watch']['openat']:+.1f}, 4 watches {medians['watches_4']['openat']:+.1f}, "
        f"watch on the loop {medians['watch_on_loop']['openat']:+.1f}"]


NODE_EXPORTER_PORT = 19918


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed_scrapes(port, count, gzip, pid):
    headers = {"Accept-Encoding": "gzip"} if gzip else {}
    times = []
    cpu_before = cpu_seconds(pid)
    for _ in range(count):
        request = urllib.request.Request(f"http://127.0.0.1:{port}/metrics", headers=headers)
        start = time.perf_counter()
        with urllib.request.urlopen(request, timeout=60) as response:
            response.read()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return times, (cpu_seconds(pid) - cpu_before) * 1000 / count


def scrape_suite(rounds, sizes=(1_000, 10_000, 50_000, 100_000), per_round=10):
    """Our /metrics vs node_exporter's textfile collector, same series, same label shape."""
    lines = ["## Scrape latency and CPU: errno_exporter vs prometheus-node-exporter (textfile collector)", "",
             f"Same N series of errno_path_failures_total's shape; {rounds} interleaved rounds of {per_round} scrapes each.", "",
             "| series | errno_exporter median / p99 ms | node_exporter median / p99 ms | ratio (median) | gzip: ours / theirs median ms | CPU ms per scrape: ours / theirs | RSS MiB after the scrapes: ours / theirs (ratio) |",
             "|---|---|---|---|---|---|---|"]
    textfiles = os.path.join(WORK, "textfile")
    os.makedirs(textfiles, exist_ok=True)
    for size in sizes:
        comm = "bench_scrape"
        ours = agent_condition(f"errno_exporter_{size}", f"paths:\n  max_series: {size * 2}\nfilters:\n  comms: [{comm}]\n")
        ours.start()
        sh(LOAD, "--comm", comm, "--distinct-paths", str(size), "/nonexistent/errno-bench/scrape-")
        body = urllib.request.urlopen(f"http://127.0.0.1:{PORT}/metrics", timeout=60).read().decode()
        series = [line for line in body.splitlines() if line.startswith("errno_path_failures_total{")]
        with open(os.path.join(textfiles, "errno.prom"), "w") as f:
            f.write("# HELP errno_path_failures_total Failed path syscalls.\n# TYPE errno_path_failures_total counter\n")
            f.write("\n".join(series) + "\n")
        theirs = subprocess.Popen(["prometheus-node-exporter", "--collector.disable-defaults", "--collector.textfile",
                                   f"--collector.textfile.directory={textfiles}", f"--web.listen-address=127.0.0.1:{NODE_EXPORTER_PORT}"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{NODE_EXPORTER_PORT}/metrics", timeout=5).read()
                    break
                except OSError:
                    time.sleep(0.05)
            results = {key: ([], []) for key in ("ours", "theirs", "ours_gzip", "theirs_gzip")}
            for _ in range(rounds):
                for key, port, pid, gzip in (("ours", PORT, ours.process.pid, False), ("theirs", NODE_EXPORTER_PORT, theirs.pid, False),
                                             ("ours_gzip", PORT, ours.process.pid, True), ("theirs_gzip", NODE_EXPORTER_PORT, theirs.pid, True)):
                    times, cpu = timed_scrapes(port, per_round, gzip, pid)
                    results[key][0].extend(times)
                    results[key][1].append(cpu)
            rss = (rss_kib(ours.process.pid) / 1024, rss_kib(theirs.pid) / 1024)
        finally:
            theirs.terminate()
            theirs.wait()
            ours.stop()

        def median(key):
            return statistics.median(results[key][0])

        def p99(key):
            values = sorted(results[key][0])
            return values[min(len(values) - 1, int(len(values) * 0.99))]
        lines.append(f"| {len(series)} | {median('ours'):.1f} / {p99('ours'):.1f} | {median('theirs'):.1f} / {p99('theirs'):.1f} | "
                     f"{median('ours') / median('theirs'):.2f} [≤ 0.25] | {median('ours_gzip'):.1f} / {median('theirs_gzip'):.1f} | "
                     f"{statistics.median(results['ours'][1]):.1f} / {statistics.median(results['theirs'][1]):.1f} | "
                     f"{rss[0]:.1f} / {rss[1]:.1f} ({rss[0] / rss[1]:.2f}) [≤ 0.50 at 10,000 and 50,000] |")
    return lines


def program_ns(prog_cost, condition, kind):
    """The median ns/run of each of `condition`'s programs during `kind` loops, summed over programs."""
    by_name = {}
    for name, cost in prog_cost[condition][kind]:
        by_name.setdefault(name, []).append(cost)
    return sum(statistics.median(costs) for costs in by_name.values()) if by_name else float("nan")


def program_ratio(prog_cost, ours, theirs, kind, floor="floor"):
    """Ratio of two conditions' programs' own ns/run above the empty program's (bpf_stats)."""
    base = program_ns(prog_cost, floor, kind)
    above, below = program_ns(prog_cost, ours, kind) - base, program_ns(prog_cost, theirs, kind) - base
    if math.isnan(above) or math.isnan(below) or below <= 0:
        return "n/a"
    return f"{above / below:.2f}"


def ratio(medians, ours, theirs, kind):
    if theirs not in medians or not medians[theirs][kind]:
        return "n/a"
    return f"{medians[ours][kind] / medians[theirs][kind]:.2f}"


def table(title, conditions, kinds, medians, raw, prog_cost):
    header = " | ".join(k for k, _ in kinds)
    lines = [f"## {title}", "", "Added ns per iteration over no tracing (median over rounds of the difference from the untraced loops just before and after; raw medians in parentheses),"
             " then each BPF program's own ns per run during that loop (stats on).", "",
             f"| condition | {header} | {' | '.join('prog ns/run: ' + k for k, _ in kinds)} |",
             "|---|" + "---|" * (2 * len(kinds))]
    for c in conditions:
        cells = []
        for kind, _ in kinds:
            rawmed = statistics.median(raw[c.name][kind])
            cells.append(f"0 ({rawmed:.1f})" if c.name == "none" else f"{medians[c.name][kind]:+.1f} ({rawmed:.1f})")
        for kind, _ in kinds:
            by_name = {}
            for name, cost in prog_cost[c.name][kind]:
                by_name.setdefault(name, []).append(cost)
            cells.append(", ".join(f"{n} {statistics.median(v):.0f}" for n, v in sorted(by_name.items())) or "—")
        lines.append(f"| {c.name} | " + " | ".join(cells) + " |")
    return lines


def report(args, sections):
    lines = [f"# errno_exporter overhead — {time.strftime('%Y-%m-%d %H:%M:%S')}, {args.rounds} interleaved rounds, "
             f"kernel {os.uname().release}, loops pinned to CPU {CPU}", ""]
    for section in sections:
        lines += section + [""]
    text = "\n".join(lines)
    print(text)
    os.makedirs(RESULTS, exist_ok=True)
    with open(os.path.join(RESULTS, time.strftime("overhead-%Y%m%d-%H%M%S.md")), "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
