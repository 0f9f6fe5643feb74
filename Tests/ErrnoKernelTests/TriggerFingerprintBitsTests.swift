import CErrnoBPF
import Testing

@testable import ErrnoKernel

/// The bitmap the kernel tests before looking a path up among the exact trigger paths.
@Suite struct TriggerFingerprintBitsTests {
    @Test func eachFingerprintSetsTheBitTheKernelTests() {
        let bits = TriggerFingerprintBits([0, 63, 64, UInt64(TRIGGER_FINGERPRINT_BITS) + 65, UInt64.max])
        var expected = [UInt64](repeating: 0, count: Int(TRIGGER_FINGERPRINT_WORDS))
        expected[0] = 1 | 1 << 63
        expected[1] = 1 << 0 | 1 << 1  // 64, and BITS + 65 wraps to 65
        expected[expected.count - 1] = 1 << 63  // UInt64.max % BITS is the last bit
        #expect(bits.words == expected)
    }

    @Test func theUnionHoldsBothAndTheEmptySetNothing() {
        let first = TriggerFingerprintBits([1, 200]), second = TriggerFingerprintBits([200, 5000])
        #expect(first.union(second) == TriggerFingerprintBits([1, 200, 5000]))
        #expect(TriggerFingerprintBits().words.allSatisfy { $0 == 0 })
        #expect(TriggerFingerprintBits().union(first) == first)
    }
}
