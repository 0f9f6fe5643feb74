import FixtureSupport
import Foundation
import Testing

/// `/api/v1/captures` as a client reads it.
struct CaptureDocument: Decodable {
    struct Frame: Decodable {
        let address: String
        let symbol: String?
        let offset: Int?
        let module: String?
        let module_address: String?
        let file: String?
        let line: Int?
        let inlined: Bool
        let build_id: String?
        let method: String
        let named_by: String?
    }

    struct Unwind: Decodable {
        let stack_bytes: Int
        let end: String?
        let process_exited: Bool
        let without_maps: Bool
        let unresolved_frames: Int
    }

    let id: String
    let trigger: String
    let triggers: [String]
    let time: String
    let pid: Int
    let tid: Int
    let comm: String
    let syscall: String
    let path: String
    let errno: String?
    let result: Int
    let cgroup: String
    let user_stack: [Frame]
    let kernel_stack: [Frame]
    let culprit: Frame?
    let unwind: Unwind
    let submitted_by: Submission?

    struct Submission: Decodable {
        let tid: Int
        let time: String
        let user_stack: [Frame]
        let unwind: Unwind
    }

    var symbols: [String] { user_stack.map { $0.symbol ?? "?" } }
}

struct Envelope<Data: Decodable>: Decodable {
    let status: String
    let data: Data
}

extension AgentProcess {
    /// The agent's captures, newest first (`query` like "?trigger=a&limit=3").
    func captures(_ query: String = "") async throws -> [CaptureDocument] {
        let response = try await get("/api/v1/captures\(query)")
        try #require(response.status == 200, "\(response.status) \(response.body)")
        return try JSONDecoder().decode(Envelope<[CaptureDocument]>.self, from: Data(response.body.utf8)).data
    }

    /// Polls until at least `count` captures of `trigger` are stored (captures arrive asynchronously);
    /// returns them. Bounded: gives up after `seconds`.
    func waitForCaptures(trigger: String, count: Int = 1, seconds: Double = 20) async throws -> [CaptureDocument] {
        let deadline = Date().addingTimeInterval(seconds * testTimeScale)
        var found: [CaptureDocument] = []
        repeat {
            found = try await captures("?trigger=\(trigger)&limit=100000")
            if found.count >= count { return found }
            try await Task.sleep(for: .milliseconds(50))
        } while Date() < deadline
        // Once more after the deadline: a sleep that other tests' blocking work delayed past it
        // must not hide captures that arrived meanwhile.
        found = try await captures("?trigger=\(trigger)&limit=100000")
        if found.count >= count { return found }
        Issue.record("only \(found.count) of \(count) captures of \(trigger) arrived; agent output:\n\(stderr.text.suffix(3000))")
        return found
    }
}

/// A directory of its own under /tmp for a test's trigger paths (nothing else opens them).
func uniqueDirectory(_ prefix: String) -> String {
    "/tmp/\(prefix)-\(UUID().uuidString.prefix(8))"
}

/// Runs a fixture build (Tests/Fixtures/deep.c) on `path`, `count` times; it exits right after.
func runFixture(_ executable: String, path: String, count: Int = 1, linger: Bool = fixturesLinger) async throws {
    try await offPool {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = [path, "\(count)"] + (linger ? ["\(Int(5_000 * testTimeScale))"] : [])
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        guard linger else { return process.waitUntilExit() }
        _ = firstLine(of: output)  // its opens are done; it lives on a while, then exits by itself
        Thread { process.waitUntilExit() }.start()
    }
}

/// Whether this kernel records a process's mappings in its capture records (the VMA iterator,
/// Linux 6.7+), asked of bpftool. Without it the agent reads /proc/PID/maps when a record arrives,
/// so a fixture that must be fully symbolized lives on for a while after its opens.
let kernelRecordsMappings = (try? btfHas(function: "bpf_iter_task_vma_new")) ?? true
let fixturesLinger = !kernelRecordsMappings

/// Whether the running kernel's BTF has this helper (`BPF_FUNC_<name>`) or function, asked of
/// bpftool: an implementation of its own, not the agent's probe.
func btfHas(helper: String? = nil, function: String? = nil) throws -> Bool {
    let pattern = helper.map { "'BPF_FUNC_\($0)' val=" } ?? "FUNC '\(function ?? "")' "
    return try shell("bpftool btf dump file /sys/kernel/btf/vmlinux format raw | grep -c -F \"\(pattern)\"").output
        .trimmingCharacters(in: .whitespacesAndNewlines) != "0"
}

/// Runs blocking work (waiting for a process) on a thread of its own: blocking Swift's few
/// cooperative threads (two on this machine) would stall every other test's awaits meanwhile.
func offPool<Result: Sendable>(_ work: @escaping @Sendable () throws -> Result) async throws -> Result {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Swift.Result { try work() }) }.start()
    }
}
