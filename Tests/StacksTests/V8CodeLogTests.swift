import Foundation
import Testing

@testable import Stacks

/// V8's code log read as V8 writes it (`--log-code --log-source-position`): optimized code expands
/// into the functions inlined into it, each with its own script's line; and read as a hostile user
/// could write it: bounded, never trusted.
@Suite struct V8CodeLogTests {
    /// Two scripts as V8 logs them: the app's (with non-ASCII text before its functions, which V8
    /// counts in UTF-16 code units) and a library's.
    static let app = "'use strict'; // é 🚀\nfunction inner() {\n  return readFile(1, 2);\n}\nfunction outer() {\n  inner();\n  return 0;\n}\n"
    static let library = "// lib\n\nfunction readFile(a, b) {\n  return open(a, b);\n}\n"

    /// V8's escaping of a log field: `,` `\` and newlines escaped, all that is not printable ASCII as `\uHHHH`.
    static func escaped(_ text: String) -> String {
        text.utf16.map { unit -> String in
            switch unit {
            case 0x2C: "\\x2C"
            case 0x5C: "\\\\"
            case 0x0A: "\\n"
            case 0x20...0x7E: String(UnicodeScalar(UInt8(unit)))
            default: String(format: "\\u%04x", unit)
            }
        }.joined()
    }

    /// The UTF-16 offset of `needle` in `text`, as V8 counts script offsets.
    static func offset(_ needle: String, in text: String) -> Int {
        text.utf16.count - text[text.range(of: needle)!.lowerBound...].utf16.count
    }

    static func log() -> String {
        let (app, library) = (Self.app, Self.library)
        let open = offset("open(a", in: library), callReadFile = offset("readFile(1", in: app)
        let callInner = offset("inner();", in: app), returnZero = offset("return 0", in: app)
        return """
            v8-version,11,3,244,8,-node.38,0
            script-source,81,/srv/app/server.js,\(escaped(app))
            script-source,5,node:fs,\(escaped(library))
            code-creation,JS,10,100,0x20000010,50,inner /srv/app/server.js:2:15,0xa000,~
            code-source-info,0x20000010,81,30,60,C0O40,,
            code-creation,JS,10,101,0x20000100,50,outer /srv/app/server.js:5:15,0xb000,~
            code-source-info,0x20000100,81,60,99,C0O75,,
            code-creation,JS,10,102,0x20000200,50,readFile node:fs:3:18,0xc000,~
            code-source-info,0x20000200,5,10,60,C0O30,,
            sfi-move,0xa000,0xa100
            code-creation,JS,13,200,0x7f0000001000,400,outer /srv/app/server.js:5:15,0xb000,*
            code-source-info,0x7f0000001000,81,60,99,C0O\(callInner)C20O\(open)I1C60O\(returnZero),F0O\(callInner)F1O\(callReadFile)I0,S0xa100S0xc000

            """
    }

    static func write(_ text: String) throws -> String {
        let path = NSTemporaryDirectory() + "v8-test-\(UUID().uuidString.prefix(6)).log"
        try text.write(toFile: path, atomically: false, encoding: .utf8)
        return path
    }

    @Test func optimizedCodeExpandsIntoItsInlinedFunctionsInnermostFirst() throws {
        let path = try Self.write(Self.log())
        defer { try? FileManager.default.removeItem(atPath: path) }
        let log = V8CodeLog(path: path)
        #expect(log.refresh())
        // In the open call: readFile (node:fs:4) inlined into inner (server.js:3) inlined into outer (server.js:6).
        let frames = try #require(log.frames(at: 0x7f00_0000_1000 + 30))
        #expect(frames.map(\.symbol) == ["JS:*readFile", "JS:*inner", "JS:*outer"])
        #expect(frames.map(\.file) == ["node:fs", "/srv/app/server.js", "/srv/app/server.js"])
        #expect(frames.map(\.line) == [4, 3, 6])
        #expect(frames.map(\.inlined) == [true, true, false])
        #expect(frames.last?.offset == 30)
        // Past the inlined call: outer alone, on its own line.
        let own = try #require(log.frames(at: 0x7f00_0000_1000 + 80))
        #expect(own.map(\.symbol) == ["JS:*outer"] && own.first?.line == 7)
        #expect(log.frames(at: 0x7f00_0000_1000 + 400) == nil, "past the code")
        #expect(log.frames(at: 0x2000_0010) == nil, "bytecode is not code that runs")
        #expect(log.droppedEntries == 0)
    }

