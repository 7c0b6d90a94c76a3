import Foundation
import XCTest
@testable import SkiffImage

/// A test-only DEFLATE reader (RFC 1951): stored and fixed-Huffman blocks, which is all the
/// compressor emits. Throws on anything it cannot decode instead of trapping.
struct TestInflater {
    struct Failure: Error {}
    let input: [UInt8]
    var bit = 0
    var output: [UInt8] = []

    static func inflate(_ bytes: [UInt8]) throws -> [UInt8] {
        var inflater = TestInflater(input: bytes)
        try inflater.run()
        return inflater.output
    }

    mutating func bits(_ count: Int) throws -> Int {
        var value = 0
        for index in 0..<count {
            guard bit / 8 < input.count else { throw Failure() }
            value |= Int(input[bit / 8] >> (bit % 8) & 1) << index
            bit += 1
        }
        return value
    }

    /// Fixed literal/length code (§3.2.6): read MSB first, 7 to 9 bits.
    mutating func fixedSymbol() throws -> Int {
        var code = 0
        for length in 1...9 {
            code = code << 1 | (try bits(1))
            switch length {
            case 7 where code <= 0x17: return code + 256
            case 8 where (0x30...0xBF).contains(code): return code - 0x30
            case 8 where (0xC0...0xC7).contains(code): return code - 0xC0 + 280
            case 9 where (0x190...0x1FF).contains(code): return code - 0x190 + 144
            default: continue
            }
        }
        throw Failure()
    }

    mutating func run() throws {
        var final = 0
        repeat {
            final = try bits(1)
            switch try bits(2) {
            case 0:
                bit = (bit + 7) / 8 * 8
                let length = try bits(16), complement = try bits(16)
                guard length ^ 0xFFFF == complement, bit / 8 + length <= input.count else { throw Failure() }
                output += input[bit / 8..<bit / 8 + length]
                bit += 8 * length
            case 1:
                while true {
                    let symbol = try fixedSymbol()
                    if symbol < 256 { output.append(UInt8(symbol)); continue }
                    if symbol == 256 { break }
                    let code = symbol - 257
                    guard code < 29 else { throw Failure() }
                    let length = Deflate.lengthBase[code] + (try bits(Deflate.lengthExtra[code]))
                    var distanceCode = 0
                    for _ in 0..<5 { distanceCode = distanceCode << 1 | (try bits(1)) }
                    guard distanceCode < 30 else { throw Failure() }
                    let distance = Deflate.distanceBase[distanceCode] + (try bits(Deflate.distanceExtra[distanceCode]))
                    guard distance <= output.count else { throw Failure() }
                    for _ in 0..<length { output.append(output[output.count - distance]) }
                }
            default:
                throw Failure()
            }
        } while final == 0
    }
}

final class ChecksumTests: XCTestCase {
    func testAdler32ReferenceValues() {
        XCTAssertEqual(Adler32.checksum(Array("Wikipedia".utf8)), 0x11E6_0398)
        XCTAssertEqual(Adler32.checksum([]), 1)
        // Past zlib's NMAX (5552), where the sums are reduced.
        XCTAssertEqual(Adler32.checksum([UInt8](repeating: 0xFF, count: 10000)), 0xB623_EB2B)
    }

    func testCRC32ReferenceValues() {
        XCTAssertEqual(CRC32.checksum(Array("123456789".utf8)), 0xCBF4_3926)
        XCTAssertEqual(CRC32.checksum([]), 0)
    }

    func testCRC32ZeroSkipMatchesBytewise() {
        for count in [0, 1, 7, 512, 65536, 100_003] {
            var bytewise = CRC32(), skipped = CRC32()
            bytewise.update(Array("prefix".utf8))
            skipped.update(Array("prefix".utf8))
            bytewise.update([UInt8](repeating: 0, count: count))
            skipped.updateZeros(count: count)
            XCTAssertEqual(bytewise.value, skipped.value, "\(count) zeros")
        }
    }

