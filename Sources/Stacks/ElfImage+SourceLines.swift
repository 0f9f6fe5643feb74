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
        // The scopes that hold the address in the concrete tree, innermost first (an inlined
        // instance sits in its caller; libdw's dwarf_getscopes would follow the inlined function's
        // abstract definition instead). A search cut short leaves the line alone.
        let scopes: [Dwarf_Die] = Self.scopes(holding: Dwarf_Addr(address), in: unit).map { Array($0.reversed()) } ?? []
        var files: OpaquePointer?
        var fileCount = 0
        if dwarf_getsrcfiles(&unit, &files, &fileCount) != 0 { files = nil }
        var locations: [SourceLocation] = []
        for var scope in scopes {
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

    /// DIEs one search for the scopes at an address looks at, at most: each sibling and child on
    /// the way down (a compilation unit of node's has a few hundred thousand DIEs in all).
    static let maxScopeSearchDies = 1_000_000

    /// Tags of the DIEs that may carry the ranges of code (libdw's own list for dwarf_getscopes).
    private static let scopeTags: Set<Int> = [
        DW_TAG_compile_unit, DW_TAG_module, DW_TAG_lexical_block, DW_TAG_with_stmt, DW_TAG_catch_block, DW_TAG_try_block,
        DW_TAG_entry_point, DW_TAG_inlined_subroutine, DW_TAG_subprogram,
    ]

    /// The DIEs whose ranges hold `address`, from `unit` down the concrete tree, the innermost last:
    /// what libdw's dwarf_getscopes and dwarf_getscopes_die give together, found in a loop. libdw
    /// recurses once per level of nesting, through every DIE of the unit: a file nesting DIEs
    /// 60,000 deep overflowed the thread's stack. Only DIEs of `scopeTags` whose ranges hold
    /// `address` are entered, as libdw's search does; an imported unit's children count as its
    /// siblings, and each imported unit is entered once (imports may cycle). nil when the search
    /// would look at more than `maxScopeSearchDies` DIEs.
    static func scopes(holding address: Dwarf_Addr, in unit: Dwarf_Die) -> [Dwarf_Die]? {
        var path = [unit]
        var parent = unit
        var looked = 0
        var enteredUnits: Set<Dwarf_Off> = []
        descending: while true {
            var die = Dwarf_Die()
            guard dwarf_child(&parent, &die) == 0 else { break }
            // Where to go on once an imported unit's children are done: the DIE after its import.
            var afterImports: [Dwarf_Die] = []
            while true {
                looked += 1
                guard looked <= maxScopeSearchDies else { return nil }
                let tag = Int(dwarf_tag(&die))
                if tag == DW_TAG_imported_unit, let first = importedChildren(of: &die, entered: &enteredUnits) {
                    var next = Dwarf_Die()
                    if dwarf_siblingof(&die, &next) == 0 { afterImports.append(next) }
                    die = first
                    continue
                }
                if scopeTags.contains(tag), dwarf_haspc(&die, address) == 1 {
                    path.append(die)
                    parent = die
                    continue descending
                }
                var next = Dwarf_Die()
                if dwarf_siblingof(&die, &next) == 0 {
                    die = next
                } else if let resume = afterImports.popLast() {
                    die = resume
                } else {
                    break descending
                }
            }
        }
        return path
    }

    /// The first child of the unit `die` (a DW_TAG_imported_unit) imports, unless that unit was
    /// entered before, has no children or cannot be read.
    private static func importedChildren(of die: inout Dwarf_Die, entered: inout Set<Dwarf_Off>) -> Dwarf_Die? {
        var attribute = Dwarf_Attribute()
        var unit = Dwarf_Die()
        var first = Dwarf_Die()
        guard dwarf_attr(&die, UInt32(DW_AT_import), &attribute) != nil, dwarf_formref_die(&attribute, &unit) != nil,
            entered.insert(dwarf_dieoffset(&unit)).inserted, dwarf_child(&unit, &first) == 0
        else { return nil }
        return first
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
