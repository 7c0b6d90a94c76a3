/// ISO 9660 structures (ECMA-119, 4th edition), level 1: 8.3 upper-case names with version ";1",
/// one root directory, files recorded in one extent each.
public enum ISO9660 {
    public static let sectorSize = 2048
    /// Volume descriptors start at logical sector 16 (§6.2.1: sectors 0–15 are the system area).
    public static let firstVolumeDescriptor = 16
    static let standardIdentifier = Array("CD001".utf8)

    /// A time in UTC, as ISO 9660 records it.
    public struct DateTime: Equatable, Sendable {
        public var year, month, day, hour, minute, second: Int

        public init(year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int) {
            (self.year, self.month, self.day, self.hour, self.minute, self.second) = (year, month, day, hour, minute, second)
        }

        /// §9.1.5: years since 1900, month, day, hour, minute, second, offset from GMT in 15-minute units.
        var recording: [UInt8] {
            [UInt8(clamping: year - 1900), UInt8(month), UInt8(day), UInt8(hour), UInt8(minute), UInt8(second), 0]
        }

        /// §8.4.26.1: "YYYYMMDDHHMMSScc" in digits, then the GMT offset byte.
        var volume: [UInt8] {
            func digits(_ value: Int, _ count: Int) -> String {
                let text = String(value)
                return String(repeating: "0", count: max(0, count - text.count)) + text
            }
            let text = digits(year, 4) + digits(month, 2) + digits(day, 2) + digits(hour, 2) + digits(minute, 2)
                + digits(second, 2) + "00"
            return Array(text.utf8) + [0]
        }

        /// §8.4.26.1: "not specified" is sixteen '0' digits and a zero offset.
        static let unspecified: [UInt8] = Array(repeating: UInt8(ascii: "0"), count: 16) + [0]
    }

    /// §7.4.1 d-characters (A–Z, 0–9, _): `text` upper-cased, others replaced by '_', cut to `limit`.
    public static func dCharacters(_ text: String, limit: Int) -> String {
        String(text.uppercased().unicodeScalars.prefix(limit).map { scalar -> Character in
            let isD = (scalar >= "A" && scalar <= "Z") || (scalar >= "0" && scalar <= "9") || scalar == "_"
            return isD ? Character(scalar) : "_"
        })
    }

    /// A directory record (§9.1). `identifier` is [0x00] for "." and [0x01] for "..".
    public static func directoryRecord(identifier: [UInt8], extent: UInt32, length: UInt32, isDirectory: Bool,
                                       date: DateTime) -> [UInt8] {
        // §9.1.12: a padding byte follows an identifier of even length, so the record length is even.
        let recordLength = 33 + identifier.count + (identifier.count % 2 == 0 ? 1 : 0)
        var record = [UInt8](repeating: 0, count: recordLength)
        record[0] = UInt8(recordLength)                        // §9.1.1
        record[1] = 0                                          // §9.1.2 extended attribute record length
        record.setBothEndian(extent, at: 2)                    // §9.1.3 location of extent
        record.setBothEndian(length, at: 10)                   // §9.1.4 data length
        record.replaceSubrange(18..<25, with: date.recording)  // §9.1.5
        record[25] = isDirectory ? 0x02 : 0x00                 // §9.1.6 file flags
        record.setBothEndian(UInt16(1), at: 28)                // §9.1.9 volume sequence number
        record[32] = UInt8(identifier.count)                   // §9.1.10
        record.replaceSubrange(33..<33 + identifier.count, with: identifier)
        return record
    }

    /// A level-1 file identifier: NAME.EXT;1 (§7.5.1, §10.1: at most 8 + 3 d-characters).
    public static func fileIdentifier(name: String, extension ext: String) -> [UInt8] {
        Array((dCharacters(name, limit: 8) + "." + dCharacters(ext, limit: 3) + ";1").utf8)
    }

