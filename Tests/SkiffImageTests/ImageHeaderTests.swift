import XCTest
@testable import SkiffImage

final class ImageHeaderTests: XCTestCase {
    /// The offsets BootLoader.S reads (H_*).
    func testEncodesFieldsAtTheLoaderOffsets() throws {
        let kernel = try MultibootKernel(file: syntheticKernel())
        let header = ImageHeader(sectorSize: 2048, kernelLBA: 40, kernel: kernel, commandLine: "skiff.verbose",
                                 modules: [.init(lba: 50, length: 13, string: "role=config"), .init(lba: 51, length: 6, string: "")])
        let bytes = try header.encode()
        XCTAssertEqual(bytes.count, 2048)
        XCTAssertEqual(Array(bytes[0..<8]), Array("SKIFFIMG".utf8))
        XCTAssertEqual(bytes.littleEndian16(at: 8), 1)
        XCTAssertEqual(bytes.littleEndian16(at: 10), 2048)
        XCTAssertEqual(bytes.littleEndian32(at: 16), 40)
        XCTAssertEqual(bytes.littleEndian32(at: 20), 0x2000)
        XCTAssertEqual(bytes.littleEndian32(at: 24), 0x10_0000)
        XCTAssertEqual(bytes.littleEndian32(at: 28), 0x10_5000)
        XCTAssertEqual(bytes.littleEndian32(at: 32), 0x10_0100)
        XCTAssertEqual(bytes.littleEndian32(at: 36), 0x2400)
        XCTAssertEqual(bytes.littleEndian16(at: 42), 2)
        let commandLine = Int(bytes.littleEndian16(at: 40))
        XCTAssertEqual(commandLine, 304)
        XCTAssertEqual(Array(bytes[commandLine..<commandLine + 14]), Array("skiff.verbose".utf8) + [0])
        XCTAssertEqual(bytes.littleEndian32(at: 48), 50)
        XCTAssertEqual(bytes.littleEndian32(at: 52), 13)
        let string = Int(bytes.littleEndian16(at: 56))
        XCTAssertEqual(Array(bytes[string..<string + 12]), Array("role=config".utf8) + [0])
        XCTAssertEqual(bytes.littleEndian32(at: 64), 51)
        XCTAssertEqual(bytes[Int(bytes.littleEndian16(at: 72))], 0, "an empty module string is a lone NUL")
    }

    func testRejectsACommandLineOverTheLimit() {
        let text = String(repeating: "x", count: ImageHeader.maxCommandLine + 1)
        XCTAssertThrowsError(try ImageHeader.check(commandLine: text, moduleStrings: [])) { error in
            XCTAssertEqual(error as? ImageError, .commandLineTooLong(bytes: 1024, limit: 1023))
        }
        XCTAssertNoThrow(try ImageHeader.check(commandLine: String(text.dropFirst()), moduleStrings: []))
    }

    func testRejectsTooManyModulesAndOverlongStrings() {
        XCTAssertThrowsError(try ImageHeader.check(commandLine: "", moduleStrings: Array(repeating: "", count: 17)))
        XCTAssertThrowsError(try ImageHeader.check(commandLine: String(repeating: "x", count: 1000),
                                                   moduleStrings: [String(repeating: "y", count: 800)])) { error in
            XCTAssertEqual(error as? ImageError, .stringsTooLong(bytes: 1802, limit: 1744))
        }
    }
}
