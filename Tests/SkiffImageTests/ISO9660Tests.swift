import XCTest
@testable import SkiffImage

final class ISO9660Tests: XCTestCase {
    let date = ISO9660.DateTime(year: 2026, month: 3, day: 4, hour: 5, minute: 6, second: 7)

    /// ECMA-119 §7.2.3, §7.3.3: little-endian then big-endian.
    func testBothEndianFields() {
        var bytes = [UInt8](repeating: 0, count: 12)
        bytes.setBothEndian(UInt32(0x0102_0304), at: 0)
        bytes.setBothEndian(UInt16(0x0506), at: 8)
        XCTAssertEqual(bytes, [4, 3, 2, 1, 1, 2, 3, 4, 6, 5, 5, 6])
    }

    /// §9.1: 33 bytes then the identifier, padded to an even length.
    func testDirectoryRecord() {
        let name = ISO9660.fileIdentifier(name: "kernel", extension: "elf")
        XCTAssertEqual(name, Array("KERNEL.ELF;1".utf8))
        let record = ISO9660.directoryRecord(identifier: name, extent: 30, length: 128_488, isDirectory: false, date: date)
        XCTAssertEqual(record.count, 46, "33 + 12 + a padding byte")
        XCTAssertEqual(record[0], 46)
        XCTAssertEqual(Array(record[2..<10]), [30, 0, 0, 0, 0, 0, 0, 30])
        XCTAssertEqual(Array(record[10..<18]), [0xE8, 0xF5, 0x01, 0x00, 0x00, 0x01, 0xF5, 0xE8])
        XCTAssertEqual(Array(record[18..<25]), [126, 3, 4, 5, 6, 7, 0])
        XCTAssertEqual(record[25], 0)
        XCTAssertEqual(Array(record[28..<32]), [1, 0, 0, 1])
        XCTAssertEqual(record[32], 12)
        XCTAssertEqual(Array(record[33..<45]), name)
        XCTAssertEqual(record[45], 0)

        let root = ISO9660.directoryRecord(identifier: [0], extent: 22, length: 2048, isDirectory: true, date: date)
        XCTAssertEqual(root.count, 34)
        XCTAssertEqual(root[25], 2, "directory flag")
    }

    /// §9.4 path table record; §8.4.14/§8.4.16 L and M byte orders.
    func testPathTables() {
        XCTAssertEqual(ISO9660.pathTable(rootExtent: 22, bigEndian: false), [1, 0, 22, 0, 0, 0, 1, 0, 0, 0])
        XCTAssertEqual(ISO9660.pathTable(rootExtent: 22, bigEndian: true), [1, 0, 0, 0, 0, 22, 0, 1, 0, 0])
    }

    /// §8.4: the primary volume descriptor's fields at their offsets.
    func testPrimaryVolumeDescriptor() {
        let root = ISO9660.directoryRecord(identifier: [0], extent: 22, length: 2048, isDirectory: true, date: date)
        let sector = ISO9660.primaryVolumeDescriptor(.init(
            volumeIdentifier: "hello-world", volumeSpaceSize: 90, pathTableSize: 10, lPathTable: 20, mPathTable: 21,
            rootRecord: root, date: date))
        XCTAssertEqual(sector.count, 2048)
        XCTAssertEqual(Array(sector[0..<7]), [1] + Array("CD001".utf8) + [1])
        XCTAssertEqual(String(decoding: sector[40..<72], as: UTF8.self), "HELLO_WORLD" + String(repeating: " ", count: 21))
        XCTAssertEqual(Array(sector[80..<88]), [90, 0, 0, 0, 0, 0, 0, 90])
        XCTAssertEqual(Array(sector[120..<124]), [1, 0, 0, 1])
        XCTAssertEqual(Array(sector[128..<132]), [0, 8, 8, 0], "block size 2048 both-endian")
        XCTAssertEqual(Array(sector[132..<140]), [10, 0, 0, 0, 0, 0, 0, 10])
        XCTAssertEqual(sector.littleEndian32(at: 140), 20)
        XCTAssertEqual(Array(sector[148..<152]), [0, 0, 0, 21])
        XCTAssertEqual(Array(sector[156..<190]), root)
        XCTAssertEqual(String(decoding: sector[813..<829], as: UTF8.self), "2026030405060700")
        XCTAssertEqual(String(decoding: sector[847..<863], as: UTF8.self), String(repeating: "0", count: 16))
        XCTAssertEqual(sector[881], 1)
    }

    /// §9.3: names compare padded with spaces, so MODULE10 sorts before MODULE2.
    func testDirectoryOrder() {
        let names = [("MODULE2", "BIN"), ("BOOT", "IMG"), ("MODULE10", "BIN"), ("BOOT", "CAT"), ("KERNEL", "ELF")]
            .map { ISO9660.fileIdentifier(name: $0.0, extension: $0.1) }
        let sorted = names.sorted { ISO9660.sortKey($0).lexicographicallyPrecedes(ISO9660.sortKey($1)) }
        XCTAssertEqual(sorted.map { String(decoding: $0, as: UTF8.self) },
                       ["BOOT.CAT;1", "BOOT.IMG;1", "KERNEL.ELF;1", "MODULE10.BIN;1", "MODULE2.BIN;1"])
    }
}