    /// §9.3: records are ordered by file name, then extension, each compared padded with spaces.
    static func sortKey(_ identifier: [UInt8]) -> [UInt8] {
        let text = identifier.prefix { $0 != UInt8(ascii: ";") }
        let parts = text.split(separator: UInt8(ascii: "."), maxSplits: 1, omittingEmptySubsequences: false)
        let name = Array(parts.first ?? []), ext = parts.count > 1 ? Array(parts[1]) : []
        return name + [UInt8](repeating: 0x20, count: max(0, 8 - name.count)) + ext
            + [UInt8](repeating: 0x20, count: max(0, 3 - ext.count))
    }

    /// A path table with only the root directory (§9.4): identifier length 1, extended attribute
    /// length 0, extent, parent directory number 1, identifier 0x00, one padding byte.
    public static func pathTable(rootExtent: UInt32, bigEndian: Bool) -> [UInt8] {
        var table = [UInt8](repeating: 0, count: 10)
        table[0] = 1
        if bigEndian {
            table.setBigEndian(rootExtent, at: 2)
            table.setBigEndian(UInt16(1), at: 6)
        } else {
            table.setLittleEndian(rootExtent, at: 2)
            table.setLittleEndian(UInt16(1), at: 6)
        }
        return table
    }

    public struct PrimaryVolume: Sendable {
        public var volumeIdentifier: String
        public var volumeSpaceSize: UInt32
        public var pathTableSize: UInt32
        public var lPathTable: UInt32
        public var mPathTable: UInt32
        public var rootRecord: [UInt8]
        public var date: DateTime
    }

    /// The primary volume descriptor (§8.4), one sector.
    public static func primaryVolumeDescriptor(_ volume: PrimaryVolume) -> [UInt8] {
        var sector = [UInt8](repeating: 0, count: sectorSize)
        sector[0] = 1                                                     // §8.4.1 type: primary
        sector.replaceSubrange(1..<6, with: standardIdentifier)            // §8.4.2
        sector[6] = 1                                                     // §8.4.3 version
        sector.setText("", at: 8, length: 32)                             // §8.4.5 system identifier
        sector.setText(dCharacters(volume.volumeIdentifier, limit: 32), at: 40, length: 32)   // §8.4.6
        sector.setBothEndian(volume.volumeSpaceSize, at: 80)              // §8.4.8
        sector.setBothEndian(UInt16(1), at: 120)                          // §8.4.10 volume set size
        sector.setBothEndian(UInt16(1), at: 124)                          // §8.4.11 volume sequence number
        sector.setBothEndian(UInt16(sectorSize), at: 128)                 // §8.4.12 logical block size
        sector.setBothEndian(volume.pathTableSize, at: 132)               // §8.4.13
        sector.setLittleEndian(volume.lPathTable, at: 140)                // §8.4.14 type L path table
        sector.setBigEndian(volume.mPathTable, at: 148)                   // §8.4.16 type M path table
        precondition(volume.rootRecord.count == 34, "the root directory record is 34 bytes")
        sector.replaceSubrange(156..<190, with: volume.rootRecord)         // §8.4.18
        sector.setText("", at: 190, length: 128)                          // §8.4.19 volume set identifier
        sector.setText("", at: 318, length: 128)                          // §8.4.20 publisher
        sector.setText("", at: 446, length: 128)                          // §8.4.21 data preparer
        sector.setText("SKIFF", at: 574, length: 128)                     // §8.4.22 application
        sector.setText("", at: 702, length: 37)                           // §8.4.23 copyright file
        sector.setText("", at: 739, length: 37)                           // §8.4.24 abstract file
        sector.setText("", at: 776, length: 37)                           // §8.4.25 bibliographic file
        sector.replaceSubrange(813..<830, with: volume.date.volume)        // §8.4.26 creation
        sector.replaceSubrange(830..<847, with: volume.date.volume)        // §8.4.27 modification
        sector.replaceSubrange(847..<864, with: DateTime.unspecified)      // §8.4.28 expiration
        sector.replaceSubrange(864..<881, with: volume.date.volume)        // §8.4.29 effective
        sector[881] = 1                                                   // §8.4.31 file structure version
        return sector
    }

    /// The volume descriptor set terminator (§8.3).
    public static func terminator() -> [UInt8] {
        var sector = [UInt8](repeating: 0, count: sectorSize)
        sector[0] = 255
        sector.replaceSubrange(1..<6, with: standardIdentifier)
        sector[6] = 1
        return sector
    }
}
