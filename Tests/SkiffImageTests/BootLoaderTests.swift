import XCTest
@testable import SkiffImage

final class BootLoaderTests: XCTestCase {
    func testMBRIsOneSectorWithTheBootSignature() throws {
        let mbr = try BootLoader.mbrTemplate()
        XCTAssertEqual(mbr.count, 512)
        XCTAssertEqual(mbr[510], 0x55)
        XCTAssertEqual(mbr[511], 0xAA)
        XCTAssertEqual(mbr[0x1A0], 0x10, "the stage 2 disk address packet's size")
        XCTAssertEqual(mbr[0x1A4], 0x00)
        XCTAssertEqual(mbr[0x1A5], 0x7E, "stage 2 is read to 0x7E00")
        XCTAssertTrue(mbr[0x1BE..<0x1FE].allSatisfy { $0 == 0 }, "the assembled partition table is empty")
    }

    func testStage2StartsWithItsMagicAndFillsWholeSectors() throws {
        let stage2 = try BootLoader.stage2()
        XCTAssertEqual(Array(stage2[0..<4]), BootLoader.stage2Magic)
        XCTAssertEqual(stage2.count % 512, 0)
        XCTAssertLessThanOrEqual(stage2.count, 16 * 1024, "stage 2 must end below the image header buffer's stack")
        XCTAssertNotNil(stage2.firstRange(of: Array("Skiff\0".utf8)), "the multiboot boot_loader_name")
    }

    func testParameterBlock() throws {
        let mbr = try BootLoader.mbr(stage2LBA: 1, stage2Sectors: 3, headerLBA: 2048, mediumSectorSize: 512, stage2Preloaded: false)
        XCTAssertEqual(mbr.littleEndian16(at: 0x1A2), 3)
        XCTAssertEqual(mbr.littleEndian32(at: 0x1A8), 1)
        XCTAssertEqual(mbr.littleEndian32(at: 0x1B0), 2048)
        XCTAssertEqual(mbr.littleEndian16(at: 0x1B4), 512)
        XCTAssertEqual(mbr[0x1B6], 0)
        let cd = try BootLoader.mbr(stage2LBA: 0, stage2Sectors: 0, headerLBA: 23, mediumSectorSize: 2048, stage2Preloaded: true)
        XCTAssertEqual(cd[0x1B6], 1)
        XCTAssertEqual(cd.littleEndian16(at: 0x1B4), 2048)
    }

    /// CHS in the 255-head, 63-sector geometry; LBA 2048 is cylinder 0, head 32, sector 33.
    func testPartitionEntry() {
        let entry = PartitionEntry(bootable: true, type: 0xDA, firstLBA: 2048, sectorCount: 300).encode()
        XCTAssertEqual(entry, [0x80, 32, 33, 0, 0xDA, 37, 17, 0, 0x00, 0x08, 0, 0, 0x2C, 0x01, 0, 0])
        XCTAssertEqual(PartitionEntry.chs(1024 * 255 * 63), [0xFE, 0xFF, 0xFF])
        XCTAssertEqual(PartitionEntry.chs(1023 * 255 * 63), [0, 1 | 0xC0, 0xFF])
    }
}
