extension V8CodeLog {
    /// One line of the log: `event,field,…`, commas inside fields escaped (`\x2C`). The events read
    /// are `code-creation`, `code-source-info`, `code-move`, `sfi-move` and `script-source`.
    func consume(_ line: ArraySlice<UInt8>) {
        guard let comma = line.firstIndex(of: UInt8(ascii: ",")) else { return }
        let event = line[..<comma]
        if event.elementsEqual("code-creation".utf8) {
            codeCreation(Self.fields(line))
        } else if event.elementsEqual("code-source-info".utf8) {
            codeSourceInfo(Self.fields(line))
        } else if event.elementsEqual("sfi-move".utf8) {
            let fields = Self.fields(line)
            guard fields.count == 3, let from = Self.address(fields[1]), let to = Self.address(fields[2]) else { return droppedEntries += 1 }
            if let function = functions.removeValue(forKey: from) { functions[to] = function }
        } else if event.elementsEqual("code-move".utf8) {
            let fields = Self.fields(line)
            guard fields.count == 3, let from = Self.address(fields[1]), let to = Self.address(fields[2]) else { return droppedEntries += 1 }
            // What was at the destination is gone, whether or not the moved code was kept.
            removeCode(at: to)
            guard let code = codes[from] else { return }
            let size = code.end - code.start
            guard to <= UInt64.max - size else { return droppedEntries += 1 }
            removeCode(at: from)
            tableRowCount += code.positions.count + code.inlinings.count + code.inlined.count
            sequence += 1
            var moved = Code(start: to, end: to + size, tier: code.tier, function: code.function, sequence: sequence)
            (moved.positions, moved.inlinings, moved.inlined) = (code.positions, code.inlinings, code.inlined)
            added(moved)
        } else if event.elementsEqual("script-source".utf8) {
            scriptSource(Self.fields(line, maxSplits: 3))
        }
    }

    /// `code-creation,JS,kind,time,start,size,name,function,tier`: names the function; keeps the code
    /// when it is optimized.
    private func codeCreation(_ fields: [ArraySlice<UInt8>]) {
        lastCreated = nil
        // Whatever is made at a start replaces what was there (V8 reuses freed code space).
        if fields.count > 4, let start = Self.address(fields[4]) { removeCode(at: start) }
        guard fields.count == 9 else { return }
        guard let start = Self.address(fields[4]), let size = Self.decimal(fields[5]), size > 0, let sfi = Self.address(fields[7]),
            start <= UInt64.max - UInt64(size)
        else { return droppedEntries += 1 }
        let (name, file, line) = PerfMap.sourceLocation(of: Self.unescaped(fields[6]))
        var function = functions[sfi] ?? Function(name: name, file: file, line: line, scriptID: nil)
        (function.name, function.file, function.line) = (name, file, line)
        if functions[sfi] == nil {
            guard functions.count < Self.maxFunctions, functionNameBytes + name.utf8.count <= Self.maxFunctionNameBytes else {
                incomplete = true
                return droppedEntries += 1
            }
            functionNameBytes += name.utf8.count
        }
        functions[sfi] = function
        lastCreated = (start, sfi)
        let tier = String(decoding: fields[8], as: UTF8.self)
        guard tier == "^" || tier == "+" || tier == "*" else { return }
        sequence += 1
        added(Code(start: start, end: start + UInt64(size), tier: tier, function: function, sequence: sequence))
    }

    /// `code-source-info,start,script,from,to,positions,inlinings,inlined functions`.
    private func codeSourceInfo(_ fields: [ArraySlice<UInt8>]) {
        guard fields.count == 8, let start = Self.address(fields[1]), let scriptID = Self.decimal(fields[2]) else { return droppedEntries += 1 }
        if let created = lastCreated, created.start == start { functions[created.function]?.scriptID = scriptID }
        guard var code = codes[start], code.positions.isEmpty, code.inlinings.isEmpty else { return }
        code.function.scriptID = scriptID
        // Rows of all three tables count against one budget, checked while they are parsed.
        let room = Self.maxTableRows - tableRowCount
        guard let positions = Self.positions(fields[5], limit: room),
            let inlinings = Self.inlinings(fields[6], limit: min(Self.maxInlinedPerCode, room - positions.count)),
            let inlined = Self.addresses(fields[7], limit: min(Self.maxInlinedPerCode, room - positions.count - inlinings.count))
        else {
            codes[start] = code
            return droppedEntries += 1
        }
        tableRowCount += positions.count + inlinings.count + inlined.count
        code.positions = positions.sorted { $0.codeOffset < $1.codeOffset }
        code.inlinings = inlinings
        code.inlined = inlined.map { functions[$0] ?? Function(name: Self.unnamedFunction, file: nil, line: nil, scriptID: nil) }
        codes[start] = code
    }

