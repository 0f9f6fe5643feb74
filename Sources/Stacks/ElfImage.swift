import CElfUtils
import Glibc

/// Identifies a file's contents well enough to cache what was parsed from it.
public struct FileIdentity: Hashable, Sendable {
    public var device: UInt64
    public var inode: UInt64
    public var modifiedNanoseconds: Int64
    public var size: Int64

    init(_ info: stat) {
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
        modifiedNanoseconds = Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
        size = Int64(info.st_size)
    }
}

/// An ELF file opened with libelf: its loadable segments (to turn addresses into ELF virtual
/// addresses), its function symbols (`.symtab`, else `.dynsym`), its call frame information
/// (`.eh_frame`, `.debug_frame`) and, when installed, its separate debug file (found by build id or
/// `.gnu_debuglink`). Symbol names point into the mapped file: nothing is copied until asked for.
/// Used by one thread at a time (the capture symbolizer).
public final class ElfImage {
    struct Segment {
        let fileOffset: UInt64
        let virtualAddress: UInt64
        let fileSize: UInt64
    }

    struct Symbol {
        let start: UInt64
        let size: UInt64
        let name: UnsafePointer<CChar>
        /// Lower is preferred among aliases at one address: global, then weak, then local.
        let rank: UInt8
    }

    public let path: String
    public let identity: FileIdentity
    private let descriptor: Int32
    private let elf: OpaquePointer
    let segments: [Segment]
    private(set) var symbols: [Symbol] = []
    /// Whether the symbols came from `.symtab` (all functions) rather than `.dynsym` (exports only).
    public private(set) var hasFullSymbolTable = false
    private let ehFrame: OpaquePointer?
    private let dwarf: OpaquePointer?
    private let debugFrame: OpaquePointer?
    public let buildID: [UInt8]?
    /// The separate debug file (from /usr/lib/debug), when one is installed.
    public private(set) var debugFile: ElfImage?