    @Test func theLogIsReadIncrementallyAndNewerCodeReplacesOlderAtOneAddress() throws {
        let lines = Self.log().split(separator: "\n", omittingEmptySubsequences: false)
        let half = lines.prefix(lines.count - 2).joined(separator: "\n") + "\n" + lines[lines.count - 2].prefix(20)
        let path = try Self.write(half)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let log = V8CodeLog(path: path)
        #expect(log.refresh())
        // The code is known, its position table (half written) not yet: the function's own first line.
        #expect(log.frames(at: 0x7f00_0000_1000 + 30).map { $0.map(\.symbol) } == ["JS:*outer"])
        let handle = try #require(FileHandle(forWritingAtPath: path))
        handle.seekToEndOfFile()
        handle.write(Data((lines[lines.count - 2].dropFirst(20) + "\n").utf8))
        #expect(log.refresh())
        #expect(log.frames(at: 0x7f00_0000_1000 + 30)?.count == 3)
        // V8 frees the code and puts an interpreted function's trampoline there: the log no longer covers it.
        handle.write(Data("code-creation,JS,2,300,0x7f0000001000,888,other /srv/app/server.js:9:1,0xd000,~\n".utf8))
        try handle.close()
        #expect(log.refresh())
        #expect(log.frames(at: 0x7f00_0000_1000 + 30) == nil)
    }

    @Test func theLogAgreesWithThePerfMapOrThePerfMapWins() throws {
        let path = try Self.write(Self.log())
        let mapPath = NSTemporaryDirectory() + "perf-v8-\(UUID().uuidString.prefix(6)).map"
        defer { [path, mapPath].forEach { try? FileManager.default.removeItem(atPath: $0) } }
        let log = V8CodeLog(path: path)
        #expect(log.refresh())
        try "7f0000001000 100 JS:*outer /srv/app/server.js:5:15\n7f0000001100 20 JS:~late /srv/app/late.js:1:1\n".write(toFile: mapPath, atomically: false, encoding: .utf8)
        let map = PerfMap(path: mapPath)
        #expect(map.refresh())
        let symbols = JITSymbols(codeLog: log, perfMap: map)
        let agreed = try #require(symbols.frames(at: 0x7f00_0000_1000 + 30))
        #expect(agreed.namedBy == .v8Log && agreed.frames.count == 3)
        // The perf map knows newer code inside the logged range: its name, not the log's.
        let newer = try #require(symbols.frames(at: 0x7f00_0000_1100 + 4))
        #expect(newer.namedBy == .perfMap && newer.frames.map(\.symbol) == ["JS:~late"] && newer.frames[0].line == 1)
        #expect(JITSymbols(codeLog: log).frames(at: 0x7f00_0000_1000 + 30)?.namedBy == .v8Log)
        // Same start, another function: code the log missed; the perf map names it.
        try "7f0000001000 100 JS:*other /srv/app/server.js:5:15\n".write(toFile: mapPath, atomically: false, encoding: .utf8)
        let renamed = PerfMap(path: mapPath)
        #expect(renamed.refresh())
        #expect(JITSymbols(codeLog: log, perfMap: renamed).frames(at: 0x7f00_0000_1000 + 30)?.frames.map(\.symbol) == ["JS:*other"])
        // A log that dropped code for a bound may not tell of reused addresses: not trusted alone.
        log.incomplete = true
        #expect(JITSymbols(codeLog: log).frames(at: 0x7f00_0000_1000 + 30) == nil)
        #expect(JITSymbols(codeLog: log, perfMap: map).frames(at: 0x7f00_0000_1000 + 30)?.namedBy == .v8Log)
    }

