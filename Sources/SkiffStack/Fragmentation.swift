import SkiffWire

/// IPv4 fragmentation on output (RFC 791 §3.2, "An Example Fragmentation Procedure").
enum Fragmentation {
    /// RFC 791 §3.2: every host must accept a 68-byte datagram without further fragmentation
    /// (a 60-byte header and 8 bytes of data).
    static let minimumMTU = 68

    /// Splits `datagram` (a whole, valid IPv4 datagram or a fragment of one) into fragments of at
    /// most `mtu` bytes. The first keeps every option, the others only those whose copied flag is
    /// set (RFC 791 §3.1 "Options"). Each fragment but the last carries a multiple of 8 bytes.
    /// Nil when Don't Fragment is set or the MTU is too small for any data.
    static func fragment(_ datagram: UnsafeRawBufferPointer, mtu: Int) -> [PacketBuffer]? {
        guard let view = IPv4View(datagram), !view.dontFragment else { return nil }
        let payload = view.payload
        let base = IPv4Header(view)
        let laterOptions = copiedOptions(view.options)
        let firstChunk = (mtu - base.headerLength) & ~7
        let laterChunk = (mtu - IPv4View.minimumHeaderLength - laterOptions.count) & ~7
        guard firstChunk >= 8, laterChunk >= 8 else { return nil }

        var fragments: [PacketBuffer] = []
        var position = 0
        // Terminates: each step advances `position` by at least 8 bytes.
        repeat {
            let chunk = position == 0 ? firstChunk : laterChunk
            let end = Swift.min(position + chunk, payload.count)
            var header = base
            if position > 0 { header.options = laterOptions }
            header.fragmentOffset = base.fragmentOffset + position
            // The last piece keeps the original's flag: it may itself be a non-final fragment.
            header.moreFragments = end < payload.count || base.moreFragments
            var packet = PacketBuffer(copying: payload.slice(position..<end))
            header.prepend(to: &packet)
            fragments.append(packet)
            position = end
        } while position < payload.count
        return fragments
    }

    /// The options a fragment after the first must carry (the copied flag, bit 0x80 of the type),
    /// padded with End of Option List to a multiple of 4 bytes. The walk stops at End of Option
    /// List or a malformed length, and never reads past `options`.
    static func copiedOptions(_ options: UnsafeRawBufferPointer) -> [UInt8] {
        var result: [UInt8] = []
        var cursor = ByteCursor(options)
        // Bounded: every iteration consumes at least one byte.
        while let type = cursor.readUInt8() {
            if type == 0 { break }          // End of Option List
            if type == 1 { continue }       // No Operation: not copied
            guard let length = cursor.readUInt8(), length >= 2,
                  let body = cursor.readBytes(Int(length) - 2) else { break }
            if type & 0x80 != 0 {
                result.append(type)
                result.append(length)
                result.append(contentsOf: body)
            }
        }
        while result.count % 4 != 0 { result.append(0) }
        return result
    }
}
