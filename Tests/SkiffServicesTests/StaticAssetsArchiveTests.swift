import SkiffWire
import XCTest
@testable import SkiffServices

/// `StaticAssets.add(archive:)`: the files of a cpio newc archive (as `skiff build` packs an
/// assets folder) served in place, with ETags, 304s and types from their extensions.
final class StaticAssetsArchiveTests: XCTestCase {
    /// An archive kept alive for the test, as the kernel keeps its linked-in archive.
    private var archives: [UnsafeMutableRawBufferPointer] = []

    override func tearDown() {
        for archive in archives { archive.deallocate() }
        archives.removeAll()
    }

    private func immortal(_ bytes: [UInt8]) -> UnsafeRawBufferPointer {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 1), alignment: 16)
        buffer.copyBytes(from: bytes)
        archives.append(buffer)
        return UnsafeRawBufferPointer(rebasing: buffer[0..<bytes.count])
    }

    private let files: [(name: String, contents: [UInt8])] = [
        ("index.html", Array("<h1>home</h1>".utf8)),
        ("css/site.css", Array("h1 { color: red }".utf8)),
        ("about/index.html", Array("<p>about</p>".utf8)),
        ("logo.svg", Array("<svg/>".utf8)),
        ("data.bin", [0, 1, 2, 3, 255]),
    ]

    func testEveryFileIsServedInPlaceWithItsType() throws {
        let archive = immortal(CPIOArchive.emit(files: files))
        var assets = StaticAssets()
        XCTAssertEqual(try assets.add(archive: archive), 5)
        XCTAssertEqual(assets.paths, ["/about/index.html", "/css/site.css", "/data.bin", "/index.html", "/logo.svg"])
        XCTAssertEqual(assets.totalBytes, files.reduce(0) { $0 + $1.contents.count })

        let css = assets.response(to: HTTPRequest(target: "/css/site.css"), path: Array("/css/site.css".utf8))
        XCTAssertEqual(css.status, .ok)
        XCTAssertEqual(css.headers["Content-Type"], "text/css; charset=utf-8")
        XCTAssertEqual(css.body.array, Array("h1 { color: red }".utf8))
        // In place: the body points into the archive's bytes.
        guard case .immortal(let bytes) = css.body else { return XCTFail("not sent in place") }
        XCTAssertTrue(bytes.baseAddress! >= archive.baseAddress! && bytes.baseAddress! + bytes.count <= archive.baseAddress! + archive.count)

        XCTAssertEqual(assets.response(to: HTTPRequest(target: "/logo.svg"), path: Array("/logo.svg".utf8)).headers["Content-Type"],
                       "image/svg+xml")
        XCTAssertEqual(assets.response(to: HTTPRequest(target: "/data.bin"), path: Array("/data.bin".utf8)).body.array, [0, 1, 2, 3, 255])
        // Directories serve their index.html.
        XCTAssertEqual(assets.response(to: HTTPRequest(target: "/about/"), path: Array("/about/".utf8)).body.array,
                       Array("<p>about</p>".utf8))
    }

    func testETagAndIfNoneMatch() throws {
        var assets = StaticAssets()
        try assets.add(archive: immortal(CPIOArchive.emit(files: files)))
        let path = Array("/index.html".utf8)
        let first = assets.response(to: HTTPRequest(target: "/index.html"), path: path)
        let tag = try XCTUnwrap(first.headers["ETag"])
        XCTAssertEqual(tag.utf8.count, 18)
        var headers = HTTPHeaders()
        headers.add("If-None-Match", tag)
        let again = assets.response(to: HTTPRequest(target: "/index.html", headers: headers), path: path)
        XCTAssertEqual(again.status, .notModified)
        XCTAssertEqual(again.headers["ETag"], tag)
        XCTAssertEqual(again.body.count, 0)
        // The same content added by hand has the same tag (the tag is the content's hash).
        var byHand = StaticAssets()
        byHand.add(path: "/index.html", bytes: Array("<h1>home</h1>".utf8))
        XCTAssertEqual(byHand.response(to: HTTPRequest(target: "/index.html"), path: path).headers["ETag"], tag)
    }

    func testDirectoriesAndOddNamesInTheArchiveAreSkippedOrNormalized() throws {
        // A directory entry (mode 040755) and "./"-prefixed names, as `cpio -o` writes them.
        var bytes: [UInt8] = []
        CPIOArchive.appendEntry(name: Array("./docs".utf8), mode: 0o040755, inode: 1, contents: [], to: &bytes)
        CPIOArchive.appendEntry(name: Array("./docs/a.txt".utf8), mode: 0o100644, inode: 2, contents: Array("A".utf8), to: &bytes)
        CPIOArchive.appendEntry(name: Array("TRAILER!!!".utf8), mode: 0, inode: 0, contents: [], to: &bytes)
        var assets = StaticAssets()
        XCTAssertEqual(try assets.add(archive: immortal(bytes)), 1)
        XCTAssertEqual(assets.paths, ["/docs/a.txt"])
    }

    func testAnEmptyArchiveAddsNothingAndABrokenOneThrows() {
        var assets = StaticAssets()
        XCTAssertEqual(try assets.add(archive: UnsafeRawBufferPointer(start: nil, count: 0)), 0)
        var broken = CPIOArchive.emit(files: files)
        broken.removeLast(200)
        XCTAssertThrowsError(try assets.add(archive: immortal(broken)))
        XCTAssertThrowsError(try assets.add(archive: immortal(Array("not an archive at all, really not".utf8))))
    }
}
