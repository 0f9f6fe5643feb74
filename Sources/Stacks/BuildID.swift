/// GNU build IDs — the `NT_GNU_BUILD_ID` note of an ELF file, or of the running kernel in
/// `/sys/kernel/notes` — shown as lowercase hex, as `readelf -n`, `perf buildid-list`, debuginfod
/// and pprof's `Mapping.build_id` write them.
public enum BuildID {
    /// `NT_GNU_BUILD_ID`.
    static let noteType: UInt32 = 3
    /// Longest build ID kept (SHA-1 makes 20 bytes; linkers allow other lengths).
    static let maxBytes = 64

    public static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0xF)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// Whether `text` is a build ID as `hex` writes it: an even number of lowercase hex digits, 2 to
    /// `2 * maxBytes` of them.
    public static func isHex(_ text: String) -> Bool {
        let utf8 = text.utf8
        return utf8.count >= 2 && utf8.count <= 2 * maxBytes && utf8.count % 2 == 0
            && utf8.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0) }
    }

    /// The bytes of a build ID written by `hex` (nothing for text that `isHex` refuses).
    static func bytes(hex text: String) -> [UInt8] {
        guard isHex(text) else { return [] }
        let digits = Array(text.utf8).map { $0 <= UInt8(ascii: "9") ? $0 - UInt8(ascii: "0") : $0 - UInt8(ascii: "a") + 10 }
        return stride(from: 0, to: digits.count, by: 2).map { digits[$0] << 4 | digits[$0 + 1] }
    }

    /// The build ID in a sequence of ELF notes (`Elf_Nhdr` — name size, descriptor size, type, all
    /// 32-bit — then the name and the descriptor, each padded to 4 bytes); nil when none is named
    /// "GNU" or a note runs past the end.
    static func fromNotes(_ notes: [UInt8]) -> [UInt8]? {
        func word(_ at: Int) -> UInt32 {
            notes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: at, as: UInt32.self) }
        }
        func padded(_ size: UInt32) -> Int { (Int(size) + 3) & ~3 }
        var offset = 0
        while offset <= notes.count - 12 {
            let nameSize = word(offset), descriptorSize = word(offset + 4), type = word(offset + 8)
            let name = offset + 12
            let (descriptor, nameOverflow) = name.addingReportingOverflow(padded(nameSize))
            let (next, descriptorOverflow) = descriptor.addingReportingOverflow(padded(descriptorSize))
            guard !nameOverflow, !descriptorOverflow, next <= notes.count else { return nil }
            if type == noteType, nameSize == 4, notes[name..<name + 4].elementsEqual("GNU\0".utf8), descriptorSize > 0,
                descriptorSize <= maxBytes
            {
                return Array(notes[descriptor..<descriptor + Int(descriptorSize)])
            }
            offset = next
        }
        return nil
    }
}
