// errno-load: performs exact numbers of failing syscalls under a chosen comm, for tests and benchmarks.
//
//   errno-load --comm NAME [--openat N] [--bad-read N] [--einval N] [--path SYSCALL:N:PATH]… [--user UID] [--wait-stdin]
//       --openat N    N × openat("/nonexistent/errno-load", O_RDONLY)  → ENOENT
//       --bad-read N  N × read(-1, …)                                  → EBADF
//       --einval N    N × sched_get_priority_max(-1)                   → EINVAL
//       --path SYSCALL:N:PATH  N × the raw SYSCALL (open, openat, openat2, creat, newfstatat, faccessat)
//                     on PATH, which may be written hex:… for bytes argv cannot carry; each must fail
//       --user UID    switch to UID (and GID) after setting the comm, e.g. to provoke EACCES
//       --wait-stdin  set the comm, print "pid PID ready", wait for a line on stdin, then run
//   errno-load --comm NAME --distinct-paths N PREFIX   openat PREFIX0 … PREFIX(N-1), each failing once
//   errno-load --bench getppid|openat|openat-ok|bad-read N  → prints nanoseconds per iteration over N
//       (openat-ok opens and closes an existing file: two syscalls per iteration)
import CRawSyscalls
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

/// One `--path` plan: a raw syscall on a path, made `count` times; every call must fail.
struct PathPlan {
    let syscall: String
    let count: Int
    let path: [UInt8]

    init(_ text: String) {
        let parts = text.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, let count = Int(parts[1]), count >= 0 else { fail("--path SYSCALL:N:PATH, got \(text)") }
        syscall = String(parts[0])
        self.count = count
        if parts[2].hasPrefix("hex:") {
            let hex = Array(parts[2].dropFirst(4).utf8)
            guard hex.count % 2 == 0 else { fail("odd hex in \(text)") }
            path = stride(from: 0, to: hex.count, by: 2).map { UInt8(String(decoding: hex[$0...$0 + 1], as: UTF8.self), radix: 16) ?? 0 }
        } else {
            path = Array(parts[2].utf8)
        }
    }

    func run() {
        let call: (UnsafePointer<CChar>) -> Int = switch syscall {
        case "open": { raw_open($0, O_RDONLY) }
        case "openat": { raw_openat($0, O_RDONLY) }
        case "openat2": { raw_openat2($0, O_RDONLY) }
        case "creat": { raw_creat($0) }
        case "newfstatat": { raw_newfstatat($0) }
        case "faccessat": { raw_faccessat($0) }
        default: fail("unknown syscall \(syscall)")
        }
        (path + [0]).withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { cPath in
                for _ in 0..<count {
                    let result = call(cPath.baseAddress!)
                    if result >= 0 {
                        _ = raw_close(result)
                        fail("\(syscall) on \(String(decoding: path, as: UTF8.self)) succeeded")
                    }
                }
            }
        }
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
    case "openat-ok":
        for _ in 0..<count {
            let fd = openat(AT_FDCWD, "/etc/passwd", O_RDONLY)
            guard fd >= 0 else { fail("cannot open /etc/passwd") }
            close(fd)
        }
    case "bad-read": badRead(count)
    default: fail("unknown benchmark \(kind): getppid or openat")
    }
    say("\(Double(nanoseconds() - start) / Double(count))")
}

var arguments = Array(CommandLine.arguments.dropFirst())
var comm: String?
var counts = (openat: 0, badRead: 0, einval: 0)
var waitStdin = false
var plans: [PathPlan] = []
var user: UInt32?
var distinct: (count: Int, prefix: String)?
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
    case "--path": plans.append(PathPlan(arguments.isEmpty ? "" : arguments.removeFirst()))
    case "--user": user = UInt32(count(arguments.isEmpty ? nil : arguments.removeFirst()))
    case "--distinct-paths":
        guard arguments.count >= 2 else { fail("--distinct-paths N PREFIX") }
        distinct = (count(arguments.removeFirst()), arguments.removeFirst())
    case "--bench":
        guard arguments.count == 2 else { fail("--bench KIND COUNT") }
        bench(arguments[0], count(arguments[1]))
        exit(0)
    default: fail("unknown argument \(flag)")
    }
}
guard let comm, !comm.isEmpty, comm.utf8.count <= 15 else { fail("--comm NAME (1 to 15 bytes) is required") }
setComm(comm)
if let user, setgroups(0, nil) != 0 || setgid(user) != 0 || setuid(user) != 0 {
    fail("cannot switch to uid \(user)")
}
if waitStdin {
    say("pid \(getpid()) ready")
    _ = readLine()
}
openatMissing(counts.openat)
badRead(counts.badRead)
invalidPriority(counts.einval)
for plan in plans { plan.run() }
if let distinct {
    for index in 0..<distinct.count { PathPlan("openat:1:\(distinct.prefix)\(index)").run() }
}
