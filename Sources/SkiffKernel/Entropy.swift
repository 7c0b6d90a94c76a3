// Entropy for the runtime's hash seeds (and later for TCP initial sequence numbers): RDSEED when
// CPUID offers it, else RDRAND, else jitter in the time stamp counter.
//
// The TSC fallback is weak but not constant: it samples the TSC around work whose duration varies
// (CPUID leaves trap to the hypervisor; under TCG the TSC follows the host clock) and folds the
// samples through a 64-bit mixer. QEMU's default CPU model has neither RDRAND nor RDSEED; `-cpu max`
// has both.
#if os(none)
import SkiffKernelC

public enum Entropy {
    public enum Source: Equatable, Sendable {
        case rdseed, rdrand, timestampJitter

        public var name: String {
            switch self {
            case .rdseed: return "rdseed"
            case .rdrand: return "rdrand"
            case .timestampJitter: return "tsc-jitter"
            }
        }
    }

    nonisolated(unsafe) private static var detected: Source? = nil
    nonisolated(unsafe) private static var jitterState: UInt64 = 0

    /// The source in use, detected on first use.
    public static var source: Source {
        if let detected { return detected }
        let features = skiff_cpuid(1, 0)
        let extended = skiff_cpuid(0, 0).eax >= 7 ? skiff_cpuid(7, 0) : skiff_cpuid_result()
        let source: Source
        if extended.ebx & (1 << 18) != 0 {          // CPUID.(EAX=07H,ECX=0):EBX.RDSEED[bit 18]
            source = .rdseed
        } else if features.ecx & (1 << 30) != 0 {   // CPUID.01H:ECX.RDRAND[bit 30]
            source = .rdrand
        } else {
            source = .timestampJitter
        }
        detected = source
        return source
    }

    /// 64 bits of entropy.
    public static func next() -> UInt64 {
        var value: UInt64 = 0
        switch source {
        case .rdseed:
            // Intel DRNG guide §5.3.1: RDSEED may be momentarily exhausted; retry, then fall back.
            for _ in 0..<100 { if skiff_rdseed64(&value) != 0 { return value } }
            for _ in 0..<10 { if skiff_rdrand64(&value) != 0 { return value } }
        case .rdrand:
            // Intel DRNG guide §5.2.1: ten retries before concluding the unit has failed.
            for _ in 0..<10 { if skiff_rdrand64(&value) != 0 { return value } }
        case .timestampJitter:
            break
        }
        return timestampJitter()
    }

    private static func timestampJitter() -> UInt64 {
        var state = jitterState ^ skiff_rdtsc()
        for round in 0..<32 {
            let before = skiff_rdtsc()
            _ = skiff_cpuid(UInt32(round & 1), 0)
            let delta = skiff_rdtsc() &- before
            state = mix(state ^ delta ^ (before << 32))
        }
        jitterState = state
        return state
    }

    /// SplitMix64's finalizer: every input bit affects every output bit.
    private static func mix(_ input: UInt64) -> UInt64 {
        var z = input &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
#endif
