import Foundation
import SkiffWire
import XCTest
@testable import SkiffImage

/// Packing an assets folder for `skiff build`: what goes in, in which order, and the checks that
/// stop a build with a message naming the file.
final class AssetArchiveTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("skiff-assets-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    private func write(_ path: String, _ text: String) throws {
        let url = directory.appendingPathComponent(path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: url)
    }

    func testAFolderPacksIntoANewcArchiveTheReaderReads() throws {
        try write("index.html", "<h1>hi</h1>")
        try write("css/site.css", "h1 {}")
        try write("img/logo.svg", "<svg/>")
        try write(".well-known/security.txt", "Contact: mailto:x@example.org")
        try write(".DS_Store", "junk")
        try write("css/.site.css.swp", "junk")
        try FileManager.default.createDirectory(at: directory.appendingPathComponent(".git/objects"), withIntermediateDirectories: true)
        try write(".git/HEAD", "ref")
        let assets = try AssetArchive(directory: directory)
        XCTAssertEqual(assets.files.map(\.path), [".well-known/security.txt", "css/site.css", "img/logo.svg", "index.html"])
        XCTAssertEqual(assets.totalBytes, 11 + 5 + 6 + 29)

        let archive = try CPIOArchive(assets.archive)
        XCTAssertEqual(archive.entries.map(\.name), [".well-known/security.txt", "css/site.css", "img/logo.svg", "index.html"])
        XCTAssertTrue(archive.entries.allSatisfy(\.isRegularFile))
        XCTAssertEqual(archive.contents(at: "css/site.css"), Array("h1 {}".utf8))
        // newc: 4-byte alignment throughout, and the same folder always gives the same bytes.
        XCTAssertEqual(assets.archive.count % 4, 0)
        XCTAssertEqual(try AssetArchive(directory: directory).archive, assets.archive)
    }

    func testNewcHeaderFieldsAreWhatCpioWrites() throws {
        let bytes = CPIOArchive.emit(files: [(name: "a.txt", contents: Array("hello".utf8))])
        let header = String(decoding: bytes[0..<110], as: UTF8.self)
        // magic, ino 1, mode 100644, uid, gid, nlink 1, mtime, filesize 5, dev/rdev 0, namesize 6, check
        XCTAssertEqual(header, "070701" + "00000001" + "000081a4" + "00000000" + "00000000" + "00000001" + "00000000"
                       + "00000005" + "00000000" + "00000000" + "00000000" + "00000000" + "00000006" + "00000000")
        XCTAssertEqual(Array(bytes[110..<116]), Array("a.txt\0".utf8))
        XCTAssertEqual(Array(bytes[116..<121]), Array("hello".utf8))   // 110 + 6 = 116: aligned already
        XCTAssertTrue(String(decoding: bytes, as: UTF8.self).contains("TRAILER!!!"))
    }

    func testPathsAreChecked() {
        func reason(_ path: String) -> String? {
            do {
                try AssetArchive.check(path: path)
                return nil
            } catch {
                return error.description
            }
        }
        XCTAssertNil(reason("index.html"))
        XCTAssertNil(reason("a/b/c d.txt"))
        XCTAssertNil(reason("..hidden-but-fine"))
        XCTAssertEqual(reason("/etc/passwd"), "assets: /etc/passwd: an absolute path")
        XCTAssertEqual(reason("a/../b"), "assets: a/../b: a \".\" or \"..\" component")
        XCTAssertEqual(reason("./a"), "assets: ./a: a \".\" or \"..\" component")
        XCTAssertEqual(reason("a//b"), "assets: a//b: an empty path component (//)")
        XCTAssertEqual(reason("a\\b"), "assets: a\\b: a backslash in the name")
        XCTAssertEqual(reason("a\nb"), "assets: a\nb: a control character in the name")
        XCTAssertEqual(reason(""), "assets: : an empty path")
        XCTAssertEqual(reason(String(repeating: "x", count: 1025)),
                       "assets: \(String(repeating: "x", count: 1025)): the path has 1025 bytes; at most 1024")
        XCTAssertThrowsError(try AssetArchive(files: [(path: "../secret", contents: [1])]))
        XCTAssertThrowsError(try AssetArchive(files: [(path: "a", contents: [1]), (path: "a", contents: [2])]))
    }

    func testSymbolicLinksAreRefusedWithTheirName() throws {
        try write("index.html", "x")
        let link = directory.appendingPathComponent("passwd")
        try FileManager.default.createSymbolicLink(atPath: link.path, withDestinationPath: "/etc/passwd")
        XCTAssertThrowsError(try AssetArchive(directory: directory)) { error in
            XCTAssertEqual(error as? AssetError, .symbolicLink(link.path))
            XCTAssertTrue("\(error)".contains("passwd is a symbolic link"), "\(error)")
        }
    }

    func testSizeLimitsNameTheFile() throws {
        try write("small.txt", "x")
        let big = directory.appendingPathComponent("video.mp4")
        try Data(count: AssetArchive.maxFileBytes + 1).write(to: big)
        XCTAssertThrowsError(try AssetArchive(directory: directory)) { error in
            XCTAssertEqual(error as? AssetError, .fileTooLarge(big.path, bytes: AssetArchive.maxFileBytes + 1,
                                                               limit: AssetArchive.maxFileBytes))
            XCTAssertTrue("\(error)".contains("video.mp4 has 16777217 bytes; a file may have at most 16777216 (16 MiB)"), "\(error)")
        }
        try FileManager.default.removeItem(at: big)
        // Three files of 12 MiB: each fits, together they do not.
        let twelve = [UInt8](repeating: 7, count: 12 << 20)
        XCTAssertThrowsError(try AssetArchive(files: [(path: "a", contents: twelve), (path: "b", contents: twelve),
                                                      (path: "c", contents: twelve)])) { error in
            XCTAssertEqual(error as? AssetError, .tooLarge("c", totalBytes: 36 << 20, limit: AssetArchive.maxTotalBytes))
        }
    }

    func testAMissingFolderIsAnError() {
        let missing = directory.appendingPathComponent("nope")
        XCTAssertThrowsError(try AssetArchive(directory: missing)) { error in
            XCTAssertEqual(error as? AssetError, .notADirectory(missing.path))
        }
    }
}
