import XCTest
@testable import SkiffImage

final class ElToritoTests: XCTestCase {
    /// El Torito 1.0 §2.1: the sixteen little-endian words of the validation entry sum to zero.
    func testValidationEntryChecksumMakesWordsSumToZero() {
        let entry = ElTorito.validationEntry(idString: "SKIFF")
        XCTAssertEqual(entry.count, 32)
        var sum: UInt16 = 0
        for word in stride(from: 0, to: 32, by: 2) { sum &+= UInt16(entry[word]) | UInt16(entry[word + 1]) << 8 }
        XCTAssertEqual(sum, 0)
        XCTAssertEqual(entry[0], 1)
        XCTAssertEqual(entry[1], 0, "platform 80x86")
        XCTAssertEqual(Array(entry[4..<9]), Array("SKIFF".utf8))
        XCTAssertEqual(entry[30], 0x55)
        XCTAssertEqual(entry[31], 0xAA)
    }
}

extension ElToritoTests {
    /// §2.0: boot record volume descriptor.
    func testBootRecordVolumeDescriptor() {
        let sector = ElTorito.bootRecord(catalogSector: 19)
        XCTAssertEqual(sector.count, 2048)
        XCTAssertEqual(sector[0], 0)
        XCTAssertEqual(Array(sector[1..<6]), Array("CD001".utf8))
        XCTAssertEqual(sector[6], 1)
        XCTAssertEqual(Array(sector[7..<30]), Array("EL TORITO SPECIFICATION".utf8))
        XCTAssertTrue(sector[30..<0x47].allSatisfy { $0 == 0 }, "the identifier is padded with zeros")
        XCTAssertEqual(sector.littleEndian32(at: 0x47), 19)
    }

    /// §2.2: initial/default entry, no emulation.
    func testInitialEntry() {
        let entry = ElTorito.initialEntry(imageSector: 24, sectorCount: 4)
        XCTAssertEqual(entry, [0x88, 0, 0, 0, 0, 0, 4, 0, 24, 0, 0, 0] + [UInt8](repeating: 0, count: 20))
        let catalog = ElTorito.catalog(imageSector: 24, sectorCount: 4)
        XCTAssertEqual(catalog.count, 2048)
        XCTAssertEqual(Array(catalog[32..<64]), entry)
    }
}
