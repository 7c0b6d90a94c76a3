import Foundation
import XCTest
@testable import SkiffImage

final class ImageWriterTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("skiff-image-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    func module(_ name: String, _ text: String) throws -> String {
        let path = directory.appendingPathComponent(name).path
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    func testRawImageLayout() throws {
        let kernel = syntheticKernel()
        let modulePath = try module("config", "first module\n")
        let payload = try ImagePayload(kernelFile: kernel, commandLine: "skiff.verbose",
                                       modules: [try ModuleFile(argument: "\(modulePath) role=config")])
        let path = directory.appendingPathComponent("disk.img").path
        let layout = try RawImage.write(payload, to: path)
        let image = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        XCTAssertEqual(image.count, layout.totalBytes)
        XCTAssertEqual(image.count % 512, 0)
        XCTAssertEqual(Array(image[510..<512]), [0x55, 0xAA])

        // The partition: active, type 0xDA, from LBA 2048 to the end.
        XCTAssertEqual(image[0x1BE], 0x80)
        XCTAssertEqual(image[0x1BE + 4], 0xDA)
        XCTAssertEqual(image.littleEndian32(at: 0x1BE + 8), 2048)
        XCTAssertEqual(Int(image.littleEndian32(at: 0x1BE + 12)), image.count / 512 - 2048)

        // Parameter block → stage 2 at LBA 1, header at 2048; header → kernel and module.
        XCTAssertEqual(image.littleEndian32(at: 0x1A8), 1)
        XCTAssertEqual(Array(image[512..<516]), Array("SKB2".utf8))
        let header = Int(image.littleEndian32(at: 0x1B0)) * 512
        XCTAssertEqual(header, 2048 * 512)
        XCTAssertEqual(Array(image[header..<header + 8]), Array("SKIFFIMG".utf8))
        let kernelAt = Int(image.littleEndian32(at: header + 16)) * 512
        XCTAssertEqual(Array(image[kernelAt..<kernelAt + kernel.count]), kernel)
        XCTAssertEqual(image.littleEndian16(at: header + 42), 1)
        let moduleAt = Int(image.littleEndian32(at: header + 48)) * 512
        XCTAssertEqual(String(decoding: image[moduleAt..<moduleAt + 13], as: UTF8.self), "first module\n")
        XCTAssertEqual(layout.part("kernel")?.offset, kernelAt)
    }

    func testISOImageLayout() throws {
        let kernel = syntheticKernel()
        let payload = try ImagePayload(kernelFile: kernel, commandLine: "x=1", modules: [try ModuleFile(argument: try module("m", "second"))])
        let path = directory.appendingPathComponent("cd.iso").path
        try ISOImage.write(payload, to: path, volumeIdentifier: "test", date: .init(year: 2026, month: 1, day: 2, hour: 3, minute: 4, second: 5))
        let image = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        XCTAssertEqual(image.count % 2048, 0)
        func sector(_ n: Int) -> ArraySlice<UInt8> { image[n * 2048..<(n + 1) * 2048] }

        XCTAssertEqual(Array(sector(16).prefix(6)), [1] + Array("CD001".utf8))
        XCTAssertEqual(Int(image.littleEndian32(at: 16 * 2048 + 80)), image.count / 2048, "volume space size")
        XCTAssertEqual(Array(sector(17).prefix(6)), [0] + Array("CD001".utf8))
        XCTAssertEqual(Array(sector(18).prefix(6)), [255] + Array("CD001".utf8))
        let catalog = Int(image.littleEndian32(at: 17 * 2048 + 0x47))
        XCTAssertEqual(catalog, 19)
        let entry = catalog * 2048 + 32
        XCTAssertEqual(image[entry], 0x88)
        let bootImage = Int(image.littleEndian32(at: entry + 8))
        let bootSectors = Int(image.littleEndian16(at: entry + 6))
        XCTAssertEqual(Array(image[bootImage * 2048 + 510..<bootImage * 2048 + 512]), [0x55, 0xAA])
        XCTAssertEqual(Array(image[bootImage * 2048 + 512..<bootImage * 2048 + 516]), Array("SKB2".utf8))
        XCTAssertEqual(bootSectors * 512, 512 + (try BootLoader.stage2()).count)

        // The MBR in the boot image points at SKIFF.HDR in 2048-byte sectors; it points at the kernel.
        let mbr = bootImage * 2048
        XCTAssertEqual(image[mbr + 0x1B6], 1, "stage 2 preloaded by the BIOS")
        XCTAssertEqual(image.littleEndian16(at: mbr + 0x1B4), 2048)
        let header = Int(image.littleEndian32(at: mbr + 0x1B0)) * 2048
        XCTAssertEqual(Array(image[header..<header + 8]), Array("SKIFFIMG".utf8))
        let kernelAt = Int(image.littleEndian32(at: header + 16)) * 2048
        XCTAssertEqual(Array(image[kernelAt..<kernelAt + kernel.count]), kernel)

        // The root directory lists KERNEL.ELF;1 at that extent.
        let rootRecord = 16 * 2048 + 156
        let root = Int(image.littleEndian32(at: rootRecord + 2)) * 2048
        var offset = root, found: (Int, Int)?
        var names: [String] = []
        while image[offset] != 0 {
            let length = Int(image[offset])
            let name = String(decoding: image[offset + 33..<offset + 33 + Int(image[offset + 32])], as: UTF8.self)
            names.append(name)
            if name == "KERNEL.ELF;1" { found = (Int(image.littleEndian32(at: offset + 2)), Int(image.littleEndian32(at: offset + 10))) }
            offset += length
        }
        XCTAssertEqual(names, ["\0", "\u{1}", "BOOT.CAT;1", "BOOT.IMG;1", "KERNEL.ELF;1", "MODULE1.BIN;1", "SKIFF.HDR;1"])
        XCTAssertEqual(found?.0, kernelAt / 2048)
        XCTAssertEqual(found?.1, kernel.count)
    }

    func testMissingModuleIsReported() {
        XCTAssertThrowsError(try ModuleFile(argument: "/nonexistent/skiff-module role=x")) { error in
            XCTAssertEqual(error as? ImageError, .moduleMissing(path: "/nonexistent/skiff-module"))
            XCTAssertEqual("\(error)", "module /nonexistent/skiff-module does not exist")
        }
    }
}
