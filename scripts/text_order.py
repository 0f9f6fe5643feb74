#!/usr/bin/env python3
"""Writes the release link's text order: the sections of the functions the agent runs to start and to serve scrapes.

The agent's text is 28 MiB; the code it runs to start and to serve /metrics is about 2 MiB, scattered
over it. Each page it touches maps its neighbours too (the kernel's fault-around), so scattered code
costs resident memory far beyond its size. The release build (RELEASE_LAYOUT in the Makefile) puts
every function in a section of its own (`.text.<symbol>`), and the linker places the sections listed
here first, together, in this order.

This runs a release agent under valgrind's callgrind (exact: every function that ran, not a sample)
with the default config, waits until it is ready, fails a few opens (so there are path series to
serve), scrapes it once, then in every format it serves, lets it idle, stops it, and writes the
section of each function of the agent's own binary that ran: first those that ran at work (after the
first scrape), then those that ran only in the first scrape, then those that ran only to start, each
group in the order callgrind lists them, followed by the other partial functions of its async
functions. The agent drops its code pages after it listens and after its first scrape, so the first
group is what stays resident.
Usage: scripts/text_order.py BINARY CONFIG OUTPUT   (as root: the agent loads BPF)
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

FORMATS = (
    {},
    {"Accept": "application/openmetrics-text;version=1.0.0"},
    {"Accept": "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited"},
    {"Accept-Encoding": "gzip"},
)


def free_port():
    """A free loopback TCP port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url, headers=None, timeout=120):
    """The body of a GET of `url`."""
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=timeout) as response:
        return response.read()


def wait_ready(base, process, timeout=300):
    """Returns once the agent at `base` answers /-/ready; exits if it dies or takes over `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"the agent exited under callgrind ({process.returncode}) before it was ready")
        try:
            get(f"{base}/-/ready", timeout=5)
            return
        except OSError:
            time.sleep(0.5)
    sys.exit(f"the agent was not ready under callgrind within {timeout} s")


def fail_opens():
    """Failing opens of a few paths, so the scrapes below serve path series (the default config
    counts them) and the code that reads and encodes them is measured too."""
    for index in range(8):
        try:
            os.close(os.open(f"/nonexistent/errno-text-order/{index}", os.O_RDONLY))
        except FileNotFoundError:
            pass


def agent_functions(profile, binary_name):
    """Function names of `binary_name` in a callgrind profile written with --compress-strings=no."""
    names, seen, current_object = [], set(), ""
    with open(profile, errors="replace") as f:
        for line in f:
            if line.startswith("ob="):
                current_object = line[3:].strip()
            elif line.startswith("fn=") and os.path.basename(current_object) == binary_name:  # every function that ran has an fn= block
                name = re.sub(r"'\d+$", "", line.split("=", 1)[1].strip())  # callgrind's recursion marks
                if name and not name.startswith("0x") and name not in seen:
                    seen.add(name)
                    names.append(name)
    return names


FUNCLET = re.compile(r"T[QY]\d+_$")
# The profiles callgrind dumps, in order: what each covers, and the fewest functions a complete one has.
PROFILES = (("start-up", 1000), ("the first scrape", 50), ("the agent at work", 500))


def dump(pid):
    """Makes callgrind write the profile since its last dump to the next numbered file."""
    result = subprocess.run(["callgrind_control", "--dump", str(pid)], capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        sys.exit(f"callgrind_control --dump {pid} failed ({result.returncode}): {result.stdout}{result.stderr}")


def defined_functions(binary):
    """The names of the functions `binary` defines (nm's t and T symbols)."""
    symbols = subprocess.run(["nm", "--defined-only", binary], check=True, capture_output=True, text=True).stdout
    return [fields[2] for fields in (line.split() for line in symbols.splitlines()) if len(fields) == 3 and fields[1] in "tT"]


def sibling_funclets(functions, names, placed):
    """The other partial functions of the async functions among `names`. Swift compiles an async
    function into one function per suspension point (`…TQ<n>_`, `…TY<n>_`); which of them run depends
    on whether each await suspended, which differs between runs (a connection's teardown, a slower
    client), so the profile sees only some of them. `placed`: the functions already placed."""
    ran = set(placed)
    bases = {FUNCLET.sub("", name) for name in names}
    siblings = []
    for function in functions:
        if FUNCLET.search(function) and function not in ran and FUNCLET.sub("", function) in bases:
            ran.add(function)
            siblings.append(function)
    return siblings


def main():
    """Profiles the agent and writes the order file."""
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    binary, config, output = sys.argv[1:]
    if not shutil.which("valgrind"):
        sys.exit("needs valgrind (apt-get install valgrind)")
    with tempfile.TemporaryDirectory() as work, open(os.path.join(work, "valgrind.log"), "w+") as log:
        # valgrind 3.19 cannot read this toolchain's DWARF; the symbol table is all it needs here.
        profiled = os.path.join(work, os.path.basename(binary))
        subprocess.run(["objcopy", "--strip-debug", binary, profiled], check=True)
        profile = os.path.join(work, "callgrind.out")
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        process = subprocess.Popen(["valgrind", "--tool=callgrind", "--demangle=no", "--compress-strings=no",
                                    f"--callgrind-out-file={profile}", profiled, f"--config.file={config}",
                                    f"--web.listen-address=127.0.0.1:{port}"],
                                   stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_ready(base, process)
            dump(process.pid)  # 1: start-up
            fail_opens()
            get(f"{base}/metrics", FORMATS[0])
            dump(process.pid)  # 2: the first scrape
            for _ in range(3):
                for headers in FORMATS:
                    get(f"{base}/metrics", headers)
                get(f"{base}/-/healthy")
            time.sleep(15)  # the periodic work between scrapes
            dump(process.pid)  # 3: the agent at work; shutdown's profile, written at exit, is not read
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=120)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        profiles = []
        for number, (moment, least) in enumerate(PROFILES, start=1):
            path = f"{profile}.{number}"
            if not os.path.exists(path):
                log.seek(0)
                sys.exit(f"callgrind wrote no profile of {moment} ({path}; exit {process.returncode}):\n{log.read()[-2000:]}")
            functions = agent_functions(path, os.path.basename(profiled))
            if len(functions) < least:
                sys.exit(f"only {len(functions)} functions ran in {moment}: the profile is incomplete")
            profiles.append(functions)
    # The agent drops its code pages once it listens and again after its first scrape (ErrnoAgent's
    # StartupCode), so the code it runs at work is what stays resident: it goes first, together, then
    # the first scrape's own, then start-up's. Names the binary does not define (callgrind's
    # "(below main)") are left out.
    functions = defined_functions(binary)
    defined = set(functions)
    groups, placed = [], set()
    for names in reversed(profiles):
        group = [name for name in names if name in defined and name not in placed]
        placed.update(group)
        group += sibling_funclets(functions, group, placed)
        placed.update(group)
        groups.append(group)
    at_work, first_scrape, startup = groups
    names = at_work + first_scrape + startup
    with open(output + ".tmp", "w") as f:
        f.write("".join(f".text.{name}\n" for name in names))
    os.replace(output + ".tmp", output)
    print(f"{output}: {len(at_work)} functions at work, then {len(first_scrape)} of the first scrape, then {len(startup)} of start-up")


if __name__ == "__main__":
    main()
