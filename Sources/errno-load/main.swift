// errno-load: performs exact numbers of failing syscalls under a chosen comm, for tests and benchmarks.
//
//   errno-load --comm NAME [--openat N] [--bad-read N] [--einval N] [--wait-stdin]
//       --openat N    N × openat("/nonexistent/errno-load", O_RDONLY)  → ENOENT
//       --bad-read N  N × read(-1, …)                                  → EBADF
//       --einval N    N × sched_get_priority_max(-1)                   → EINVAL
//       --wait-stdin  set the comm, print "ready", wait for a line on stdin, then run
//   errno-load --bench getppid|openat N  → prints nanoseconds per call over N calls
import Glibc

func say(_ text: String, to fd: Int32 = STDOUT_FILENO) {
    let line = text + "\n"
    _ = write(fd, line, line.utf8.count)
}

func fail(_ message: String) -> Never {
    say("errno-load: \(message)", to: STDERR_FILENO)
    exit(2)
}

func setComm(_ comm: String) {
    let fd = open("/proc/self/comm", O_WRONLY)
    guard fd >= 0, write(fd, comm, comm.utf8.count) == comm.utf8.count else { fail("cannot set comm to \(comm)") }
    close(fd)
}

func openatMissing(_ count: Int) {
    for _ in 0..<count where openat(AT_FDCWD, "/nonexistent/errno-load", O_RDONLY) >= 0 {
        fail("/nonexistent/errno-load exists")
    }
}

func badRead(_ count: Int) {
    var byte: UInt8 = 0
    for _ in 0..<count where read(-1, &byte, 1) >= 0 {
        fail("read(-1) succeeded")
    }
}

func invalidPriority(_ count: Int) {
    for _ in 0..<count where sched_get_priority_max(-1) >= 0 {
        fail("sched_get_priority_max(-1) succeeded")
    }
}

func nanoseconds() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
}

func bench(_ kind: String, _ count: Int) {
    let start = nanoseconds()
    switch kind {
    case "getppid": for _ in 0..<count { _ = getppid() }
    case "openat": openatMissing(count)
    default: fail("unknown benchmark \(kind): getppid or openat")
    }
    say("\(Double(nanoseconds() - start) / Double(count))")
}

var arguments = Array(CommandLine.arguments.dropFirst())
var comm: String?
var counts = (openat: 0, badRead: 0, einval: 0)
var waitStdin = false
func count(_ text: String?) -> Int {
    guard let text, let value = Int(text), value >= 0 else { fail("expected a count, got \(text ?? "nothing")") }
    return value
}
while !arguments.isEmpty {
    let flag = arguments.removeFirst()
    switch flag {
    case "--comm": comm = arguments.isEmpty ? nil : arguments.removeFirst()
    case "--openat": counts.openat = count(arguments.isEmpty ? nil : arguments.removeFirst())
    case "--bad-read": counts.badRead = count(arguments.isEmpty ? nil : arguments.removeFirst())
    case "--einval": counts.einval = count(arguments.isEmpty ? nil : arguments.removeFirst())
    case "--wait-stdin": waitStdin = true
    case "--bench":
        guard arguments.count == 2 else { fail("--bench KIND COUNT") }
        bench(arguments[0], count(arguments[1]))
        exit(0)
    default: fail("unknown argument \(flag)")
    }
}
guard let comm, !comm.isEmpty, comm.utf8.count <= 15 else { fail("--comm NAME (1 to 15 bytes) is required") }
setComm(comm)
if waitStdin {
    say("ready")
    _ = readLine()
}
openatMissing(counts.openat)
badRead(counts.badRead)
invalidPriority(counts.einval)
