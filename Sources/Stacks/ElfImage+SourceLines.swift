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

    /// What one search for the scopes at an address reads at most: bytes of DIEs walked or skipped
    /// (each unit is read forward, and an imported unit once, so a unit of node's, some MiB, fits
    /// many times over), and range list entries tested.
    static let maxScopeSearchBytes = 256 << 20
    static let maxScopeSearchRanges = 1_000_000

    /// Tags of the DIEs that may carry the ranges of code (libdw's own list for dwarf_getscopes).
    private static let scopeTags: Set<Int> = [
        DW_TAG_compile_unit, DW_TAG_module, DW_TAG_lexical_block, DW_TAG_with_stmt, DW_TAG_catch_block, DW_TAG_try_block,
        DW_TAG_entry_point, DW_TAG_inlined_subroutine, DW_TAG_subprogram,
    ]

    /// What is left of one search's allowance.
    private struct ScopeSearchBudget {
        var bytes = UInt(maxScopeSearchBytes)
        var ranges = maxScopeSearchRanges

        /// Charges the DIE bytes from `die` to `next` (after it in its unit); false when they are
        /// not after it or the allowance is spent.
        mutating func move(from die: Dwarf_Die, to next: Dwarf_Die) -> Bool {
            let (distance, backwards) = UInt(bitPattern: next.addr).subtractingReportingOverflow(UInt(bitPattern: die.addr))
            guard !backwards, distance <= bytes else { return false }
            bytes -= distance
            return true
        }
    }

    /// The DIEs whose ranges hold `address`, from `unit` down the concrete tree, the innermost last:
    /// what libdw's dwarf_getscopes and dwarf_getscopes_die give together, found in a loop. libdw
    /// recurses once per level of nesting, through every DIE of the unit: a file nesting DIEs
    /// 60,000 deep overflowed the thread's stack. As in libdw's search, only DIEs of `scopeTags`
    /// whose ranges hold `address` are entered, and a partial unit's children, where a
    /// DW_TAG_imported_unit brings them, count as its siblings; each partial unit is entered once
    /// (imports may cycle). nil when the search would read more than its allowance.
    static func scopes(holding address: Dwarf_Addr, in unit: Dwarf_Die) -> [Dwarf_Die]? {
        var path = [unit]
        var parent = unit
        var budget = ScopeSearchBudget()
        var enteredUnits: Set<UInt> = []
        descending: while true {
            var die = Dwarf_Die()
            guard dwarf_child(&parent, &die) == 0 else { break }
            guard budget.move(from: parent, to: die) else { return nil }
            // Where to go on once an imported unit's children are done: the DIE after its import.
            var afterImports: [Dwarf_Die] = []
            while true {
                let tag = Int(dwarf_tag(&die))
                if tag == DW_TAG_imported_unit, let first = importedChildren(of: &die, entered: &enteredUnits) {
                    var next = Dwarf_Die()
                    if dwarf_siblingof(&die, &next) == 0 {
                        guard budget.move(from: die, to: next) else { return nil }
                        afterImports.append(next)
                    }
                    die = first
                    continue
                }
                if scopeTags.contains(tag) {
                    guard let holds = ranges(of: &die, hold: address, budget: &budget) else { return nil }
                    if holds {
                        path.append(die)
                        parent = die
                        continue descending
                    }
                }
                var next = Dwarf_Die()
                if dwarf_siblingof(&die, &next) == 0 {
                    guard budget.move(from: die, to: next) else { return nil }
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

    /// Whether `die`'s ranges (low_pc/high_pc or DW_AT_ranges) hold `address`, as dwarf_haspc
    /// says, each entry charged; nil when the allowance is spent.
    private static func ranges(of die: inout Dwarf_Die, hold address: Dwarf_Addr, budget: inout ScopeSearchBudget) -> Bool? {
        var base: Dwarf_Addr = 0
        var start: Dwarf_Addr = 0
        var end: Dwarf_Addr = 0
        var offset = dwarf_ranges(&die, 0, &base, &start, &end)
        while offset > 0 {
            guard budget.ranges > 0 else { return nil }
            budget.ranges -= 1
            if start <= address, address < end { return true }
            offset = dwarf_ranges(&die, offset, &base, &start, &end)
        }
        return false
    }

    /// The first child of the partial unit `die` (a DW_TAG_imported_unit) imports, unless what it
    /// refers to is not a partial unit's root, was entered before (keyed by where its bytes are:
    /// the file's own and the dwz file's offsets may coincide), has no children or cannot be read.
    private static func importedChildren(of die: inout Dwarf_Die, entered: inout Set<UInt>) -> Dwarf_Die? {
        var attribute = Dwarf_Attribute()
        var imported = Dwarf_Die()
        var root = Dwarf_Die()
        var first = Dwarf_Die()
        guard dwarf_attr(&die, UInt32(DW_AT_import), &attribute) != nil, dwarf_formref_die(&attribute, &imported) != nil,
            Int(dwarf_tag(&imported)) == DW_TAG_partial_unit, dwarf_diecu(&imported, &root, nil, nil) != nil, root.addr == imported.addr,
            entered.insert(UInt(bitPattern: imported.addr)).inserted, dwarf_child(&imported, &first) == 0
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
