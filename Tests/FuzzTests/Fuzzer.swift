import Foundation
import Testing

/// A small mutation fuzzer: seeded (FUZZ_SEED, printed on failure), bounded in time (FUZZ_SECONDS per
/// target; 2 in the test run, more with `make fuzz`), every input also bounded in time so a hang fails.
struct Fuzzer {
    static let seconds = Double(ProcessInfo.processInfo.environment["FUZZ_SECONDS"] ?? "") ?? 2
    static let slowInput: Duration = .seconds(1)

    var state: UInt64
    let seed: UInt64

    init() {
        seed = UInt64(ProcessInfo.processInfo.environment["FUZZ_SEED"] ?? "") ?? UInt64.random(in: 1...UInt64.max)
        state = seed
    }

    /// SplitMix64.
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(max(bound, 1))) }

    /// Bytes that matter to the parsers under test.
    static let interesting: [[UInt8]] = [
        ":", "-", "[", "]", "{", "}", ",", "&a", "*a", "!!str", "%", "|", ">", "'", "\"", "\\", "#", "?", "<<",
        "\t", "\n", "\r\n", "  ", "\0", "\u{7F}", "é", "€", "😀", "\u{FEFF}", "1e9", "-1", "0x10", "~", "null", "true",
        "q=", ";", "=", "*/*", "version=", "\\x", "<other>",
    ].map { Array($0.utf8) } + [[0xFF], [0xC0, 0xAF], [0xED, 0xA0, 0x80]]

    /// One random edit of `input`: flip, insert, delete, duplicate or splice.
    mutating func mutate(_ input: [UInt8], corpus: [[UInt8]]) -> [UInt8] {
        var bytes = input
        for _ in 0...below(4) {
            let at = below(bytes.count + 1)
            switch below(6) {
            case 0 where !bytes.isEmpty: bytes[min(at, bytes.count - 1)] ^= UInt8(truncatingIfNeeded: 1 << below(8))
            case 1: bytes.insert(contentsOf: Self.interesting[below(Self.interesting.count)], at: at)
            case 2 where !bytes.isEmpty: bytes.removeSubrange(at..<min(bytes.count, at + 1 + below(16)))
            case 3 where !bytes.isEmpty:
                let end = min(bytes.count, at + below(64))
                bytes.insert(contentsOf: bytes[min(at, end)..<end], at: below(bytes.count + 1))
            case 4:
                let other = corpus[below(corpus.count)]
                let from = below(other.count + 1)
                bytes.insert(contentsOf: other[from..<min(other.count, from + below(80))], at: at)
            default: bytes.insert(UInt8(truncatingIfNeeded: next()), at: at)
            }
        }
        return bytes
    }

    /// CPU time the calling thread has used.
    static func threadCPUTime() -> Duration {
        var now = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now)
        return .seconds(now.tv_sec) + .nanoseconds(now.tv_nsec)
    }

    /// Runs `body` on mutated inputs until the time budget is spent; returns how many ran. The budget
    /// is this thread's CPU time, like each input's limit: a loaded machine may not run it for a while.
    @discardableResult
    mutating func run(corpus: [[UInt8]], _ body: ([UInt8]) throws -> Void) rethrows -> Int {
        let budgetEnd = Self.threadCPUTime() + .seconds(Self.seconds)
        var runs = 0
        var input = corpus[0]
        while Self.threadCPUTime() < budgetEnd {
            input = below(8) == 0 ? corpus[below(corpus.count)] : mutate(input, corpus: corpus)
            if input.count > 64 * 1024 { input = corpus[below(corpus.count)] }
            let start = Self.threadCPUTime()
            try body(input)
            let took = Self.threadCPUTime() - start
            #expect(took < Self.slowInput, "input took \(took) of CPU (seed \(seed)): \(input.prefix(200))")
            runs += 1
        }
        return runs
    }
}
