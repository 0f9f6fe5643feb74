import CElfUtils
import Glibc

/// One frame of a symbolized stack, innermost first in a list.
public struct StackFrame: Sendable, Equatable {
    /// The runtime address (for callers: the return address).
    public var address: UInt64
    /// The function; nil when no symbol covers the address.
    public var symbol: String?
    /// Bytes from the symbol's start.
    public var offset: UInt64?
    /// The file (ELF path, `[vdso]`, `[kernel]`, `[jit]` …) the address belongs to.
    public var module: String?
    /// The address as an ELF virtual address of `module` (for addr2line / objdump), when known.
    public var moduleAddress: UInt64?
    /// Source file and line, where known (JIT frames name them).
    public var file: String?
    public var line: Int?
    public var method: UnwindMethod

    public init(address: UInt64, method: UnwindMethod) {
        self.address = address
        self.method = method
    }

    /// `0x1f`: how addresses are shown.
    public static func hex(_ value: UInt64) -> String { "0x" + String(value, radix: 16) }

    /// `symbol+0x1f (module)`, `module+0x1234` or the bare address: how the folded and text forms show it.
    public var displayName: String {
        if let symbol { return file.map { "\(symbol) \($0):\(line ?? 0)" } ?? symbol }
        if let module, let moduleAddress { return "\(module)+\(Self.hex(moduleAddress))" }
        return Self.hex(address)
    }
}

/// ELF images by file identity, so a burst of captures parses each file once. Bounded: the least
/// recently used image is closed when more than `capacity` are open.
public final class ElfCache {
    private var images: [FileIdentity: (image: ElfImage, lastUse: UInt64)] = [:]
    private var clock: UInt64 = 0
    public let capacity: Int

    public init(capacity: Int = 64) {
        self.capacity = capacity
    }

    /// The image of the file at `path`, parsed at most once per (device, inode, mtime, size).
    public func image(path: String, displayPath: String) -> ElfImage? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        let identity = FileIdentity(info)
        clock += 1
        if let cached = images[identity] {
            images[identity] = (cached.image, clock)
            return cached.image
        }
        guard let image = try? ElfImage(path: path, displayPath: displayPath) else { return nil }
        if images.count >= capacity, let oldest = images.min(by: { $0.value.lastUse < $1.value.lastUse })?.key {
            images[oldest] = nil
        }
        images[image.identity] = (image, clock)
        return image
    }
}

/// A process's code as the unwinder and symbolizer see it: its mappings (read once, at capture
/// time) and the ELF images behind them (from the shared cache), opened through /proc/PID/root so
/// that processes in other mount namespaces (containers) resolve to their own files.
public final class ProcessCode: CodeLocator {
    public let maps: ProcessMaps
    private let cache: ElfCache
    private let root: String
    private var resolved: [UInt64: ElfImage?] = [:]

    public init(maps: ProcessMaps, cache: ElfCache, root: String? = nil) {
        self.maps = maps
        self.cache = cache
        self.root = root ?? "/proc/\(maps.pid)/root"
    }

    /// The mapping's image, when it maps a regular ELF file that is still the mapped one.
    func image(for mapping: Mapping) -> ElfImage? {
        if let known = resolved[mapping.start] { return known }
        var image: ElfImage?
        if mapping.isFile, !mapping.name.hasSuffix(" (deleted)") {
            let candidates = [root + mapping.name, mapping.name]
            for path in candidates {
                if let found = cache.image(path: path, displayPath: mapping.name), found.identity.inode == mapping.inode {
                    image = found
                    break
                }
            }
        }
        resolved[mapping.start] = image
        return image
    }

    public func image(at address: UInt64) -> (image: ElfImage, virtualAddress: UInt64)? {
        guard let mapping = maps.mapping(containing: address), let image = image(for: mapping),
            let virtualAddress = image.virtualAddress(fileOffset: address - mapping.start + mapping.fileOffset)
        else { return nil }
        return (image, virtualAddress)
    }
}

/// Names the frames of captured stacks: user frames from ELF symbols (with C++ names demangled) or
/// a JIT's perf map, kernel frames from kallsyms. Unresolved frames keep their module and offset.
public final class Symbolizer {
    public let cache: ElfCache
    public let kernelSymbols: KernelSymbols
    private var perfMaps: [String: PerfMap] = [:]
    private var demangled: [String: String] = [:]

