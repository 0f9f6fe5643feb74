import FixtureSupport
import Foundation
import Glibc
import Synchronization
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Where `swift build` put the products the tests run (beside the test bundle).
enum Products {
    static let directory: URL = {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: exe).deletingLastPathComponent()
    }()
    static var agent: String { directory.appendingPathComponent("errno_exporter").path }
    static var load: String { directory.appendingPathComponent("errno-load").path }
}

/// Fails the test loudly when not root: these tests load BPF programs into the real kernel.
/// Bounded waits for the agent (to listen, to exit, for captures) are multiplied by this:
/// scripts/kernel-guest-tests.sh runs these tests on an emulated CPU, many times slower, and sets
/// ERRNO_TEST_TIME_SCALE. Counts and contents are asserted exactly whatever the scale.
let testTimeScale = Double(ProcessInfo.processInfo.environment["ERRNO_TEST_TIME_SCALE"] ?? "") ?? 1

func requireRoot() throws {
    try #require(geteuid() == 0, "integration tests load BPF into the kernel: run `make test` as root")
}

/// Collects a pipe's output as it arrives.
final class OutputCollector: Sendable {
    private let buffer = Mutex(Data())

    init(_ pipe: Pipe) {
        pipe.fileHandleForReading.readabilityHandler = { [self] handle in
            let chunk = handle.availableData
            if chunk.isEmpty {
                handle.readabilityHandler = nil
            } else {
                buffer.withLock { $0.append(chunk) }
            }
        }
    }

    var text: String { buffer.withLock { String(decoding: $0, as: UTF8.self) } }
}

/// The real errno_exporter binary, started on a free loopback port with a config of the test's.
/// `stop()` sends SIGTERM; deinit kills a process a failed test left running.
/// Sendable: `address` is written once, in init, before the instance is shared.
final class AgentProcess: @unchecked Sendable {
    let process = Process()
    let stderr: OutputCollector
    let configPath: String
    private(set) var address = ""

    /// `environment`: variables added to the test's own, from which any `DEBUGINFOD_*` is removed
    /// (a test fetches debug files only from the servers it names).
    init(config: String = "", arguments: [String] = [], environment: [String: String] = [:], waitForListening: Bool = true) throws {
        configPath = NSTemporaryDirectory() + "errno_exporter-test-\(UUID().uuidString).yml"
        try config.write(toFile: configPath, atomically: true, encoding: .utf8)
        process.executableURL = URL(fileURLWithPath: Products.agent)
        process.arguments = ["--config.file=\(configPath)", "--web.listen-address=127.0.0.1:0"] + arguments
        process.environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("DEBUGINFOD_") }.merging(environment) { _, added in added }
        let pipe = Pipe()
        process.standardError = pipe
        process.standardOutput = pipe
        stderr = OutputCollector(pipe)
        try process.run()
        if waitForListening { try waitUntilListening() }
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: configPath)
    }

    private func waitUntilListening(timeout: Double = 30) throws {
        let deadline = Date().addingTimeInterval(timeout * testTimeScale)
        while Date() < deadline {
            if let range = stderr.text.range(of: "msg=listening address=") {
                address = String(stderr.text[range.upperBound...].prefix { !$0.isWhitespace })
                return
            }
            if !process.isRunning { break }
            usleep(20_000)
        }
        throw AgentError("agent did not start listening; output:\n\(stderr.text)")
    }

    /// Waits for the process to exit by itself; returns its status and everything it printed.
    func waitForExit(timeout: Double = 60) throws -> (status: Int32, output: String) {
        let deadline = Date().addingTimeInterval(timeout * testTimeScale)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        guard !process.isRunning else { throw AgentError("agent still running after \(timeout)s; output:\n\(stderr.text)") }
        usleep(50_000)  // let the pipe drain
        return (process.terminationStatus, stderr.text)
    }

    /// SIGTERM, then wait: the exit status of a graceful shutdown.
    @discardableResult
    func stop() throws -> Int32 {
        kill(process.processIdentifier, SIGTERM)
        return try waitForExit().status
    }

    /// The peers (client address:port) of the agent's established connections whose request bytes
    /// the agent has read off the socket (bytes received, none left queued), from `ss`: once a peer
    /// is here, the agent's HTTP server has the request in progress.
    func peersWithRequestsRead() throws -> Set<String> {
        guard let port = address.split(separator: ":").last else { return [] }
        let listing = try FixtureProgram.run("ss -tniH state established '( sport = :\(port) )'")
        var peers = Set<String>()
        var socket: [Substring] = []
        for line in listing.split(separator: "\n") {
            if !line.first!.isWhitespace {
                socket = line.split(separator: " ")
                continue
            }
            guard socket.count >= 4, socket[0] == "0",
                  let received = line.split(separator: " ").first(where: { $0.hasPrefix("bytes_received:") }),
                  (Int(received.dropFirst("bytes_received:".count)) ?? 0) > 0 else { continue }
            peers.insert(String(socket[3]))
        }
        return peers
    }

    func get(_ path: String, headers: [String: String] = [:]) async throws -> (status: Int, body: String, headers: [String: String]) {
        try await send("GET", path, headers: headers)
    }

    func send(_ method: String, _ path: String, headers: [String: String] = [:]) async throws -> (status: Int, body: String, headers: [String: String]) {
        var request = URLRequest(url: URL(string: "http://\(address)\(path)")!)
        request.httpMethod = method
        request.timeoutInterval = 20
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let (data, response) = try await Self.session.data(for: request)
        let http = try #require(response as? HTTPURLResponse)
        let fields = Dictionary(uniqueKeysWithValues: http.allHeaderFields.map { ("\($0.key)".lowercased(), "\($0.value)") })
        return (http.statusCode, String(decoding: data, as: UTF8.self), fields)
    }

    /// No cache: polled endpoints (captures, metrics) change between identical requests, and
    /// FoundationNetworking's shared session answered repeats from its cache.
    static let session: URLSession = {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.urlCache = nil
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        return URLSession(configuration: configuration)
    }()

    func scrape() async throws -> Scrape {
        let response = try await get("/metrics")
        try #require(response.status == 200, "scrape failed: \(response.status) \(response.body)")
        return try Scrape(text: response.body)
    }
}