    func testSHA256ReferenceValues() {
        var abc = SHA256()
        abc.update(Array("abc".utf8))
        XCTAssertEqual(SHA256.hex(abc.finish()), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        var empty = SHA256()
        XCTAssertEqual(SHA256.hex(empty.finish()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        // 56 bytes: the padding spills into a second block; fed in uneven pieces.
        var two = SHA256()
        let text = Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)
        two.update(Array(text[0..<5]))
        two.update(Array(text[5...]))
        XCTAssertEqual(SHA256.hex(two.finish()), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }
}

final class DeflateTests: XCTestCase {
    func roundTrip(_ input: [UInt8], file: StaticString = #filePath, line: UInt = #line) throws {
        let compressed = Deflate.compress(input)
        XCTAssertEqual(try TestInflater.inflate(compressed), input, file: file, line: line)
    }

    func testRoundTrips() throws {
        try roundTrip([])
        try roundTrip(Array("a".utf8))
        try roundTrip(Array("abcabcabcabcabcabc hello hello hello".utf8))
        try roundTrip([UInt8](repeating: 0, count: 70000))
        var generator = SystemRandomNumberGenerator()
        try roundTrip((0..<20000).map { _ in UInt8.random(in: 0...255, using: &generator) })
        // Text-like data with long-distance repeats (distances beyond 4 KiB).
        let words = (0..<3000).map { "word\($0 % 700) " }.joined()
        try roundTrip(Array(words.utf8))
    }

    func testZerosCompressWell() {
        XCTAssertLessThan(Deflate.compress([UInt8](repeating: 0, count: 65536)).count, 500)
    }

    func testZlibFraming() throws {
        let input = Array("streamOptimized grain".utf8)
        let stream = Deflate.zlib(input)
        XCTAssertEqual(Array(stream[0..<2]), [0x78, 0x01])
        XCTAssertEqual((UInt32(stream[0]) << 8 | UInt32(stream[1])) % 31, 0)  // RFC 1950 §2.2 FCHECK
        let adler = Adler32.checksum(input)
        XCTAssertEqual(Array(stream.suffix(4)), [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: adler >> UInt32($0)) })
        XCTAssertEqual(try TestInflater.inflate(Array(stream[2..<stream.count - 4])), input)
    }

    func testGzipStreamWithZeroPieces() throws {
        var out: [UInt8] = []
        var gzip = try GzipStream(mtime: 0) { (bytes: [UInt8]) throws(ImageError) in out += bytes }
        let head = Array("tar header".utf8)
        try gzip.write(head)
        try gzip.writeZeros(3 * GzipStream.pieceSize + 17)
        try gzip.write([1, 2, 3])
        try gzip.finish()
        let expected = head + [UInt8](repeating: 0, count: 3 * GzipStream.pieceSize + 17) + [1, 2, 3]
        XCTAssertEqual(Array(out[0..<4]), [0x1F, 0x8B, 8, 0])
        let body = Array(out[10..<out.count - 8])
        XCTAssertEqual(try TestInflater.inflate(body), expected)
        XCTAssertEqual(out.suffix(8).prefix(4).reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) }, CRC32.checksum(expected))
        XCTAssertEqual(out.suffix(4).reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) }, UInt32(expected.count))
    }

    func testInflaterRejectsTruncation() {
        let stream = Deflate.compress(Array("some text some text some text".utf8))
        for cut in 0..<stream.count - 1 {
            XCTAssertThrowsError(try TestInflater.inflate(Array(stream[0..<cut])), "cut at \(cut)")
        }
    }
}

