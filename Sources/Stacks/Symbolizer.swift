import CElfUtils
import Glibc
import SystemSupport

/// Names the frames of captured stacks: user frames from ELF symbols (with C++ names demangled) and
/// DWARF (a module's own, its installed debug file's or one fetched from debuginfod), or a JIT's perf
/// map; kernel frames from kallsyms. Unresolved frames keep their module and offset.
public final class Symbolizer {
    public let cache: ElfCache
    public let kernelSymbols: KernelSymbols
    /// Fetches debug files modules lack (nil: never).
    public let debugInfo: DebugInfoFetcher?
    /// Perf maps by process, tied to its start time (a reused pid is another process).
    private var perfMaps: [Int32: (startTime: UInt64, map: PerfMap)] = [:]
    /// V8 code logs by process, tied to its start time, with when each was last used.
    private var codeLogs: [Int32: (startTime: UInt64, log: V8CodeLog, used: ContinuousClock.Instant)] = [:]
    /// Processes found without a V8 log, not looked at again until the given time.
    private var withoutCodeLog: [Int32: (startTime: UInt64, until: ContinuousClock.Instant)] = [:]
    static let codeLogRetry = Duration.seconds(30)
    /// Perf maps, and V8 logs, kept at once (each bounded by its type's limits).
    static let maxJITFiles = 4
    /// Processes remembered without a V8 log, at most.
    static let maxWithoutCodeLog = 1024
    private var demangled: [String: String] = [:]
    /// What reading perf maps and V8 logs refused or cut so far.
    public private(set) var jitFileTally = JITFileTally()

    public init(cache: ElfCache = ElfCache(), kernelSymbols: KernelSymbols, debugInfo: DebugInfoFetcher? = nil) {
        self.cache = cache
        self.kernelSymbols = kernelSymbols
        self.debugInfo = debugInfo
    }

    /// The perf map a process's JIT writes: /tmp/perf-<pid in its own pid namespace>.map, seen
    /// through the process's root and read only when the process's user owns it. Once the process
    /// has exited, the map read while it ran (if any).
    public func perfMap(pid: Int32) -> PerfMap? {
        guard let startTime = ProcessMapsCache.startTime(pid), let owner = TargetFile.processOwner(pid),
            let namespacePID = Self.namespacePID(pid)
        else { return perfMaps[pid]?.map }
        if let known = perfMaps[pid], known.startTime == startTime {
            _ = jitFileTally.refresh(known.map, kind: .perfMap)
            return known.map
        }
        let map = PerfMap(path: "/proc/\(pid)/root/tmp/perf-\(namespacePID).map", owner: owner)
        guard jitFileTally.refresh(map, kind: .perfMap) else { return nil }
        if perfMaps.count >= Self.maxJITFiles, let victim = perfMaps.keys.first { perfMaps[victim] = nil }
        perfMaps[pid] = (startTime, map)
        return map
    }

    /// The V8 code log process `pid` is writing (see `V8CodeLog.find`), read up to now; once the
    /// process has exited, the log read while it ran (if any). A process found without one is looked
    /// at again after `codeLogRetry`; of the logs kept, the least recently used makes room.
    public func codeLog(pid: Int32) -> V8CodeLog? {
        guard let startTime = ProcessMapsCache.startTime(pid), let owner = TargetFile.processOwner(pid) else { return codeLogs[pid]?.log }
        let now = ContinuousClock.now
        if let known = codeLogs[pid], known.startTime == startTime {
            codeLogs[pid]?.used = now
            _ = jitFileTally.refresh(known.log, kind: .v8Log)
            return known.log
        }
        if let absent = withoutCodeLog[pid], absent.startTime == startTime, now < absent.until { return nil }
        func absent() -> V8CodeLog? {
            if withoutCodeLog.count >= Self.maxWithoutCodeLog { withoutCodeLog = withoutCodeLog.filter { now < $0.value.until } }
            if withoutCodeLog.count < Self.maxWithoutCodeLog { withoutCodeLog[pid] = (startTime, now + Self.codeLogRetry) }
            return nil
        }
        guard let path = V8CodeLog.find(pid: pid, owner: owner) else { return absent() }
        let log = V8CodeLog(path: path, owner: owner)
        guard jitFileTally.refresh(log, kind: .v8Log) else { return absent() }
        if codeLogs.count >= Self.maxJITFiles, let victim = codeLogs.min(by: { $0.value.used < $1.value.used })?.key { codeLogs[victim] = nil }
        codeLogs[pid] = (startTime, log, now)
        return log
    }