    /// Opens `path` (as seen by this process, e.g. through /proc/PID/root). `expected`, when given,
    /// must match the file's device and inode (the mapping's file, not one since replaced).
    public init(path: String, displayPath: String? = nil, searchDebugFiles: Bool = true) throws {
        elf_version(UInt32(EV_CURRENT))
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw StackError.unreadableFile(path: path, reason: String(cString: strerror(errno))) }
        var info = stat()
        guard fstat(fd, &info) == 0, let elf = elf_begin(fd, ELF_C_READ_MMAP, nil), elf_kind(elf) == ELF_K_ELF else {
            close(fd)
            throw StackError.unreadableFile(path: path, reason: "not an ELF file")
        }
        self.path = displayPath ?? path
        identity = FileIdentity(info)
        descriptor = fd
        self.elf = elf
        segments = Self.loadSegments(elf)
        ehFrame = dwarf_getcfi_elf(elf)
        let dwarf = dwarf_begin_elf(elf, DWARF_C_READ, nil)
        self.dwarf = dwarf
        debugFrame = dwarf.flatMap { dwarf_getcfi($0) }
        buildID = Self.buildID(elf)
        loadSymbols()
        if searchDebugFiles, !hasFullSymbolTable || debugFrame == nil {
            debugFile = findDebugFile(nextTo: path)
        }
    }

    deinit {
        if let ehFrame { dwarf_cfi_end(ehFrame) }
        if let dwarf { dwarf_end(dwarf) }
        elf_end(elf)
        close(descriptor)
    }

    /// The ELF virtual address of byte `fileOffset` of the file, if a loadable segment holds it.
    public func virtualAddress(fileOffset: UInt64) -> UInt64? {
        for segment in segments where fileOffset >= segment.fileOffset && fileOffset < segment.fileOffset + max(segment.fileSize, 1) {
            return fileOffset - segment.fileOffset + segment.virtualAddress
        }
        return nil
    }

    /// The function symbol covering `address` (an ELF virtual address) and the offset into it.
    public func symbol(at address: UInt64) -> (name: String, offset: UInt64)? {
        if !hasFullSymbolTable, let found = debugFile?.symbol(at: address) { return found }
        var low = 0, high = symbols.count
        while low < high {
            let middle = (low + high) / 2
            if symbols[middle].start <= address { low = middle + 1 } else { high = middle }
        }
        var index = low - 1
        while index >= 0 {
            let symbol = symbols[index]
            if symbol.size == 0 || address < symbol.start + symbol.size {
                return (String(cString: symbol.name), address - symbol.start)
            }
            // A sized symbol ending before `address`: an earlier, larger one may still cover it.
            if index > 0, symbols[index - 1].start == symbol.start { index -= 1; continue }
            return nil
        }
        return nil
    }

    /// Whether a function symbol of this name is defined here (`.symtab`, else `.dynsym`).
    public func defines(_ name: String) -> Bool {
        name.withCString { target in symbols.contains { strcmp($0.name, target) == 0 } }
    }

    /// The call frame information row for `address`: from `.eh_frame`, else `.debug_frame` (here or
    /// in the debug file). The caller frees the returned `Dwarf_Frame` with `free`.
    func callFrame(at address: UInt64) -> OpaquePointer? {
        for cfi in [ehFrame, debugFrame, debugFile?.debugFrame] {
            guard let cfi else { continue }
            var frame: OpaquePointer?
            if dwarf_cfi_addrframe(cfi, address, &frame) == 0, let frame { return frame }
        }
        return nil
    }

    private static func loadSegments(_ elf: OpaquePointer) -> [Segment] {
        var count = 0
        guard elf_getphdrnum(elf, &count) == 0 else { return [] }
        var segments: [Segment] = []
        for index in 0..<count {
            var header = GElf_Phdr()
            guard gelf_getphdr(elf, Int32(index), &header) != nil, header.p_type == PT_LOAD else { continue }
            segments.append(Segment(fileOffset: header.p_offset, virtualAddress: header.p_vaddr, fileSize: header.p_filesz))
        }
        return segments
    }

    private func loadSymbols() {
        var tables: [UInt32: [Symbol]] = [:]
        var section: OpaquePointer? = nil
        while let current = elf_nextscn(elf, section) {
            section = current
            var header = GElf_Shdr()
            guard gelf_getshdr(current, &header) != nil, header.sh_type == SHT_SYMTAB || header.sh_type == SHT_DYNSYM,
                let data = elf_getdata(current, nil), header.sh_entsize > 0
            else { continue }
            var found: [Symbol] = []
            for index in 0..<Int32(header.sh_size / header.sh_entsize) {
                var symbol = GElf_Sym()
                guard gelf_getsym(data, index, &symbol) != nil else { continue }
                let type = Int32(symbol.st_info & 0xf), binding = Int32(symbol.st_info >> 4)
                guard type == STT_FUNC || type == STT_GNU_IFUNC, symbol.st_shndx != UInt16(SHN_UNDEF), symbol.st_value != 0,
                    let name = elf_strptr(elf, Int(header.sh_link), Int(symbol.st_name)), name.pointee != 0
                else { continue }
                let rank: UInt8 = binding == STB_GLOBAL ? 0 : binding == STB_WEAK ? 1 : 2
                found.append(Symbol(start: symbol.st_value, size: symbol.st_size, name: UnsafePointer(name), rank: rank))
            }
            tables[header.sh_type, default: []].append(contentsOf: found)
        }
        hasFullSymbolTable = tables[UInt32(SHT_SYMTAB)] != nil
        symbols = (tables[UInt32(SHT_SYMTAB)] ?? tables[UInt32(SHT_DYNSYM)] ?? []).sorted {
            ($0.start, $0.rank, Self.underscores($0.name)) < ($1.start, $1.rank, Self.underscores($1.name))
        }
        // One symbol per address: the preferred alias sorts first.
        var unique: [Symbol] = []
        unique.reserveCapacity(symbols.count)
        for symbol in symbols where unique.last?.start != symbol.start { unique.append(symbol) }
        symbols = unique
    }

    private static func underscores(_ name: UnsafePointer<CChar>) -> Int {
        var count = 0
        while name[count] == CChar(UInt8(ascii: "_")) { count += 1 }
        return count
    }

    private static func buildID(_ elf: OpaquePointer) -> [UInt8]? {
        var section: OpaquePointer? = nil
        while let current = elf_nextscn(elf, section) {
            section = current
            var header = GElf_Shdr()
            guard gelf_getshdr(current, &header) != nil, header.sh_type == SHT_NOTE, let data = elf_getdata(current, nil) else { continue }
            var offset = 0
            var note = GElf_Nhdr()
            var nameOffset = 0, descriptionOffset = 0
            while true {
                let next = gelf_getnote(data, offset, &note, &nameOffset, &descriptionOffset)
                if next == 0 { break }
                offset = next
                if note.n_type == UInt32(NT_GNU_BUILD_ID), note.n_namesz == 4, let base = data.pointee.d_buf {
                    let bytes = base.advanced(by: descriptionOffset).assumingMemoryBound(to: UInt8.self)
                    return Array(UnsafeBufferPointer(start: bytes, count: Int(note.n_descsz)))
                }
            }
        }
        return nil
    }

    private func debugLink() -> String? {
        var section: OpaquePointer? = nil
        var stringsIndex = 0
        guard elf_getshdrstrndx(elf, &stringsIndex) == 0 else { return nil }
        while let current = elf_nextscn(elf, section) {
            section = current
            var header = GElf_Shdr()
            guard gelf_getshdr(current, &header) != nil, let name = elf_strptr(elf, stringsIndex, Int(header.sh_name)),
                String(cString: name) == ".gnu_debuglink", let data = elf_getdata(current, nil), let base = data.pointee.d_buf
            else { continue }
            return String(cString: base.assumingMemoryBound(to: CChar.self))
        }
        return nil
    }

    /// /usr/lib/debug/.build-id/ab/cdef….debug, then the debuglink beside the file, in its .debug
    /// directory, and under /usr/lib/debug (gdb's search order).
    private func findDebugFile(nextTo path: String) -> ElfImage? {
        var candidates: [String] = []
        if let buildID, buildID.count > 1 {
            let hex = buildID.map { String($0, radix: 16).leftPadded(to: 2) }
            candidates.append("/usr/lib/debug/.build-id/\(hex[0])/\(hex.dropFirst().joined()).debug")
        }
        if let link = debugLink() {
            let directory = path.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
            candidates += ["\(directory)/\(link)", "\(directory)/.debug/\(link)", "/usr/lib/debug\(directory)/\(link)"]
        }
        for candidate in candidates where candidate != path && access(candidate, R_OK) == 0 {
            if let image = try? ElfImage(path: candidate, searchDebugFiles: false), image.buildID == nil || image.buildID == buildID {
                return image
            }
        }
        return nil
    }
}

extension String {
    func leftPadded(to width: Int) -> String { count >= width ? self : String(repeating: "0", count: width - count) + self }
}
