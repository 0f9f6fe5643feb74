import CErrnoBPF

/// The `trigger_fingerprints` bitmap: bit `fingerprint % TRIGGER_FINGERPRINT_BITS` set for each
/// exact trigger path, so that the kernel skips the trigger lookup for a path whose bit is clear.
struct TriggerFingerprintBits: Equatable {
    private(set) var words = [UInt64](repeating: 0, count: Int(TRIGGER_FINGERPRINT_WORDS))

    init() {}

    init(_ fingerprints: some Sequence<UInt64>) {
        for fingerprint in fingerprints {
            let bit = Int(fingerprint % UInt64(TRIGGER_FINGERPRINT_BITS))
            words[bit / 64] |= 1 << UInt64(bit % 64)
        }
    }

    /// Sets one word (as written to the kernel).
    mutating func set(word index: Int, to value: UInt64) {
        words[index] = value
    }

    /// The bits set in either.
    func union(_ other: TriggerFingerprintBits) -> TriggerFingerprintBits {
        var result = self
        for index in words.indices { result.words[index] |= other.words[index] }
        return result
    }
}