    public init(cache: ElfCache = ElfCache(), kernelSymbols: KernelSymbols) {
        self.cache = cache
        self.kernelSymbols = kernelSymbols
    }

    /// The perf map a process's JIT writes: /tmp/perf-<pid in its own pid namespace>.map, seen
    /// through the process's root.
    public func perfMap(pid: Int32) -> PerfMap? {
        // Through the process's root while it runs; once it has exited, the host's /tmp (where
        // a process of the host's mount namespace wrote it).
        let candidates = Self.namespacePID(pid).map { ["/proc/\(pid)/root/tmp/perf-\($0).map"] } ?? ["/tmp/perf-\(pid).map"]
        for path in candidates {
            let map = perfMaps[path] ?? PerfMap(path: path)
            guard map.refresh() else { continue }
            if perfMaps[path] == nil {
                if perfMaps.count >= 256 { perfMaps.removeAll() }
                perfMaps[path] = map
            }
            return map
        }
        return nil
    }

    static func namespacePID(_ pid: Int32) -> Int32? {
        guard let status = FileText.read("/proc/\(pid)/status", limit: 1 << 16) else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix("NSpid:") {
            return line.split(whereSeparator: { $0 == "\t" || $0 == " " }).last.flatMap { Int32($0) }
        }
        return nil
    }

    public func userFrames(_ frames: [UnwoundFrame], code: ProcessCode, perfMap: PerfMap?) -> [StackFrame] {
        frames.enumerated().map { index, unwound in
            var frame = StackFrame(address: unwound.address, method: unwound.method)
            // Callers' addresses are return addresses: name the call, one byte before.
            let lookup = index == 0 ? unwound.address : unwound.address &- 1
            if let mapping = code.maps.mapping(containing: lookup) {
                frame.module = mapping.name.isEmpty ? "[anon]" : mapping.name
                if let image = code.image(for: mapping), let address = image.virtualAddress(fileOffset: lookup - mapping.start + mapping.fileOffset) {
                    frame.moduleAddress = address + (lookup == unwound.address ? 0 : 1)
                    if let (name, offset) = image.symbol(at: address) {
                        frame.symbol = demangle(name)
                        frame.offset = offset + (lookup == unwound.address ? 0 : 1)
                    }
                }
            }
            if frame.symbol == nil, let (name, offset) = perfMap?.symbol(at: lookup) {
                let (function, file, line) = PerfMap.sourceLocation(of: name)
                frame.symbol = function
                frame.offset = offset + (lookup == unwound.address ? 0 : 1)
                frame.file = file
                frame.line = line
                if frame.module == nil || frame.module == "[anon]" { frame.module = "[jit]" }
            }
            return frame
        }
    }

    /// Kernel frames, innermost first, without the tracing machinery that took the stack (the BPF
    /// programs and the tracepoint's glue above the syscall exit path).
    public func kernelFrames(_ addresses: [UInt64]) -> [StackFrame] {
        let frames = addresses.map { address in
            var frame = StackFrame(address: address, method: .kernel)
            frame.module = "[kernel]"
            if let (name, offset) = kernelSymbols.symbol(at: address) {
                let parts = name.split(whereSeparator: { $0 == " " || $0 == "\t" })
                frame.symbol = String(parts[0])
                frame.offset = offset
                if parts.count > 1 { frame.module = String(parts[1]) }
            }
            return frame
        }
        let tracing = frames.lastIndex { frame in
            frame.module == "[bpf]" || frame.symbol.map { $0.hasPrefix("bpf_trace_run") || $0.hasPrefix("__bpf_trace_") || $0.hasPrefix("bpf_prog_") } == true
        }
        return tracing.map { Array(frames[($0 + 1)...]) } ?? frames
    }

    /// A symbol as people write it: C++ names demangled, ELF symbol versions (`@@GLIBC_2.34`) dropped.
    private func demangle(_ versioned: String) -> String {
        let name = versioned.firstIndex(of: "@").map { String(versioned[..<$0]) } ?? versioned
        guard name.hasPrefix("_Z") else { return name }
        if let known = demangled[name] { return known }
        var result = name
        if let pointer = celfutils_demangle(name) {
            result = String(cString: pointer)
            free(pointer)
        }
        if demangled.count > 100_000 { demangled.removeAll() }
        demangled[name] = result
        return result
    }
}