final class DiskFormatTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("skiff-format-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    /// A 300-sector raw disk with data in grains 0 and 2 (of 3) only.
    func rawDisk() throws -> (path: String, bytes: [UInt8]) {
        var bytes = [UInt8](repeating: 0, count: 300 * 512)
        for index in 0..<1000 { bytes[index] = UInt8(index % 251) }
        bytes[2 * 65536 + 5] = 0xAB
        let path = directory.appendingPathComponent("disk.raw").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return (path, bytes)
    }

    func read(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: directory.appendingPathComponent(name)))
    }

    func u32(_ bytes: [UInt8], _ offset: Int) -> Int { Int(bytes.littleEndian32(at: offset)) }

    func testMonolithicSparseLayout() throws {
        let raw = try rawDisk()
        let out = directory.appendingPathComponent("disk.vmdk").path
        try VMDKImage.convert(raw: raw.path, to: out, variant: .monolithicSparse, cid: 0x1234)
        let file = try read("disk.vmdk")
        XCTAssertEqual(Array(file[0..<4]), Array("KDMV".utf8))
        let header = try VMDKImage.SparseHeader.parse(Array(file[0..<512]))
        XCTAssertEqual(header.version, 1)
        XCTAssertEqual(header.flags, 3)
        XCTAssertEqual(header.capacity, 300)
        XCTAssertEqual(header.grainSize, 128)
        XCTAssertEqual(header.descriptorOffset, 1)
        XCTAssertEqual(header.numGTEsPerGT, 512)
        XCTAssertEqual(Array(file[73..<77]), [0x0A, 0x20, 0x0D, 0x0A])
        XCTAssertEqual(header.overHead % 128, 0)
        let descriptor = String(decoding: file[512..<512 * 21], as: UTF8.self)
        XCTAssertTrue(descriptor.contains("createType=\"monolithicSparse\""))
        XCTAssertTrue(descriptor.contains("CID=00001234"))
        XCTAssertTrue(descriptor.contains("RW 300 SPARSE \"disk.vmdk\""))
        XCTAssertTrue(descriptor.contains("ddb.adapterType = \"ide\""))
        // Both directories point to tables whose entries place grains 0 and 2; grain 1 is unallocated.
        for directory in [Int(header.rgdOffset), Int(header.gdOffset)] {
            let table = u32(file, directory * 512) * 512
            let grain0 = u32(file, table), grain1 = u32(file, table + 4), grain2 = u32(file, table + 8)
            XCTAssertEqual(grain0, Int(header.overHead))
            XCTAssertEqual(grain1, 0)
            XCTAssertEqual(grain2, Int(header.overHead) + 128)
            XCTAssertEqual(Array(file[grain0 * 512..<grain0 * 512 + 1000]), Array(raw.bytes[0..<1000]))
            XCTAssertEqual(file[grain2 * 512 + 5], 0xAB)
        }
        XCTAssertEqual(file.count, (Int(header.overHead) + 2 * 128) * 512)
    }

    func testStreamOptimizedLayout() throws {
        let raw = try rawDisk()
        let out = directory.appendingPathComponent("s.vmdk").path
        try VMDKImage.convert(raw: raw.path, to: out, variant: .streamOptimized)
        let file = try read("s.vmdk")
        let header = try VMDKImage.SparseHeader.parse(Array(file[0..<512]))
        XCTAssertEqual(header.version, 3)
        XCTAssertEqual(header.flags, 0x30001)
        XCTAssertEqual(header.compressAlgorithm, 1)
        XCTAssertEqual(header.gdOffset, VMDKImage.gdAtEnd)
        // The tail: footer marker, footer (the header with the real gdOffset), end-of-stream marker.
        let end = file.count
        XCTAssertEqual(Array(file[end - 512..<end]), [UInt8](repeating: 0, count: 512))
        XCTAssertEqual(u32(file, end - 1536), 1)
        XCTAssertEqual(u32(file, end - 1536 + 12), 3)
        let footer = try VMDKImage.SparseHeader.parse(Array(file[end - 1024..<end - 512]))
        XCTAssertNotEqual(footer.gdOffset, VMDKImage.gdAtEnd)
        let gd = Int(footer.gdOffset) * 512
        XCTAssertEqual(u32(file, gd - 512 + 12), 2)  // GD marker
        let gt = u32(file, gd) * 512
        XCTAssertEqual(u32(file, gt - 512 + 12), 1)  // GT marker
        XCTAssertEqual(u32(file, gt + 4), 0)         // grain 1: zero, unallocated
        // Grain 2: marker LBA 256, then a zlib stream that inflates to the grain.
        let grain = u32(file, gt + 8) * 512
        XCTAssertEqual(u32(file, grain), 256)
        let size = u32(file, grain + 8)
        let stream = Array(file[grain + 12..<grain + 12 + size])
        var expected = [UInt8](repeating: 0, count: 65536)
        expected.replaceSubrange(0..<(300 * 512 - 2 * 65536), with: raw.bytes[(2 * 65536)...])
        XCTAssertEqual(try TestInflater.inflate(Array(stream[2..<stream.count - 4])), expected)
    }

    func testSparseHeaderRejectsTruncationAndDamage() throws {
        let header = VMDKImage.SparseHeader(version: 1, flags: 3, capacity: 8, descriptorOffset: 1, descriptorSize: 20,
                                            rgdOffset: 21, gdOffset: 30, overHead: 128, compressAlgorithm: 0).encode()
        XCTAssertNoThrow(try VMDKImage.SparseHeader.parse(header))
        for cut in [0, 1, 4, 40, 78] {
            XCTAssertThrowsError(try VMDKImage.SparseHeader.parse(Array(header[0..<cut])))
        }
        var textMode = header
        textMode[75] = 0x0A  // "\r\n" turned into "\n\n"
        XCTAssertThrowsError(try VMDKImage.SparseHeader.parse(textMode))
    }

    func testQcow2Layout() throws {
        let raw = try rawDisk()
        let out = directory.appendingPathComponent("d.qcow2").path
        try Qcow2Image.convert(raw: raw.path, to: out)
        let file = try read("d.qcow2")
        XCTAssertEqual(Array(file[0..<4]), [0x51, 0x46, 0x49, 0xFB])
        let header = try Qcow2Image.Header.parse(file)
        XCTAssertEqual(header.size, 300 * 512)
        XCTAssertEqual(header.l1Size, 1)
        XCTAssertEqual(header.refcountTableOffset, 65536)
        XCTAssertEqual(Array(file[104..<112]), [UInt8](repeating: 0, count: 8))  // extension end marker
        func be64(_ offset: Int) -> UInt64 { file[offset..<offset + 8].reduce(0) { $0 << 8 | UInt64($1) } }
        // Clusters: header, refcount table, 1 refcount block, L1, one L2, 2 data = 7.
        XCTAssertEqual(file.count, 7 * 65536)
        XCTAssertEqual(be64(65536), 2 * 65536)
        for cluster in 0..<8 {
            let count = Int(file[2 * 65536 + 2 * cluster]) << 8 | Int(file[2 * 65536 + 2 * cluster + 1])
            XCTAssertEqual(count, cluster < 7 ? 1 : 0, "refcount of cluster \(cluster)")
        }
        let l1 = be64(Int(header.l1TableOffset))
        XCTAssertEqual(l1, Qcow2Image.copied | 4 * 65536)
        let l2 = Int(l1 & ~Qcow2Image.copied)
        XCTAssertEqual(be64(l2), Qcow2Image.copied | 5 * 65536)
        XCTAssertEqual(be64(l2 + 8), 0)
        XCTAssertEqual(be64(l2 + 16), Qcow2Image.copied | 6 * 65536)
        XCTAssertEqual(file[6 * 65536 + 5], 0xAB)
        XCTAssertThrowsError(try Qcow2Image.Header.parse(Array(file[0..<50])))
    }

    func testVHDGeometryPerSpec() {
        // Spec appendix: small disks use 17 sectors per track and at least 4 heads.
        let small = VHDImage.geometry(totalSectors: 2 * 2048)
        XCTAssertEqual(small.sectorsPerTrack, 17)
        XCTAssertEqual(small.heads, 4)
        XCTAssertEqual(small.cylinders, 60)
        let large = VHDImage.geometry(totalSectors: 127 * 1024 * 2048)  // 127 GiB
        XCTAssertEqual(large.sectorsPerTrack, 255)
        XCTAssertEqual(large.heads, 16)
        XCTAssertEqual(large.cylinders, 65278)  // 266338304 / 255 / 16
        let mid = VHDImage.geometry(totalSectors: 1024 * 2048)  // 1 GiB
        XCTAssertEqual(mid.sectorsPerTrack, 63)
        XCTAssertEqual(mid.heads, 16)
        XCTAssertEqual(mid.cylinders, 2080)
    }

    func testVHDFixedFooter() throws {
        let raw = try rawDisk()
        let out = directory.appendingPathComponent("d.vhd").path
        try VHDImage.convert(raw: raw.path, to: out)
        let file = try read("d.vhd")
        XCTAssertEqual(file.count, (1 << 20) + 512)
        XCTAssertEqual(Array(file[0..<1000]), Array(raw.bytes[0..<1000]))
        let footer = Array(file[(1 << 20)...])
        XCTAssertEqual(try VHDImage.parseFooter(footer), 1 << 20)
        XCTAssertEqual(Array(footer[0..<8]), Array("conectix".utf8))
        XCTAssertEqual(footer[63], 2)
        var sum: UInt32 = 0
        for (index, byte) in footer.enumerated() where !(64..<68).contains(index) { sum &+= UInt32(byte) }
        XCTAssertEqual(footer[64..<68].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }, ~sum)
        var damaged = footer
        damaged[100] ^= 1
        XCTAssertThrowsError(try VHDImage.parseFooter(damaged))
        XCTAssertThrowsError(try VHDImage.parseFooter(Array(footer[0..<511])))
    }

    func testTarHeader() throws {
        let header = try Tar.header(name: "disk.raw", size: 1 << 30, mtime: 0)
        XCTAssertEqual(header.count, 512)
        XCTAssertEqual(String(decoding: header[124..<135], as: UTF8.self), "10000000000")
        XCTAssertEqual(String(decoding: header[257..<262], as: UTF8.self), "ustar")
        var sum = 0
        for (index, byte) in header.enumerated() { sum += (148..<156).contains(index) ? 0x20 : Int(byte) }
        XCTAssertEqual(Int(String(decoding: header[148..<154], as: UTF8.self), radix: 8), sum)
        XCTAssertThrowsError(try Tar.header(name: String(repeating: "x", count: 101), size: 0, mtime: 0))
    }

    func testOVFDescriptorAndManifest() throws {
        let hardware = OVAImage.Hardware(memoryMiB: 512, nics: 2, version: 14)
        let ovf = OVAImage.descriptor(name: "hello", diskFile: "hello-disk1.vmdk", diskFileSize: 1234, capacity: 4096,
                                      hardware: hardware)
        XCTAssertTrue(ovf.contains("ovf:size=\"1234\""))
        XCTAssertTrue(ovf.contains("ovf:capacity=\"4096\""))
        XCTAssertTrue(ovf.contains("vmdk.html#streamOptimized"))
        XCTAssertTrue(ovf.contains("<vssd:VirtualSystemType>vmx-14</vssd:VirtualSystemType>"))
        XCTAssertEqual(ovf.components(separatedBy: "<rasd:ResourceSubType>VMXNET3</rasd:ResourceSubType>").count - 1, 2)
        XCTAssertTrue(ovf.contains("<rasd:VirtualQuantity>512</rasd:VirtualQuantity>"))
        XCTAssertTrue(ovf.contains("<rasd:ResourceSubType>lsilogic</rasd:ResourceSubType>"))
        XCTAssertEqual(OVAImage.manifest([("a.ovf", "00ff")]), "SHA256(a.ovf)= 00ff\n")
    }

    func testOVAMemberOrder() throws {
        let raw = try rawDisk()
        let out = directory.appendingPathComponent("x.ova").path
        try OVAImage.convert(raw: raw.path, to: out, name: "x")
        let file = try read("x.ova")
        var names: [String] = [], offset = 0
        while offset + 512 <= file.count, file[offset] != 0 {
            names.append(String(decoding: file[offset..<offset + 100].prefix { $0 != 0 }, as: UTF8.self))
            let size = Int(String(decoding: file[offset + 124..<offset + 135], as: UTF8.self), radix: 8) ?? 0
            offset += 512 + (size + 511) / 512 * 512
        }
        XCTAssertEqual(names, ["x.ovf", "x.mf", "x-disk1.vmdk"])
    }
}
