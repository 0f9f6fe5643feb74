import Foundation

/// Tests/Fixtures/deep.c compiled by gcc into a temporary directory: with frame pointers, without,
/// a stripped copy, a stripped copy whose symbols live in a separate debug file, and one linked
/// without a build ID and one whose open goes through an inlined function (`deep_noid`,
/// `deep_inlined`; not among `builds`), and `deep_remote`: `deep_inlined` without its DWARF, whose
/// debug file (`debuginfo/deep_remote.debug`) only a debuginfod server has; `deep_dwz` and
/// `deep_dwz_other`, whose common DWARF dwz moved into `deep_dwz.common` (`.gnu_debugaltlink`). Shared by the
/// unit tests (ELF files) and the integration tests (processes whose stacks are captured).
public enum FixtureProgram {
    public static let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/deep.c").path

    /// The directory of the builds (made once per test process).
    public static let directory: Result<String, any Error> = Result {
        let directory = NSTemporaryDirectory() + "errno-fixture-\(getpid())-\(UUID().uuidString.prefix(6))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try run("gcc -O2 -g -fno-omit-frame-pointer -o \(directory)/deep_fp \(source)")
        try run("gcc -O2 -g -fomit-frame-pointer -o \(directory)/deep_nofp \(source)")
        try run("strip -o \(directory)/deep_stripped \(directory)/deep_nofp")
        try run("objcopy --only-keep-debug \(directory)/deep_nofp \(directory)/deep_linked.debug")
        try run("strip -o \(directory)/deep_linked \(directory)/deep_nofp")
        try run("cd \(directory) && objcopy --add-gnu-debuglink=deep_linked.debug deep_linked")
        try run("gcc -O2 -g -fno-omit-frame-pointer -Wl,--build-id=none -o \(directory)/deep_noid \(source)")
        try run("gcc -O2 -g -fno-omit-frame-pointer -DDEEP_INLINED -o \(directory)/deep_inlined \(source)")
        try run("strip --strip-debug -o \(directory)/deep_remote \(directory)/deep_inlined")
        try FileManager.default.createDirectory(atPath: "\(directory)/debuginfo", withIntermediateDirectories: true)
        try run("objcopy --only-keep-debug \(directory)/deep_inlined \(directory)/debuginfo/deep_remote.debug")
        try run("cp \(directory)/deep_inlined \(directory)/deep_dwz && cp \(directory)/deep_fp \(directory)/deep_dwz_other")
        try run("cd \(directory) && dwz -m deep_dwz.common -M \(directory)/deep_dwz.common deep_dwz deep_dwz_other")
        return directory
    }

    public static func path(_ build: String) throws -> String { try directory.get() + "/" + build }

    /// The builds: frame pointers, none, stripped, stripped with a .gnu_debuglink'ed debug file.
    public static let builds = ["deep_fp", "deep_nofp", "deep_stripped", "deep_linked"]

    /// `nm` addresses of the fixture's functions in a build (ELF virtual addresses).
    public static func symbols(_ build: String) throws -> [String: UInt64] {
        var found: [String: UInt64] = [:]
        for line in try run("nm \(try path(build))").split(separator: "\n") {
            let fields = line.split(separator: " ")
            if fields.count == 3, let address = UInt64(fields[0], radix: 16) { found[String(fields[2])] = address }
        }
        return found
    }

    /// The GNU build ID of a build as `readelf -n` shows it; nil when it has none.
    public static func buildID(_ build: String) throws -> String? {
        let notes = try run("readelf -n \(try path(build))")
        return notes.split(separator: "\n").first { $0.contains("Build ID:") }.map { String($0.split(separator: " ").last ?? "") }
    }

    /// The line of deep.c that carries `/* marker: <name> */`.
    public static func line(marked name: String) throws -> Int {
        let lines = try String(contentsOfFile: source, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        guard let index = lines.firstIndex(where: { $0.contains("/* marker: \(name) */") }) else { throw FixtureError("no marker \(name) in deep.c") }
        return index + 1
    }

    /// `command`'s output; a failing command throws.
    @discardableResult
    public static func run(_ command: String) throws -> String {
        let (status, output) = try shell(command)
        guard status == 0 else { throw FixtureError("\(command) failed: \(output)") }
        return output
    }

    public struct FixtureError: Error, CustomStringConvertible {
        public let description: String
        init(_ description: String) { self.description = description }
    }
}

/// Runs a command with /bin/sh, returning its exit status and combined output (`input` on stdin).
@discardableResult
public func shell(_ command: String, input: String? = nil) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/sh")
    process.arguments = ["-c", command]
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    let inputPipe = Pipe()
    process.standardInput = inputPipe
    try process.run()
    if let input { inputPipe.fileHandleForWriting.write(Data(input.utf8)) }
    try inputPipe.fileHandleForWriting.close()
    let output = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: output, as: UTF8.self))
}