    @Test func aLogReplacedAfterItWasFirstReadIsNotReadAgain() throws {
        let path = try Self.write(Self.log())
        defer { try? FileManager.default.removeItem(atPath: path) }
        let log = V8CodeLog(path: path)
        #expect(log.refresh())
        let other = try Self.write(Self.log() + "code-creation,JS,13,300,0x7f0000009000,40,x a.js:1:1,0xe000,*\n")
        #expect(rename(other, path) == 0)
        #expect(!log.refresh(), "another file at the path")
        #expect(log.frames(at: 0x7f00_0000_9004) == nil)
    }

    @Test func tablesLargerThanTheirBoundsAreDroppedAsTheyAreParsed() {
        #expect(V8CodeLog.positions(String(repeating: "C", count: 1000).bytes, limit: 10_000) == nil, "an empty code offset")
        #expect(V8CodeLog.positions(String(repeating: "C1O2", count: 11).bytes, limit: 10) == nil)
        #expect(V8CodeLog.positions(String(repeating: "C1O2", count: 10).bytes, limit: 10)?.count == 10)
        let many = String(repeating: "S0x1", count: V8CodeLog.maxInlinedPerCode + 1).bytes
        #expect(V8CodeLog.addresses(many, limit: V8CodeLog.maxInlinedPerCode) == nil)
        #expect(V8CodeLog.inlinings("FO1F2O3I0".bytes, limit: 5)?.map(\.functionIndex) == [-1, 2])
    }

    @Test func aFileThatIsNotV8sLogIsRefused() throws {
        let path = try Self.write("7f0000001000 190 JS:*outer x.js:1:1\n" + Self.log())
        defer { try? FileManager.default.removeItem(atPath: path) }
        let log = V8CodeLog(path: path)
        #expect(!log.refresh())
        #expect(log.frames(at: 0x7f00_0000_1000 + 30) == nil)
        #expect(!V8CodeLog(path: path + ".missing").refresh())
    }

    @Test func hostileTablesAreBoundedNeverTrusted() throws {
        let header = "v8-version,11,3,244,8,-node.38,0\nscript-source,1,a.js,x\\ny\\u12\ncode-creation,JS,10,1,0x100,9,f a.js:1:1,0xa0,~\ncode-source-info,0x100,1,0,3,C0O0,,\n"
        func code(_ start: String, _ info: String) -> String {
            "code-creation,JS,13,2,\(start),100,g a.js:2:1,0xb0,*\ncode-source-info,\(start),1,0,3,\(info)\n"
        }
        let hostile = header
            // An inlining that is its own caller: the chain ends there.
            + code("0x1000", "C0O2I0,F0O2I0,S0xa0")
            // Indexes past the tables: the frames stop there.
            + code("0x2000", "C0O2I7,F0O2,S0xa0") + code("0x3000", "C0O2I0,F9O2,S0xa0")
            // Numbers past 32 bits, offsets past the script, garbage tables, an address of 20 digits.
            + code("0x4000", "C99999999999O1,,") + code("0x5000", "C0O99999,,") + code("0x6000", "C0Ox,F,S12")
            + "code-creation,JS,13,2,0x7000,18446744073709551615,h a.js:1:1,0xc0,*\n"
            + "code-creation,JS,13,2,0x123456789012345678901,10,h a.js:1:1,0xc0,*\nsfi-move,0xa0\ncode-move,0x1000,0xffffffffffffffff\n"
        let path = try Self.write(hostile)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let log = V8CodeLog(path: path)
        #expect(log.refresh())
        let cycle = try #require(log.frames(at: 0x1010))
        #expect(cycle.map(\.symbol) == ["JS:*f", "JS:*g"] && cycle.map(\.line) == [2, 2])
        #expect(log.frames(at: 0x2010)?.map(\.symbol) == ["JS:*g"])
        #expect(log.frames(at: 0x3010)?.map(\.symbol) == ["JS:*(function not in the log)", "JS:*g"])
        #expect(log.frames(at: 0x4010)?.map(\.line) == [2], "no position table: the function's first line")
        #expect(log.frames(at: 0x5010)?.map(\.line) == [2], "an offset past the script: the function's first line")
        #expect(log.frames(at: 0x6010)?.count == 1)
        #expect(log.frames(at: 0x7010) == nil)
        #expect(log.droppedEntries >= 6)
        // The script's name and source were read, the bad escape at its end too.
        #expect(log.scripts[1]?.lineStarts == [0, 2])
    }

