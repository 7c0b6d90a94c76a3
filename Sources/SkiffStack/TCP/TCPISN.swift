import SkiffPlatform
import SkiffWire

// Initial sequence numbers (RFC 6528 §3): ISN = M + F(localip, localport, remoteip, remoteport,
// secretkey), M a 4-microsecond timer and F a keyed hash, here SipHash-2-4 (Aumasson and
// Bernstein, 2012). The same keyed hash makes SYN cookies, timestamp offsets (RFC 7323 §5.4)
// and the ephemeral port offset (RFC 6056 §3.3.3). The key comes from the platform's entropy
// through `StackConfiguration.tcpSecret`: the stack itself reads no entropy.

/// The 128-bit key for ISNs and SYN cookies. Fill it from the platform's entropy source.
public struct TCPSecret: Equatable, Sendable {
    public var k0: UInt64
    public var k1: UInt64
    public init(_ k0: UInt64, _ k1: UInt64) {
        self.k0 = k0
        self.k1 = k1
    }
}

enum SipHash {
    @inline(__always)
    private static func rotl(_ x: UInt64, _ b: UInt64) -> UInt64 { (x << b) | (x >> (64 - b)) }

    /// SipHash-2-4 of the little-endian bytes of `words` (each word is 8 message bytes).
    static func hash(key: TCPSecret, _ words: UInt64...) -> UInt64 {
        var v0: UInt64 = key.k0 ^ 0x736f_6d65_7073_6575
        var v1: UInt64 = key.k1 ^ 0x646f_7261_6e64_6f6d
        var v2: UInt64 = key.k0 ^ 0x6c79_6765_6e65_7261
        var v3: UInt64 = key.k1 ^ 0x7465_6462_7974_6573
        func round() {
            v0 &+= v1; v1 = rotl(v1, 13); v1 ^= v0; v0 = rotl(v0, 32)
            v2 &+= v3; v3 = rotl(v3, 16); v3 ^= v2
            v0 &+= v3; v3 = rotl(v3, 21); v3 ^= v0
            v2 &+= v1; v1 = rotl(v1, 17); v1 ^= v2; v2 = rotl(v2, 32)
        }
        for m in words {
            v3 ^= m
            round(); round()
            v0 ^= m
        }
        // The final block: no bytes left over, the message length (mod 256) in the top byte.
        let last = UInt64(truncatingIfNeeded: words.count * 8) << 56
        v3 ^= last
        round(); round()
        v0 ^= last
        v2 ^= 0xff
        round(); round(); round(); round()
        return v0 ^ v1 ^ v2 ^ v3
    }
}

extension TCPFourTuple {
    /// The tuple as two hash words.
    var hashWords: (UInt64, UInt64) {
        (UInt64(localAddress.value) << 32 | UInt64(remoteAddress.value),
         UInt64(localPort) << 16 | UInt64(remotePort))
    }
}

enum TCPInitialSequence {
    /// RFC 6528 §3.
    static func isn(for tuple: TCPFourTuple, secret: TCPSecret, now: Instant) -> SequenceNumber {
        let (a, b) = tuple.hashWords
        let f = UInt32(truncatingIfNeeded: SipHash.hash(key: secret, a, b, 0x6973_6e))
        // M: a timer that ticks every 4 microseconds.
        let m = UInt32(truncatingIfNeeded: now.nanoseconds / 4000)
        return SequenceNumber(m &+ f)
    }

    /// RFC 7323 §5.4: a per-connection random offset for TSval.
    static func timestampOffset(for tuple: TCPFourTuple, secret: TCPSecret) -> UInt32 {
        let (a, b) = tuple.hashWords
        return UInt32(truncatingIfNeeded: SipHash.hash(key: secret, a, b, 0x7473))
    }
}

/// SYN cookies: when the SYN queue is full, the SYN-ACK's sequence number carries the connection
/// instead of a control block, and the final ACK brings it back (RFC 4987 §3.6). Layout of the
/// 32 bits: a 5-bit counter of 64-second periods, a 3-bit MSS index, 24 bits of keyed hash over
/// the 4-tuple, the client's ISN and the counter. A cookie is good for two periods. Window scale,
/// SACK and timestamps are not encoded: a connection from a cookie uses none of them.
enum TCPSYNCookie {
    static let period: Int64 = 64_000_000_000
    static let mssTable: [UInt16] = [536, 1200, 1360, 1400, 1440, 1452, 1460, 8960]

    static func counter(_ now: Instant) -> UInt32 {
        UInt32(truncatingIfNeeded: now.nanoseconds / period) & 0x1f
    }

    private static func mac(_ tuple: TCPFourTuple, clientISN: SequenceNumber, counter: UInt32, secret: TCPSecret) -> UInt32 {
        let (a, b) = tuple.hashWords
        let h = SipHash.hash(key: secret, a, b, UInt64(clientISN.rawValue) << 8 | UInt64(counter))
        return UInt32(truncatingIfNeeded: h) & 0x00ff_ffff
    }

    /// The ISN for a SYN-ACK answering `clientISN` with at most `mss`.
    static func make(_ tuple: TCPFourTuple, clientISN: SequenceNumber, mss: Int, secret: TCPSecret, now: Instant) -> SequenceNumber {
        var index = 0
        for (i, value) in mssTable.enumerated() where Int(value) <= mss { index = i }
        let t = counter(now)
        return SequenceNumber(t << 27 | UInt32(index) << 24 | mac(tuple, clientISN: clientISN, counter: t, secret: secret))
    }

    /// The MSS a valid cookie carries, or nil. `cookie` is SEG.ACK - 1, `clientISN` SEG.SEQ - 1.
    static func check(_ cookie: SequenceNumber, _ tuple: TCPFourTuple, clientISN: SequenceNumber, secret: TCPSecret, now: Instant) -> UInt16? {
        let t = cookie.rawValue >> 27
        let current = counter(now)
        guard t == current || t == (current &- 1) & 0x1f else { return nil }
        guard cookie.rawValue & 0x00ff_ffff == mac(tuple, clientISN: clientISN, counter: t, secret: secret) else { return nil }
        return mssTable[Int((cookie.rawValue >> 24) & 0x7)]
    }
}