    /// `script-source,id,name,source`: where the script's lines start.
    private func scriptSource(_ fields: [ArraySlice<UInt8>]) {
        guard fields.count == 4, let id = Self.decimal(fields[1]) else { return droppedEntries += 1 }
        guard scripts[id] == nil, scripts.count < Self.maxScripts else { return droppedEntries += 1 }
        let room = Self.maxScriptLines - scriptLineCount
        var lineStarts: [Int32] = [0]
        var length: Int32 = 0
        let source = fields[3]
        var index = source.startIndex
        let escapedNewline = "\\n".utf8
        while index < source.endIndex {
            // One escape is one UTF-16 code unit: \n, \\, \xHH, \uHHHH. Lines end as V8 ends them: at
            // LF, at a CR not followed by LF, at U+2028 and U+2029.
            var newline = false
            if source[index] == UInt8(ascii: "\\"), index + 1 < source.endIndex {
                switch source[index + 1] {
                case UInt8(ascii: "n"):
                    newline = true
                    index += 2
                case UInt8(ascii: "x"):
                    index += 4
                case UInt8(ascii: "u"):
                    let unit = index + 6 <= source.endIndex ? UInt16(String(decoding: source[(index + 2)..<(index + 6)], as: UTF8.self), radix: 16) : nil
                    index += 6
                    let followedByLF = index < source.endIndex && source[index...].starts(with: escapedNewline)
                    newline = unit == 0x2028 || unit == 0x2029 || (unit == 0x0D && !followedByLF)
                default: index += 2
                }
            } else {
                index += 1
            }
            guard length < Int32.max else { return droppedEntries += 1 }
            length += 1
            if newline {
                guard lineStarts.count < room else { return droppedEntries += 1 }
                lineStarts.append(length)
            }
        }
        scriptLineCount += lineStarts.count
        scripts[id] = Script(name: Self.unescaped(fields[2]), lineStarts: lineStarts, length: length)
    }

    static func fields(_ line: ArraySlice<UInt8>, maxSplits: Int = 16) -> [ArraySlice<UInt8>] {
        line.split(separator: UInt8(ascii: ","), maxSplits: maxSplits, omittingEmptySubsequences: false)
    }

    /// `0x7f…` → its value.
    static func address(_ text: ArraySlice<UInt8>) -> UInt64? {
        guard text.starts(with: "0x".utf8), text.count > 2, text.count <= 18 else { return nil }
        return UInt64(String(decoding: text.dropFirst(2), as: UTF8.self), radix: 16)
    }

    /// A decimal that fits 32 bits, possibly negative.
    static func decimal(_ text: ArraySlice<UInt8>) -> Int32? {
        guard !text.isEmpty, text.count <= 11 else { return nil }
        return Int32(String(decoding: text, as: UTF8.self))
    }

    /// `C0O545C47O609I0…`: code offset, script offset and (when inlined) inlining, row by row; nil
    /// when malformed or longer than `limit` rows.
    static func positions(_ text: ArraySlice<UInt8>, limit: Int) -> [Position]? {
        rows(text, start: UInt8(ascii: "C"), emptyStart: false, limit: limit)?.map { Position(codeOffset: $0.0, scriptOffset: $0.1, inlining: $0.2) }
    }