struct AgentError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// One `errno-load --path` plan: `count` failing calls of the raw `syscall` on `path` (any bytes).
struct PathPlan {
    let syscall: String
    let count: Int
    let path: [UInt8]

    init(_ syscall: String, _ count: Int, _ path: [UInt8]) {
        self.syscall = syscall
        self.count = count
        self.path = path
    }

    init(_ syscall: String, _ count: Int, _ path: String) {
        self.init(syscall, count, Array(path.utf8))
    }

    var argument: String { "\(syscall):\(count):hex:" + path.map { String(format: "%02x", $0) }.joined() }
}

func loadArguments(comm: String, openat: Int, badRead: Int, einval: Int, paths: [PathPlan], user: UInt32?) -> [String] {
    ["--comm", comm, "--openat", "\(openat)", "--bad-read", "\(badRead)", "--einval", "\(einval)"]
        + paths.flatMap { ["--path", $0.argument] } + (user.map { ["--user", "\($0)"] } ?? [])
}

/// Runs errno-load to completion: exactly the given numbers of failing syscalls under `comm`.
func runLoad(comm: String, openat: Int = 0, badRead: Int = 0, einval: Int = 0, paths: [PathPlan] = [], user: UInt32? = nil) throws {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: Products.load)
    process.arguments = loadArguments(comm: comm, openat: openat, badRead: badRead, einval: einval, paths: paths, user: user)
    try process.run()
    process.waitUntilExit()
    try #require(process.terminationStatus == 0, "errno-load exited with \(process.terminationStatus)")
}

/// An errno-load that has set its comm and waits for `release()` before failing its syscalls,
/// so a test can learn its pid or move it into a cgroup first.
final class WaitingLoad {
    let process = Process()
    private let input = Pipe()
    let pid: Int32

    init(comm: String, openat: Int = 0, badRead: Int = 0, paths: [PathPlan] = []) throws {
        process.executableURL = URL(fileURLWithPath: Products.load)
        process.arguments = loadArguments(comm: comm, openat: openat, badRead: badRead, einval: 0, paths: paths, user: nil) + ["--wait-stdin"]
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        let line = firstLine(of: output)
        pid = process.processIdentifier
        try #require(line.hasPrefix("pid \(pid) ready"))
    }

    /// Lets it fail its syscalls and waits until it has.
    func release() throws {
        start()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "errno-load exited with \(process.terminationStatus)")
    }

    /// Lets it fail its syscalls without waiting.
    func start() {
        input.fileHandleForWriting.write(Data("go\n".utf8))
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}

/// What a started process writes to `pipe` up to its first newline (or until it closes the pipe).
func firstLine(of pipe: Pipe) -> String {
    var line = Data()
    while !line.contains(UInt8(ascii: "\n")) {
        let chunk = pipe.fileHandleForReading.availableData
        if chunk.isEmpty { break }
        line.append(chunk)
    }
    return String(decoding: line, as: UTF8.self)
}

/// A comm no other process on the machine has: `prefix` plus random letters, 15 bytes at most.
func uniqueComm(_ prefix: String) -> String {
    let letters = "abcdefghijklmnopqrstuvwxyz"
    return prefix + String((0..<(15 - prefix.count)).map { _ in letters.randomElement()! })
}

/// IDs of the BPF programs and links `pid` holds file descriptors for (from /proc/PID/fdinfo).
func bpfObjectIDs(heldBy pid: Int32) throws -> (programs: Set<Int>, links: Set<Int>) {
    let directory = "/proc/\(pid)/fdinfo"
    var programs = Set<Int>(), links = Set<Int>()
    for fd in try FileManager.default.contentsOfDirectory(atPath: directory) {
        guard let info = try? String(contentsOfFile: "\(directory)/\(fd)", encoding: .utf8) else { continue }
        for line in info.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, let id = Int(parts[1]) else { continue }
            if parts[0] == "link_id" { links.insert(id) } else if parts[0] == "prog_id" { programs.insert(id) }
        }
    }
    return (programs, links)
}

func kernelHas(_ kind: String, _ id: Int) -> Bool {
    (try? shell("bpftool \(kind) show id \(id)").status) == 0
}

/// A cgroup v2 directory with a child `inner`, for the test's life (removed on deinit).
final class TestCgroup {
    /// Where cgroup2 is mounted, e.g. /sys/fs/cgroup or /sys/fs/cgroup/unified.
    let mount: String
    /// The cgroup's path below the mount, e.g. /errno-test-1a2b3c4d.
    let path: String

    init() throws {
        let mounts = try String(contentsOfFile: "/proc/self/mounts", encoding: .utf8).split(separator: "\n").map { $0.split(separator: " ") }
        mount = try #require(mounts.first { $0.count > 2 && $0[2] == "cgroup2" }.map { String($0[1]) }, "this test needs cgroup v2 mounted")
        path = "/errno-test-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: "\(mount)\(path)/inner", withIntermediateDirectories: true)
    }

    /// Moves a process into the child cgroup `inner`.
    func adopt(_ pid: Int32) throws {
        try "\(pid)".write(toFile: "\(mount)\(path)/inner/cgroup.procs", atomically: false, encoding: .utf8)
    }

    deinit {
        rmdir("\(mount)\(path)/inner")
        rmdir("\(mount)\(path)")
    }
}
