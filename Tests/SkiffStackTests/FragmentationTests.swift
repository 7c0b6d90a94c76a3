import SkiffWire
import XCTest
@testable import SkiffStack

final class FragmentationTests: XCTestCase {
    func datagram(payload: [UInt8], options: [UInt8] = [], dontFragment: Bool = false) -> [UInt8] {
        var packet = PacketBuffer(payload)
        IPv4Header(source: IPv4Address(198, 18, 0, 1), destination: IPv4Address(198, 18, 0, 2),
                   protocolNumber: 17, identification: 99, dontFragment: dontFragment, options: options)
            .prepend(to: &packet)
        return packet.bytes
    }

    func testRFC791FragmentsFitMTUWithOffsetsInEightByteUnits() throws {
        let payload = pattern(3000)
        let fragments = try XCTUnwrap(datagram(payload: payload).withUnsafeBytes { Fragmentation.fragment($0, mtu: 1500) })
        XCTAssertEqual(fragments.count, 3)
        var rebuilt: [UInt8] = []
        for (index, fragment) in fragments.enumerated() {
            let bytes = fragment.bytes
            XCTAssertLessThanOrEqual(bytes.count, 1500)
            let header = try bytes.withUnsafeBytes { try IPv4Header.parse($0) }
            XCTAssertEqual(header.identification, 99)
            XCTAssertEqual(header.fragmentOffset, rebuilt.count)
            XCTAssertEqual(header.moreFragments, index < fragments.count - 1)
            if header.moreFragments { XCTAssertEqual((bytes.count - 20) % 8, 0) }
            rebuilt += bytes[20...]
        }
        XCTAssertEqual(rebuilt, payload)
    }

    func testDontFragmentRefused() {
        XCTAssertNil(datagram(payload: pattern(2000), dontFragment: true).withUnsafeBytes { Fragmentation.fragment($0, mtu: 1500) })
    }

    func testRFC791OnlyCopiedOptionsInLaterFragments() throws {
        // Loose source route (0x83, copied) then Record Route (0x07, not copied), then padding.
        let options: [UInt8] = [0x83, 7, 4, 198, 18, 0, 9, 0x07, 7, 4, 0, 0, 0, 0, 0, 0]
        let fragments = try XCTUnwrap(datagram(payload: pattern(200), options: options)
            .withUnsafeBytes { Fragmentation.fragment($0, mtu: 100) })
        let first = try fragments[0].bytes.withUnsafeBytes { try IPv4Header.parse($0) }
        let second = try fragments[1].bytes.withUnsafeBytes { try IPv4Header.parse($0) }
        XCTAssertEqual(first.options, options)
        XCTAssertEqual(second.options, [0x83, 7, 4, 198, 18, 0, 9, 0])
    }

    func testFragmentingAFragmentKeepsMoreFragmentsOnLastPiece() throws {
        var packet = PacketBuffer(pattern(1000))
        IPv4Header(source: IPv4Address(198, 18, 0, 1), destination: IPv4Address(198, 18, 0, 2),
                   protocolNumber: 17, moreFragments: true, fragmentOffset: 800).prepend(to: &packet)
        let fragments = try XCTUnwrap(packet.bytes.withUnsafeBytes { Fragmentation.fragment($0, mtu: 576) })
        let headers = try fragments.map { try $0.bytes.withUnsafeBytes { try IPv4Header.parse($0) } }
        XCTAssertEqual(headers.first?.fragmentOffset, 800)
        XCTAssertTrue(headers.allSatisfy(\.moreFragments))
    }

    func testMalformedOptionsWalkStops() {
        XCTAssertEqual([0x83, 200, 1, 2].withUnsafeBytes { Fragmentation.copiedOptions($0) }, [])
        XCTAssertEqual([0x01, 0x01, 0x00, 0x83].withUnsafeBytes { Fragmentation.copiedOptions($0) }, [])
    }
}
