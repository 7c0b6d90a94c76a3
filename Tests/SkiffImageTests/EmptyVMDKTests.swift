import Foundation
import XCTest
@testable import SkiffImage

/// `VMDKImage.createEmpty`: the data disk of `skiff run vmware --disk SIZE`.
final class EmptyVMDKTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("skiff-empty-vmdk-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    func u32(_ bytes: [UInt8], _ offset: Int) -> Int { Int(bytes.littleEndian32(at: offset)) }

    func testAnEmptyDiskHasTablesForItsWholeCapacityAndNoGrains() throws {
        let path = directory.appendingPathComponent("app-data.vmdk").path
        // 1 GiB + 1 byte: rounded up to whole sectors; 16385 grains need 33 grain tables.
        let layout = try VMDKImage.createEmpty(capacityBytes: (1 << 30) + 1, to: path, cid: 0xBEEF)
        let file = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        XCTAssertEqual(file.count, layout.totalBytes)
        let header = try VMDKImage.SparseHeader.parse(Array(file[0..<512]))
        XCTAssertEqual(header.version, 1)
        XCTAssertEqual(header.flags, 3)
        XCTAssertEqual(header.capacity, (1 << 21) + 1)
        XCTAssertEqual(header.grainSize, 128)
        XCTAssertEqual(header.overHead % 128, 0)
        XCTAssertEqual(file.count, Int(header.overHead) * 512, "no grains after the metadata")
        let descriptor = String(decoding: file[512..<512 * 21], as: UTF8.self)
        XCTAssertTrue(descriptor.contains("createType=\"monolithicSparse\""))
        XCTAssertTrue(descriptor.contains("RW 2097153 SPARSE \"app-data.vmdk\""))
        XCTAssertTrue(descriptor.contains("ddb.adapterType = \"lsilogic\""))
        XCTAssertTrue(descriptor.contains("CID=0000beef"))
        let tables = 33
        for directoryStart in [Int(header.rgdOffset), Int(header.gdOffset)] {
            for table in 0..<tables {
                let start = u32(file, directoryStart * 512 + table * 4)
                XCTAssertEqual(start, directoryStart + 1 + table * 4, "table \(table) follows its directory")
                XCTAssertTrue(file[start * 512..<(start + 4) * 512].allSatisfy { $0 == 0 }, "no grain allocated")
            }
            XCTAssertEqual(u32(file, directoryStart * 512 + tables * 4), 0)
        }
        XCTAssertLessThan(file.count, 200_000)
    }

    func testTooLargeAndEmptyDisksAreRefused() {
        let path = directory.appendingPathComponent("x.vmdk").path
        XCTAssertThrowsError(try VMDKImage.createEmpty(capacityBytes: 0, to: path))
        XCTAssertThrowsError(try VMDKImage.createEmpty(capacityBytes: 4 << 40, to: path))
    }
}