    /// What names the JIT code of process `pid`.
    public func jitSymbols(pid: Int32) -> JITSymbols {
        JITSymbols(codeLog: codeLog(pid: pid), perfMap: perfMap(pid: pid))
    }

    static func namespacePID(_ pid: Int32) -> Int32? {
        guard let status = SmallFile.read("/proc/\(pid)/status", limit: 1 << 16) else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix("NSpid:") {
            return line.split(whereSeparator: { $0 == "\t" || $0 == " " }).last.flatMap { Int32($0) }
        }
        return nil
    }

    /// Named user frames, innermost first; a native frame with DWARF line information gets its file
    /// and line, preceded by a frame for each function inlined at its address.
    public func userFrames(_ frames: [UnwoundFrame], code: ProcessCode, jit: JITSymbols) -> [StackFrame] {
        frames.enumerated().flatMap { index, unwound -> [StackFrame] in
            var frame = StackFrame(address: unwound.address, method: unwound.method)
            var inlined: [StackFrame] = []
            // Callers' addresses are return addresses: name the call, one byte before.
            let lookup = index == 0 ? unwound.address : unwound.address &- 1
            if let mapping = code.maps.mapping(containing: lookup) {
                frame.module = mapping.name.isEmpty ? "[anon]" : mapping.name
                if let image = code.image(for: mapping), let address = image.virtualAddress(fileOffset: (lookup - mapping.start) &+ mapping.fileOffset) {
                    frame.moduleAddress = address &+ (lookup == unwound.address ? 0 : 1)
                    frame.buildID = image.buildID.flatMap { $0.isEmpty ? nil : BuildID.hex($0) }
                    attachFetchedDebugFile(to: image)
                    inlined = describe(&frame, image: image, address: address, returnAddress: lookup != unwound.address)
                }
            }
            if frame.symbol == nil, let (named, namedBy) = jit.frames(at: lookup) {
                if frame.module == nil || frame.module == "[anon]" { frame.module = "[jit]" }
                return named.map { jitFrame in
                    var described = frame
                    described.symbol = jitFrame.symbol
                    described.offset = jitFrame.offset.map { $0 &+ (lookup == unwound.address ? 0 : 1) }
                    described.file = jitFrame.file
                    described.line = jitFrame.line
                    described.inlined = jitFrame.inlined
                    described.namedBy = namedBy
                    return described
                }
            }
            return inlined + [frame]
        }
    }

    /// Names `frame` from `image` at `address` (an ELF virtual address of its module; for a caller,
    /// the byte before the return address): symbol, file and line. Returns a frame for each function
    /// inlined there, innermost first.
    func describe(_ frame: inout StackFrame, image: ElfImage, address: UInt64, returnAddress: Bool) -> [StackFrame] {
        if let (name, offset) = image.symbol(at: address) {
            frame.symbol = demangle(name)
            frame.offset = offset &+ (returnAddress ? 1 : 0)
            frame.namedBy = .symbolTable
        }
        let locations = image.sourceLocations(at: address)
        if let holder = locations.last {
            frame.file = holder.file
            frame.line = holder.line
            if frame.symbol == nil, let function = holder.function {
                frame.symbol = SymbolName.bounded(function)
                frame.namedBy = .dwarf
            }
        }
        return locations.dropLast().map { location in
            var expanded = frame
            expanded.namedBy = .dwarf
            expanded.symbol = location.function.map { SymbolName.bounded($0) } ?? "[inlined]"
            expanded.offset = nil
            expanded.file = location.file
            expanded.line = location.line
            expanded.inlined = true
            return expanded
        }
    }

