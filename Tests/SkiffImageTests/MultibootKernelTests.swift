import XCTest
@testable import SkiffImage

final class MultibootKernelTests: XCTestCase {
    func testReadsTheAOutKludgeFields() throws {
        let kernel = try MultibootKernel(file: syntheticKernel())
        XCTAssertEqual(kernel.headerOffset, 64)
        XCTAssertEqual(kernel.loadAddress, 0x10_0000)
        XCTAssertEqual(kernel.loadOffset, 0)
        XCTAssertEqual(kernel.loadLength, 0x2000)
        XCTAssertEqual(kernel.bssEndAddress, 0x10_5000)
        XCTAssertEqual(kernel.entryAddress, 0x10_0100)
        XCTAssertEqual(kernel.memoryEnd, 0x10_5000)
    }

    /// Multiboot 0.6.96 §3.1.3: load_end_addr 0 loads the rest of the file.
    func testLoadEndZeroMeansTheWholeFile() throws {
        var file = syntheticKernel(fileLength: 0x3000)
        file.setLittleEndian(UInt32(0), at: 64 + 20)
        XCTAssertEqual(try MultibootKernel(file: file).loadLength, 0x3000)
    }

    func testRejectsAKernelWithoutAHeader() {
        XCTAssertThrowsError(try MultibootKernel(file: [UInt8](repeating: 0, count: 9000))) { error in
            XCTAssertEqual(error as? ImageError, .notMultiboot("no multiboot v1 header in its first 8 KiB"))
        }
    }

    func testRejectsAHeaderWithoutTheAOutKludge() {
        XCTAssertThrowsError(try MultibootKernel(file: syntheticKernel(flags: 0x3)))
    }

    func testRejectsAHeaderAskingForAVideoMode() {
        XCTAssertThrowsError(try MultibootKernel(file: syntheticKernel(flags: 0x1_0007)))
    }

    func testRejectsABadChecksum() {
        var file = syntheticKernel()
        file[64 + 8] ^= 1
        XCTAssertThrowsError(try MultibootKernel(file: file))
    }
}
