import CElfUtils
import Glibc

/// Identifies a file's contents well enough to cache what was parsed from it.
public struct FileIdentity: Hashable, Sendable {
    public var device: UInt64
    public var inode: UInt64
    public var modifiedNanoseconds: Int64
    public var size: Int64
    /// The file's owner.
    public var owner: UInt32

    /// The device's major and minor numbers (glibc's dev_t encoding), as /proc/PID/maps shows them.
    var deviceNumbers: (major: UInt32, minor: UInt32) {
        (UInt32(truncatingIfNeeded: ((device >> 8) & 0xfff) | ((device >> 32) & ~0xfff)),
         UInt32(truncatingIfNeeded: (device & 0xff) | ((device >> 12) & ~0xff)))
    }

    init(_ info: stat) {
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
        modifiedNanoseconds = Int64(info.st_mtim.tv_sec) &* 1_000_000_000 &+ Int64(info.st_mtim.tv_nsec)
        size = Int64(info.st_size)
        owner = info.st_uid
    }
}

/// An ELF file opened with libelf: its loadable segments (to turn addresses into ELF virtual
/// addresses), its function symbols (`.symtab`, else `.dynsym`), its call frame information
/// (`.eh_frame`, `.debug_frame`) and, when installed, its separate debug file (found by build id or
/// `.gnu_debuglink`). Symbol names point into the sections libelf read: nothing is copied until asked for.
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
    let dwarf: OpaquePointer?
    /// Whether DIEs (lines, inlined scopes) may be read: false when the DWARF refers to a
    /// supplementary file (`.gnu_debugaltlink`, dwz) that could not be opened safely — libdw would
    /// otherwise open the named path itself, blocking, wherever it points.
    let diesReadable: Bool
    /// The supplementary DWARF file (dwz) the DWARF refers to, kept open while this image is.
    private let altFile: ElfImage?
    private let debugFrame: OpaquePointer?
    public let buildID: [UInt8]?
    /// The separate debug file (from /usr/lib/debug, or fetched from debuginfod), when there is one.
    public private(set) var debugFile: ElfImage?
    /// Whether the file holds DWARF itself (a `.debug_info` section with contents).
    public let hasDebugInfoSection: Bool
    /// Whether DWARF is at hand: in the file or in its debug file.
    public var hasDebugInfo: Bool { hasDebugInfoSection || debugFile?.hasDebugInfoSection == true }
    /// Symbols held, with the debug file's.
    public var symbolCount: Int { symbols.count + (debugFile?.symbolCount ?? 0) }

    /// Symbols beyond `maxSymbols` were left out.
    public private(set) var symbolsTruncated = false

    /// Files larger than this are not parsed (a sparse file of any size costs the attacker nothing).
    static let maxFileBytes: Int64 = 512 << 20
    /// Sections a file may declare (the ELF format's own limit without extensions).
    static let maxSections = 65_535
    /// Function symbols kept per file (node has about 100,000).
    static let maxSymbols = 500_000

    /// Opens `path` (as seen by this process; under /proc/PID/root/ resolved inside that root) as
    /// untrusted input: a regular file, opened without blocking, of bounded size and section count.
    /// `owners`: the uids the file may belong to (nil: any).
    public convenience init(path: String, displayPath: String? = nil, searchDebugFiles: Bool = true, owners: Set<UInt32>? = nil) throws {
        try self.init(path: path, displayPath: displayPath, searchDebugFiles: searchDebugFiles, owners: owners, resolveAltLink: true)
    }

    private init(path: String, displayPath: String?, searchDebugFiles: Bool, owners: Set<UInt32>?, resolveAltLink: Bool) throws {
        elf_version(UInt32(EV_CURRENT))
        let opened: TargetFile.Opened
        do {
            opened = try TargetFile.open(path, owners: owners, maxBytes: Self.maxFileBytes)
        } catch {
            throw StackError.unreadableFile(path: path, reason: error.description)
        }
        let fd = opened.descriptor
        // Read, not mapped: the file's owner may truncate it while it is parsed, and a mapped page
        // past the end of a file is SIGBUS; libelf reads each section it is asked for, bounded by
        // the file's size.
        guard Self.sectionCountIsSane(fd), let elf = elf_begin(fd, ELF_C_READ, nil), elf_kind(elf) == ELF_K_ELF else {
            close(fd)
            throw StackError.unreadableFile(path: path, reason: "not an ELF file (or one with an implausible section table)")
        }
        self.path = displayPath ?? path
        identity = FileIdentity(opened.info)
        descriptor = fd
        self.elf = elf
        segments = Self.loadSegments(elf)
        ehFrame = dwarf_getcfi_elf(elf)
        let dwarf = dwarf_begin_elf(elf, DWARF_C_READ, nil)
        self.dwarf = dwarf
        debugFrame = dwarf.flatMap { dwarf_getcfi($0) }
        var altFile: ElfImage?
        if let dwarf, let link = Self.altLink(elf) {
            // Opened like any file a target names: inside its root, non-blocking, a regular file of root or its owner.
            altFile = resolveAltLink ? Self.openAltFile(link, nextTo: path, owners: [0, FileIdentity(opened.info).owner]) : nil
            if let altDwarf = altFile?.dwarf { dwarf_setalt(dwarf, altDwarf) }
        }
        self.altFile = altFile
        diesReadable = dwarf != nil && (altFile != nil || Self.altLink(elf) == nil)
        buildID = Self.buildID(elf)
        hasDebugInfoSection = Self.section(elf, named: ".debug_info").map { $0.1.sh_type != SHT_NOBITS && $0.1.sh_size > 0 } ?? false
        loadSymbols()
        if searchDebugFiles, !hasFullSymbolTable || debugFrame == nil || !hasDebugInfoSection {
            debugFile = findDebugFile(nextTo: path)
        }
    }

    deinit {
        if let ehFrame { dwarf_cfi_end(ehFrame) }
        if let dwarf { dwarf_end(dwarf) }
        elf_end(elf)
        close(descriptor)
    }

    /// Takes `file` as this image's debug file (one debuginfod delivered) when it carries this
    /// image's build ID and DWARF, and no debug file with DWARF is attached yet.
    @discardableResult
    public func adopt(debugFile file: ElfImage) -> Bool {
        guard !hasDebugInfo, let buildID, file.buildID == buildID, file.hasDebugInfoSection else { return false }
        debugFile = file
        return true
    }

    /// The ELF virtual address of byte `fileOffset` of the file, if a loadable segment holds it.
    public func virtualAddress(fileOffset: UInt64) -> UInt64? {
        for segment in segments where fileOffset >= segment.fileOffset && fileOffset - segment.fileOffset < max(segment.fileSize, 1) {
            return (fileOffset - segment.fileOffset) &+ segment.virtualAddress
        }
        return nil
    }

    /// Reads the ELF header (and, for a file with 65,280 sections or more, section 0) and checks
    /// that the section count libelf would allocate for is within `maxSections`.
    static func sectionCountIsSane(_ fd: Int32) -> Bool {
        var header = [UInt8](repeating: 0, count: 64)
        guard pread(fd, &header, 64, 0) == 64, header.starts(with: [0x7F, 0x45, 0x4C, 0x46]), header[4] == 2 else { return false }
        func field<T: FixedWidthInteger>(_ offset: Int, _: T.Type) -> T {
            header.withUnsafeBytes { T(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: T.self)) }
        }
        let sectionOffset = field(0x28, UInt64.self), count = Int(field(0x3C, UInt16.self))
        guard count == 0, sectionOffset != 0 else { return count <= maxSections }
        // Extended numbering: the count is section 0's sh_size.
        var first = [UInt8](repeating: 0, count: 64)
        guard sectionOffset < UInt64(Int64.max), pread(fd, &first, 64, off_t(sectionOffset)) == 64 else { return false }
        let extended = first.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: 0x20, as: UInt64.self)) }
        return extended <= UInt64(maxSections)
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
            if symbol.size == 0 || address - symbol.start < symbol.size {
                return (SymbolName.copy(symbol.name), address - symbol.start)
            }
            // A sized symbol ending before `address`: an earlier, larger one may still cover it.
            if index > 0, symbols[index - 1].start == symbol.start { index -= 1; continue }
            return nil
        }
        return nil
    }

    /// Whether a function symbol of this name is defined here (`.symtab`, else `.dynsym`).
    public func defines(_ name: String) -> Bool {
        symbol(named: name) != nil
    }

    /// The first function symbol of this name, in address order.
    private func symbol(named name: String) -> Symbol? {
        name.withCString { target in symbols.first { strcmp($0.name, target) == 0 } }
    }

    /// The file offset of the first byte of function `name` (as `defines` finds it): its address
    /// inside the loadable segment that holds it, from that segment's start in the file. nil when
    /// no such function is defined or no segment holds its address.
    public func fileOffset(ofFunction name: String) -> UInt64? {
        guard let address = symbol(named: name)?.start else { return nil }
        for segment in segments where address >= segment.virtualAddress && address - segment.virtualAddress < segment.fileSize {
            let (offset, overflow) = segment.fileOffset.addingReportingOverflow(address - segment.virtualAddress)
            return overflow ? nil : offset
        }
        return nil
    }

    /// The identity of the file at `path` as `init(path:)` would open it (without blocking, a
    /// regular file, under /proc/PID/root/ resolved inside that root), without parsing it; nil when
    /// it would be refused.
    public static func identity(ofFileAt path: String) -> FileIdentity? {
        guard let opened = try? TargetFile.open(path, owners: nil, maxBytes: maxFileBytes) else { return nil }
        close(opened.descriptor)
        return FileIdentity(opened.info)
    }

    /// This process's path to the file it opened and checked (`/proc/self/fd/N`, valid while the
    /// image lives): what to hand to code that opens by path (the kernel's uprobe attach), so that
    /// it reaches this very file whatever the path it came from points to by then.
    public var openedFilePath: String { "/proc/self/fd/\(descriptor)" }

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

    /// Function symbols of the first `.symtab` (else the first `.dynsym`), at most `maxSymbols`.
    private func loadSymbols() {
        guard let (section, header) = firstSection(ofType: UInt32(SHT_SYMTAB)) ?? firstSection(ofType: UInt32(SHT_DYNSYM)),
            let data = elf_getdata(section, nil)
        else { return }
        hasFullSymbolTable = header.sh_type == UInt32(SHT_SYMTAB)
        var found: [Symbol] = []
        // The entries the data holds, whatever the header claims.
        let count = min(data.pointee.d_size / MemoryLayout<Elf64_Sym>.size, Self.maxSymbols + 1)
        for index in 0..<count {
            var symbol = GElf_Sym()
            guard gelf_getsym(data, Int32(index), &symbol) != nil else { break }
            guard found.count < Self.maxSymbols else {
                symbolsTruncated = true
                break
            }
            let type = Int32(symbol.st_info & 0xf), binding = Int32(symbol.st_info >> 4)
            guard type == STT_FUNC || type == STT_GNU_IFUNC, symbol.st_shndx != UInt16(SHN_UNDEF), symbol.st_value != 0,
                let name = elf_strptr(elf, Int(header.sh_link), Int(symbol.st_name)), name.pointee != 0
            else { continue }
            let rank: UInt8 = binding == STB_GLOBAL ? 0 : binding == STB_WEAK ? 1 : 2
            found.append(Symbol(start: symbol.st_value, size: symbol.st_size, name: UnsafePointer(name), rank: rank))
        }
        found.sort { ($0.start, $0.rank, Self.underscores($0.name)) < ($1.start, $1.rank, Self.underscores($1.name)) }
        // One symbol per address: the preferred alias sorts first.
        var unique: [Symbol] = []
        unique.reserveCapacity(found.count)
        for symbol in found where unique.last?.start != symbol.start { unique.append(symbol) }
        symbols = unique
    }

    /// The first section of `type` and its header.
    private func firstSection(ofType type: UInt32) -> (OpaquePointer, GElf_Shdr)? {
        var section: OpaquePointer? = nil
        while let current = elf_nextscn(elf, section) {
            section = current
            var header = GElf_Shdr()
            if gelf_getshdr(current, &header) != nil, header.sh_type == type { return (current, header) }
        }
        return nil
    }

    private static func underscores(_ name: UnsafePointer<CChar>) -> Int {
        var count = 0
        while count < 8, name[count] == CChar(UInt8(ascii: "_")) { count += 1 }
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
                if note.n_type == UInt32(NT_GNU_BUILD_ID), note.n_namesz == 4, note.n_descsz <= 64, let base = data.pointee.d_buf {
                    let bytes = base.advanced(by: descriptionOffset).assumingMemoryBound(to: UInt8.self)
                    return Array(UnsafeBufferPointer(start: bytes, count: Int(note.n_descsz)))
                }
            }
        }
        return nil
    }

    private func debugLink() -> String? {
        guard let (section, _) = Self.section(elf, named: ".gnu_debuglink"), let data = elf_getdata(section, nil), let base = data.pointee.d_buf else {
            return nil
        }
        let bytes = UnsafeRawBufferPointer(start: base, count: data.pointee.d_size)
        return String(decoding: bytes.prefix { $0 != 0 }.prefix(255), as: UTF8.self)
    }

    /// `.gnu_debugaltlink`: the supplementary file's name and build ID.
    private static func altLink(_ elf: OpaquePointer) -> (name: String, buildID: [UInt8])? {
        guard let (section, _) = section(elf, named: ".gnu_debugaltlink"), let data = elf_getdata(section, nil), let base = data.pointee.d_buf else {
            return nil
        }
        let bytes = UnsafeRawBufferPointer(start: base, count: data.pointee.d_size)
        guard let end = bytes.firstIndex(of: 0), end > 0, end <= maxSourcePathBytes else { return nil }
        let buildID = Array(bytes[(end + 1)...].prefix(BuildID.maxBytes))
        return (String(decoding: bytes[..<end], as: UTF8.self), buildID)
    }

    /// The supplementary DWARF file `link` names, opened as untrusted input inside the target's root:
    /// by its path (relative to the debug file's directory), else by build ID under /usr/lib/debug;
    /// only a regular file of `owners` carrying the build ID the link says.
    private static func openAltFile(_ link: (name: String, buildID: [UInt8]), nextTo path: String, owners: Set<UInt32>) -> ElfImage? {
        guard link.buildID.count > 1 else { return nil }
        let (root, inside) = TargetFile.split(path)
        let directory = inside.split(separator: "/").dropLast().joined(separator: "/")
        let prefix = root ?? ""
        let named = link.name.hasPrefix("/") ? prefix + link.name : "\(prefix)/\(directory)/\(link.name)"
        let hex = link.buildID.map { String($0, radix: 16).leftPadded(to: 2) }
        for candidate in [named, "\(prefix)/usr/lib/debug/.build-id/\(hex[0])/\(hex.dropFirst().joined()).debug"] {
            if let image = try? ElfImage(path: candidate, displayPath: nil, searchDebugFiles: false, owners: owners, resolveAltLink: false),
                image.buildID == link.buildID, image.dwarf != nil
            {
                return image
            }
        }
        return nil
    }

    /// The first section called `name`, and its header.
    private static func section(_ elf: OpaquePointer, named name: String) -> (OpaquePointer, GElf_Shdr)? {
        var section: OpaquePointer? = nil
        var stringsIndex = 0
        guard elf_getshdrstrndx(elf, &stringsIndex) == 0 else { return nil }
        while let current = elf_nextscn(elf, section) {
            section = current
            var header = GElf_Shdr()
            if gelf_getshdr(current, &header) != nil, let sectionName = elf_strptr(elf, stringsIndex, Int(header.sh_name)), strcmp(sectionName, name) == 0 {
                return (current, header)
            }
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
        // A debug link names a file, never a path: one with a '/' (or '.', '..') is refused.
        if let link = debugLink(), !link.isEmpty, !link.contains("/"), link != ".", link != ".." {
            // Beside the file, in its .debug directory and under /usr/lib/debug — all in the file's root.
            let (root, inside) = TargetFile.split(path)
            let parent = inside.split(separator: "/").dropLast().joined(separator: "/")
            let directory = "\(root ?? "")/\(parent)"
            candidates += ["\(directory)/\(link)", "\(directory)/.debug/\(link)", "\(root ?? "")/usr/lib/debug/\(parent)/\(link)"]
        }
        // A debug file belongs to root or to the binary's owner, and carries the binary's build ID:
        // nothing else is read as one (a link could otherwise name any file root can read).
        guard let buildID else { return nil }
        for candidate in candidates where candidate != path {
            if let image = try? ElfImage(path: candidate, searchDebugFiles: false, owners: [0, identity.owner]), image.buildID == buildID {
                return image
            }
        }
        return nil
    }
}

extension String {
    func leftPadded(to width: Int) -> String { count >= width ? self : String(repeating: "0", count: width - count) + self }
}