    @Test func linesEndWhereV8EndsThem() throws {
        // LF, CR alone, CR LF (one end), U+2028, U+2029: a line each.
        let source = #"a\nb\u000dc\u000d\nd\u2028e\u2029f"#
        let path = try Self.write("v8-version,11,3,244,8,-node.38,0\nscript-source,7,s.js,\(source)\n")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let log = V8CodeLog(path: path)
        #expect(log.refresh())
        #expect(log.scripts[7]?.lineStarts == [0, 2, 4, 7, 9, 11])
        #expect(log.scripts[7]?.line(at: 10) == 6 - 1 && log.scripts[7]?.line(at: 11) == 6)
    }

    @Test func theLogOfAProcessIsFoundAmongItsOpenFiles() throws {
        let directory = NSTemporaryDirectory() + "v8-find-\(UUID().uuidString.prefix(6))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try "not V8\n".write(toFile: "\(directory)/app.log", atomically: false, encoding: .utf8)
        try Self.log().write(toFile: "\(directory)/isolate-0x1-2-v8.log", atomically: false, encoding: .utf8)
        func holder(_ files: [String]) throws -> Process {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            let redirects = files.enumerated().map { "exec \($0.offset + 3)<'\(directory)/\($0.element)'" }.joined(separator: "; ")
            process.arguments = ["-c", "\(redirects); exec sleep 30"]
            try process.run()
            return process
        }
        let both = try holder(["app.log", "isolate-0x1-2-v8.log"])
        let other = try holder(["app.log"])
        defer {
            for process in [both, other] {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
            }
        }
        // The shell execs sleep once its descriptors are open.
        for process in [both, other] {
            for _ in 0..<250 where (try? String(contentsOfFile: "/proc/\(process.processIdentifier)/comm", encoding: .utf8)) != "sleep\n" {
                usleep(20_000)
            }
        }
        #expect(V8CodeLog.find(pid: both.processIdentifier, owner: geteuid()) == "/proc/\(both.processIdentifier)/root\(directory)/isolate-0x1-2-v8.log")
        #expect(V8CodeLog.find(pid: both.processIdentifier, owner: 65534) == nil, "another user's file")
        #expect(V8CodeLog.find(pid: other.processIdentifier, owner: geteuid()) == nil)
    }

    @Test func theLogOfAProcessInAnotherMountNamespaceIsFoundThroughItsRoot() throws {
        try #require(geteuid() == 0, "mount namespaces need root")
        let directory = NSTemporaryDirectory() + "v8-ns-\(UUID().uuidString.prefix(6))"
        try FileManager.default.createDirectory(atPath: "\(directory)/logs", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: "\(directory)/seen", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Self.log().write(toFile: "\(directory)/logs/app-v8.log", atomically: false, encoding: .utf8)
        // Only the process's namespace has the log at seen/: here, seen/ stays empty.
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/unshare")
        process.arguments = ["--mount", "--propagation", "private", "sh", "-c",
                             "mount --bind '\(directory)/logs' '\(directory)/seen' && exec 3<'\(directory)/seen/app-v8.log' && exec sleep 30"]
        try process.run()
        defer {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        for _ in 0..<250 where (try? String(contentsOfFile: "/proc/\(process.processIdentifier)/comm", encoding: .utf8)) != "sleep\n" {
            usleep(20_000)
        }
        #expect(!FileManager.default.fileExists(atPath: "\(directory)/seen/app-v8.log"))
        let path = V8CodeLog.find(pid: process.processIdentifier, owner: geteuid())
        #expect(path == "/proc/\(process.processIdentifier)/root\(directory)/seen/app-v8.log")
        let log = V8CodeLog(path: try #require(path), owner: geteuid())
        #expect(log.refresh() && log.frames(at: 0x7f00_0000_1000 + 30)?.count == 3)
    }
}

extension String {
    /// The UTF-8 bytes, as the log's parsers take them.
    fileprivate var bytes: ArraySlice<UInt8> { Array(utf8)[...] }
}
