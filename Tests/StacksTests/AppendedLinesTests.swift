import Foundation
import Testing

@testable import Stacks

/// The incremental reader under the perf map and V8's log: lines across its 64 KiB chunks and across
/// reads, over-long lines skipped whole, and what a refresh refused or cut counted.
@Suite struct AppendedLinesTests {
    @Test func linesCrossingChunksAndReadsArriveWholeAndOverLongOnesAreSkipped() throws {
        let path = NSTemporaryDirectory() + "appended-\(UUID().uuidString.prefix(6)).txt"
        defer { try? FileManager.default.removeItem(atPath: path) }
        // A line that straddles the first 64 KiB chunk, one too long, then a half-written one.
        let straddling = String(repeating: "a", count: 65_530) + "|" + String(repeating: "b", count: 20)
        let tooLong = String(repeating: "z", count: 70_000)
        try (straddling + "\n" + tooLong + "\nshort\nhalf").write(toFile: path, atomically: false, encoding: .utf8)
        var reader = AppendedLines(path: path, owner: nil, maxBytes: 1 << 20, maxLineBytes: 66_000)
        var lines: [String] = []
        let readable = reader.read { lines.append(String(decoding: $0, as: UTF8.self)); return true }
        #expect(readable)
        #expect(lines == [straddling, "short"])
        #expect(reader.longLines == 1 && reader.caughtUp)
        let handle = try #require(FileHandle(forWritingAtPath: path))
        handle.seekToEndOfFile()
        handle.write(Data("-written\nnext\n".utf8))
        try handle.close()
        lines = []
        let readableAgain = reader.read { lines.append(String(decoding: $0, as: UTF8.self)); return true }
        #expect(readableAgain)
        #expect(lines == ["half-written", "next"])
    }

    @Test func aReadStopsAtItsShareAndTheRestComesNextTime() throws {
        let path = NSTemporaryDirectory() + "appended-\(UUID().uuidString.prefix(6)).txt"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let line = String(repeating: "x", count: 1023) + "\n"
        try String(repeating: line, count: AppendedLines.maxBytesPerRead / 1024 + 100).write(toFile: path, atomically: false, encoding: .utf8)
        var reader = AppendedLines(path: path, owner: nil, maxBytes: 1 << 30, maxLineBytes: 4096)
        var count = 0
        let first = reader.read { _ in count += 1; return true }
        #expect(first && count == AppendedLines.maxBytesPerRead / 1024 && !reader.caughtUp)
        let second = reader.read { _ in count += 1; return true }
        #expect(second)
        #expect(count == AppendedLines.maxBytesPerRead / 1024 + 100 && reader.caughtUp)
    }

    @Test func theTallyCountsWhatARefreshRefusedAndFilesCut() throws {
        let path = NSTemporaryDirectory() + "perf-tally-\(UUID().uuidString.prefix(6)).map"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try "1000 10 f\nnot a line\n2000 zz g\n".write(toFile: path, atomically: false, encoding: .utf8)
        var tally = JITFileTally()
        let map = PerfMap(path: path)
        let first = tally.refresh(map, kind: .perfMap)
        #expect(first && tally.refusedLines[.perfMap] == 2 && tally.truncatedFiles[.perfMap] == nil)
        let second = tally.refresh(map, kind: .perfMap)
        #expect(second)
        #expect(tally.refusedLines[.perfMap] == 2, "counted once")
    }
}
