/// The checksums the image formats carry: Adler-32 (RFC 1950 §9, zlib streams in VMDK grains),
/// CRC-32 (RFC 1952 §8, ISO 3309 polynomial, gzip members) and SHA-256 (FIPS 180-4, the OVA manifest).

/// RFC 1950 §9: two sums modulo 65521, s2 << 16 | s1, starting from 1.
public struct Adler32: Sendable {
    public private(set) var value: UInt32 = 1

    public init() {}

    public mutating func update(_ bytes: UnsafeBufferPointer<UInt8>) {
        var s1 = value & 0xFFFF, s2 = value >> 16
        var index = 0
        while index < bytes.count {
            // 5552 is the most bytes whose sums cannot overflow 32 bits before the modulo (zlib's NMAX).
            let end = min(index + 5552, bytes.count)
            while index < end {
                s1 += UInt32(bytes[index])
                s2 += s1
                index += 1
            }
            s1 %= 65521
            s2 %= 65521
        }
        value = s2 << 16 | s1
    }

    public mutating func update(_ bytes: [UInt8]) { bytes.withUnsafeBufferPointer { update($0) } }

    public static func checksum(_ bytes: [UInt8]) -> UInt32 {
        var adler = Adler32()
        adler.update(bytes)
        return adler.value
    }
}

/// RFC 1952 §8: the reflected CRC with polynomial 0xEDB88320, register preset to all ones and
/// inverted at the end.
public struct CRC32: Sendable {
    static let table: [UInt32] = (0..<256).map { (entry: UInt32) -> UInt32 in
        var crc = entry
        for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        return crc
    }

    /// The register (not inverted).
    private var register: UInt32 = 0xFFFF_FFFF

    public init() {}

    public var value: UInt32 { ~register }

    public mutating func update(_ bytes: UnsafeBufferPointer<UInt8>) {
        var crc = register
        Self.table.withUnsafeBufferPointer { table in
            for byte in bytes {
                // In bounds: the index is a byte.
                crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8)
            }
        }
        register = crc
    }

    public mutating func update(_ bytes: [UInt8]) { bytes.withUnsafeBufferPointer { update($0) } }

    /// Advances the register over `count` zero bytes in O(log count): processing zeros is linear
    /// over GF(2) on the register, so the 32×32 bit matrix for one zero byte is squared.
    public mutating func updateZeros(count: Int) {
        // Column i of a matrix is the image of bit i.
        func apply(_ matrix: [UInt32], _ vector: UInt32) -> UInt32 {
            var result: UInt32 = 0, vector = vector, index = 0
            while vector != 0 {
                if vector & 1 != 0 { result ^= matrix[index] }
                vector >>= 1
                index += 1
            }
            return result
        }
        var oneByte = [UInt32](repeating: 0, count: 32)
        for bit in 0..<32 {
            var crc = UInt32(1) << bit
            for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
            oneByte[bit] = crc
        }
        var power = oneByte, left = count
        while left > 0 {
            if left & 1 != 0 { register = apply(power, register) }
            left >>= 1
            if left > 0 { power = power.map { apply(power, $0) } }
        }
    }

    public static func checksum(_ bytes: [UInt8]) -> UInt32 {
        var crc = CRC32()
        crc.update(bytes)
        return crc.value
    }
}

/// FIPS 180-4 §6.2: SHA-256.
public struct SHA256: Sendable {
    static let k: [UInt32] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    ]

    private var state: [UInt32] = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]
    private var pending: [UInt8] = []
    private var length: UInt64 = 0

    public init() {}

    public mutating func update(_ bytes: [UInt8]) {
        length &+= UInt64(bytes.count)
        var start = 0
        if !pending.isEmpty {
            let take = min(64 - pending.count, bytes.count)
            pending += bytes[0..<take]
            start = take
            if pending.count == 64 {
                compress(pending, at: 0)
                pending.removeAll(keepingCapacity: true)
            }
        }
        while start + 64 <= bytes.count {
            compress(bytes, at: start)
            start += 64
        }
        if start < bytes.count { pending += bytes[start...] }
    }

    /// §5.1.1 padding, then the digest, big-endian.
    public mutating func finish() -> [UInt8] {
        let bits = length &* 8
        var tail: [UInt8] = [0x80]
        tail += [UInt8](repeating: 0, count: (119 - pending.count) % 64)
        for shift in stride(from: 56, through: 0, by: -8) { tail.append(UInt8(truncatingIfNeeded: bits >> UInt64(shift))) }
        let savedLength = length
        update(tail)
        length = savedLength
        precondition(pending.isEmpty, "SHA-256 padding left a partial block")
        return state.flatMap { word in (0..<4).map { UInt8(truncatingIfNeeded: word >> (24 - 8 * $0)) } }
    }

    public static func hex(_ digest: [UInt8]) -> String {
        digest.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }

    private mutating func compress(_ block: [UInt8], at offset: Int) {
        func rotr(_ x: UInt32, _ n: UInt32) -> UInt32 { x >> n | x << (32 - n) }
        var w = [UInt32](repeating: 0, count: 64)
        for t in 0..<16 {
            let i = offset + 4 * t
            w[t] = UInt32(block[i]) << 24 | UInt32(block[i + 1]) << 16 | UInt32(block[i + 2]) << 8 | UInt32(block[i + 3])
        }
        for t in 16..<64 {
            let s0 = rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^ (w[t - 15] >> 3)
            let s1 = rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^ (w[t - 2] >> 10)
            w[t] = w[t - 16] &+ s0 &+ w[t - 7] &+ s1
        }
        var a = state[0], b = state[1], c = state[2], d = state[3], e = state[4], f = state[5], g = state[6], h = state[7]
        for t in 0..<64 {
            let t1 = h &+ (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) &+ ((e & f) ^ (~e & g)) &+ Self.k[t] &+ w[t]
            let t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) &+ ((a & b) ^ (a & c) ^ (b & c))
            h = g; g = f; f = e; e = d &+ t1; d = c; c = b; b = a; a = t1 &+ t2
        }
        state[0] &+= a; state[1] &+= b; state[2] &+= c; state[3] &+= d
        state[4] &+= e; state[5] &+= f; state[6] &+= g; state[7] &+= h
    }
}
