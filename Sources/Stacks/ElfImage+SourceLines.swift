import CElfUtils
import Glibc

extension ElfImage {
    /// Inlined functions expanded at one address at most (deeper nesting is cut, outermost kept).
    static let maxInlinedDepth = 16
    /// File names longer than this are cut (they come from the file, which its owner controls).
    static let maxSourcePathBytes = 4096

    /// The source locations of `address` (an ELF virtual address): the functions inlined there,
    /// innermost first, then the function that holds it, each with its file and line; empty without
    /// DWARF line information here or in the separate debug file. libdw parses each compilation
    /// unit's line table once, when first asked, and keeps it with this image (bounded by ElfCache).
    public func sourceLocations(at address: UInt64) -> [SourceLocation] {
        if let dwarf, diesReadable, let found = Self.sourceLocations(dwarf, at: address), !found.isEmpty { return found }
        return debugFile?.sourceLocations(at: address) ?? []
    }

    private static func sourceLocations(_ dwarf: OpaquePointer, at address: UInt64) -> [SourceLocation]? {
        var unit = Dwarf_Die()
        guard dwarf_addrdie(dwarf, Dwarf_Addr(address), &unit) != nil else { return nil }
        var position: (file: String?, line: Int?) = (nil, nil)
        if let line = dwarf_getsrc_die(&unit, Dwarf_Addr(address)) {
            position.file = dwarf_linesrc(line, nil, nil).map(sourcePath)
            var number: Int32 = 0
            if dwarf_lineno(line, &number) == 0, number > 0 { position.line = Int(number) }
        }
        // The innermost scope at the address, then the scopes that hold it in the concrete tree (an
        // inlined instance sits in its caller; dwarf_getscopes would follow the inlined function's
        // abstract definition instead).
        var scopes: UnsafeMutablePointer<Dwarf_Die>?
        var count = dwarf_getscopes(&unit, Dwarf_Addr(address), &scopes)
        if count > 0, var innermost = scopes?.pointee {
            free(scopes)
            scopes = nil
            count = dwarf_getscopes_die(&innermost, &scopes)
        }
        defer { free(scopes) }
        guard count > 0, let scopes else {
            return position.file == nil ? [] : [SourceLocation(function: nil, file: position.file, line: position.line, inlined: false)]
        }
        var files: OpaquePointer?
        var fileCount = 0
        if dwarf_getsrcfiles(&unit, &files, &fileCount) != 0 { files = nil }
        var locations: [SourceLocation] = []
        for index in 0..<Int(count) {
            var scope = scopes[index]
            let tag = Int(dwarf_tag(&scope))
            if tag == DW_TAG_subprogram {
                locations.append(SourceLocation(function: name(&scope), file: position.file, line: position.line, inlined: false))
                break
            }
            guard tag == DW_TAG_inlined_subroutine else { continue }
            if locations.count < maxInlinedDepth {
                locations.append(SourceLocation(function: name(&scope), file: position.file, line: position.line, inlined: true))
            }
            // The next location is where this one was inlined: its call site.
            position = (nil, nil)
            var attribute = Dwarf_Attribute()
            var value: Dwarf_Word = 0
            if let files, dwarf_attr(&scope, UInt32(DW_AT_call_file), &attribute) != nil, dwarf_formudata(&attribute, &value) == 0,
                value < fileCount, let file = dwarf_filesrc(files, Int(value), nil, nil)
            {
                position.file = sourcePath(file)
            }
            if dwarf_attr(&scope, UInt32(DW_AT_call_line), &attribute) != nil, dwarf_formudata(&attribute, &value) == 0, value > 0,
                value <= Dwarf_Word(Int32.max)
            {
                position.line = Int(value)
            }
        }
        if locations.isEmpty, position.file != nil {
            return [SourceLocation(function: nil, file: position.file, line: position.line, inlined: false)]
        }
        return locations
    }

    /// A function DIE's name, through its abstract origin or specification (an inlined instance
    /// names nothing itself).
    private static func name(_ die: inout Dwarf_Die) -> String? {
        var attribute = Dwarf_Attribute()
        guard dwarf_attr_integrate(&die, UInt32(DW_AT_name), &attribute) != nil, let text = dwarf_formstring(&attribute) else { return nil }
        return SymbolName.copy(text)
    }

    private static func sourcePath(_ text: UnsafePointer<CChar>) -> String {
        let length = strnlen(text, maxSourcePathBytes)
        return String(decoding: UnsafeRawBufferPointer(start: text, count: length), as: UTF8.self)
    }
}