    /// For an image without DWARF (its own or an installed debug file's): the debug file debuginfod
    /// delivered, when it has; else it is asked for, and this capture keeps symbols and offsets.
    private func attachFetchedDebugFile(to image: ElfImage) {
        guard let debugInfo, !image.hasDebugInfo, let buildID = image.buildID, !buildID.isEmpty else { return }
        let hex = BuildID.hex(buildID)
        guard let path = debugInfo.debugFile(for: hex) else { return }
        guard let file = try? ElfImage(path: path, searchDebugFiles: false, owners: [geteuid()]) else {
            // Evicted or cleaned away since: asked for again.
            return debugInfo.forget(hex)
        }
        if !image.adopt(debugFile: file) { debugInfo.reject(hex, reason: "not a debug file with this build ID and DWARF") }
    }

    /// `frames` (a user stack, innermost first) with the frames of the module of `buildID` named
    /// again from `debugFile`, which arrived after they were captured: symbols, file:line and inlined
    /// frames. Nil when nothing changed.
    public func resymbolized(_ frames: [StackFrame], buildID: String, debugFile: ElfImage) -> [StackFrame]? {
        guard frames.contains(where: { $0.buildID == buildID }) else { return nil }
        let innermost = frames.firstIndex { !$0.inlined }
        var result: [StackFrame] = []
        for (index, frame) in frames.enumerated() {
            guard frame.buildID == buildID, frame.method != .kernel, let moduleAddress = frame.moduleAddress else {
                result.append(frame)
                continue
            }
            // A JIT's frames keep their names; inlined frames are named again with the frame that holds them.
            if frame.namedBy == .perfMap || frame.namedBy == .v8Log {
                result.append(frame)
                continue
            }
            if frame.inlined { continue }
            let returnAddress = index != innermost
            var named = frame
            let inlined = describe(&named, image: debugFile, address: moduleAddress &- (returnAddress ? 1 : 0), returnAddress: returnAddress)
            result += inlined + [named]
        }
        return result == frames ? nil : result
    }

    /// Kernel frames, innermost first, without the tracing machinery that took the stack (the BPF
    /// programs and the tracepoint's glue above the syscall exit path).
    public func kernelFrames(_ addresses: [UInt64]) -> [StackFrame] {
        let frames = addresses.map { address in
            var frame = StackFrame(address: address, method: .kernel)
            frame.module = "[kernel]"
            if let (name, module, offset) = kernelSymbols.symbol(at: address) {
                frame.symbol = name
                frame.offset = offset
                frame.namedBy = .kallsyms
                // The running kernel's build ID for its own symbols; not for modules' or unnamed frames.
                if let module { frame.module = module } else { frame.buildID = kernelSymbols.buildID }
            }
            return frame
        }
        let tracing = frames.lastIndex { frame in
            frame.module == "[bpf]" || frame.symbol.map { $0.hasPrefix("bpf_trace_run") || $0.hasPrefix("__bpf_trace_") || $0.hasPrefix("bpf_prog_") } == true
        }
        return tracing.map { Array(frames[($0 + 1)...]) } ?? frames
    }

    /// A symbol as people write it: C++ names demangled, ELF symbol versions (`@@GLIBC_2.34`) dropped,
    /// at most `SymbolName.maxBytes` bytes (a longer one ends in `SymbolName.truncationMarker`).
    func demangle(_ versioned: String) -> String {
        let name = versioned.firstIndex(of: "@").map { String(versioned[..<$0]) } ?? versioned
        guard name.hasPrefix("_Z") else { return SymbolName.bounded(name) }
        if let known = demangled[name] { return known }
        var result = SymbolName.bounded(name)
        var buffer = [CChar](repeating: 0, count: SymbolName.maxBytes)
        var truncated: Int32 = 0
        let length = celfutils_demangle(name, &buffer, buffer.count, &truncated)
        if length >= 0 {
            let text = buffer.prefix(length).withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
            result = truncated != 0 ? SymbolName.bounded(text, cut: true) : text
        }
        if demangled.count > 10_000 { demangled.removeAll() }
        demangled[name] = result
        return result
    }
}