    /// `F0O794F1O12936I0…`: inlined function (empty: unknown), call offset and the caller's inlining.
    static func inlinings(_ text: ArraySlice<UInt8>, limit: Int) -> [Inlining]? {
        rows(text, start: UInt8(ascii: "F"), emptyStart: true, limit: limit)?.map { Inlining(functionIndex: $0.0, callOffset: $0.1, parent: $0.2) }
    }

    /// A table of rows `<start>a O b I c`: `a` (≥ 0; -1 when empty and `emptyStart`), `b` (-1 when
    /// absent), `c` (≥ 0, -1 when absent). Nil when anything else is there or past `limit` rows.
    static func rows(_ text: ArraySlice<UInt8>, start: UInt8, emptyStart: Bool, limit: Int) -> [(Int32, Int32, Int32)]? {
        var rows: [(Int32, Int32, Int32)] = []
        let wellFormed = scanTagged(text) { tag, value in
            switch tag {
            case start:
                guard rows.count < limit else { return false }
                if value.isEmpty, emptyStart {
                    rows.append((-1, -1, -1))
                } else {
                    guard let first = decimal(value), first >= 0 else { return false }
                    rows.append((first, -1, -1))
                }
            case UInt8(ascii: "O"):
                guard !rows.isEmpty, let second = decimal(value) else { return false }
                rows[rows.count - 1].1 = second
            case UInt8(ascii: "I"):
                guard !rows.isEmpty, let third = decimal(value), third >= 0 else { return false }
                rows[rows.count - 1].2 = third
            default: return false
            }
            return true
        }
        return wellFormed ? rows : nil
    }

    /// `S0x…S0x…`: the inlined functions' addresses; nil when malformed or more than `limit`.
    static func addresses(_ text: ArraySlice<UInt8>, limit: Int) -> [UInt64]? {
        var result: [UInt64] = []
        let wellFormed = scanTagged(text) { tag, value in
            guard tag == UInt8(ascii: "S"), result.count < limit, let address = address(value) else { return false }
            result.append(address)
            return true
        }
        return wellFormed ? result : nil
    }

    /// Walks `X12Y-3Z0x1f`, handing each upper-case tag and the text up to the next to `visit`;
    /// false when `visit` refuses one or the text does not start with a tag.
    static func scanTagged(_ text: ArraySlice<UInt8>, _ visit: (UInt8, ArraySlice<UInt8>) -> Bool) -> Bool {
        let isTag = { (byte: UInt8) in byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") }
        var index = text.startIndex
        while index < text.endIndex {
            let tag = text[index]
            guard isTag(tag) else { return false }
            let valueEnd = text[(index + 1)...].firstIndex(where: isTag) ?? text.endIndex
            guard visit(tag, text[(index + 1)..<valueEnd]) else { return false }
            index = valueEnd
        }
        return true
    }

    /// A log string made text again: `\x2C`, `\\`, `\n` and `\uHHHH` (UTF-16, as V8 escapes what is
    /// not printable ASCII), at most `SymbolName.maxBytes` bytes.
    static func unescaped(_ text: ArraySlice<UInt8>) -> String {
        var units: [UInt16] = []
        units.reserveCapacity(min(text.count, SymbolName.maxBytes + 1))
        var index = text.startIndex
        func hex(_ from: Int, _ count: Int) -> UInt16? {
            guard from + count <= text.endIndex else { return nil }
            return UInt16(String(decoding: text[from..<(from + count)], as: UTF8.self), radix: 16)
        }
        while index < text.endIndex, units.count <= SymbolName.maxBytes {
            let byte = text[index]
            if byte == UInt8(ascii: "\\"), index + 1 < text.endIndex {
                switch text[index + 1] {
                case UInt8(ascii: "n"):
                    units.append(10)
                    index += 2
                case UInt8(ascii: "x"):
                    units.append(hex(index + 2, 2) ?? 0xFFFD)
                    index += 4
                case UInt8(ascii: "u"):
                    units.append(hex(index + 2, 4) ?? 0xFFFD)
                    index += 6
                default:
                    units.append(UInt16(text[index + 1]))
                    index += 2
                }
            } else {
                units.append(UInt16(byte))
                index += 1
            }
        }
        return SymbolName.bounded(String(decoding: units, as: UTF16.self))
    }
}
