import SkiffPlatform
import SkiffWire
import XCTest
@testable import SkiffStack

final class ReassemblyBufferTests: XCTestCase {
    let key = ReassemblyKey(source: IPv4Address(198, 18, 0, 1), destination: IPv4Address(198, 18, 0, 2),
                            protocolNumber: 17, identification: 7)
    let header = [UInt8](repeating: 0x45, count: 20)
    let t0 = Instant(nanoseconds: 0)

    func insert(_ buffer: inout ReassemblyBuffer, key: ReassemblyKey? = nil, offset: Int, _ data: [UInt8],
                more: Bool, at now: Instant? = nil) -> ReassemblyBuffer.Outcome {
        header.withUnsafeBytes { h in
            data.withUnsafeBytes { d in
                buffer.insert(key: key ?? self.key, offset: offset, moreFragments: more, header: h, payload: d, now: now ?? t0)
            }
        }
    }

    func payload(of outcome: ReassemblyBuffer.Outcome) -> [UInt8]? {
        if case .complete(_, let payload) = outcome { return payload }
        return nil
    }

    func testInOrderFragmentsComplete() {
        var buffer = ReassemblyBuffer(timeout: .seconds(30), memoryLimit: 65536)
        let data = pattern(40)
        XCTAssertNil(payload(of: insert(&buffer, offset: 0, Array(data[0..<16]), more: true)))
        XCTAssertNil(payload(of: insert(&buffer, offset: 16, Array(data[16..<32]), more: true)))
        XCTAssertEqual(payload(of: insert(&buffer, offset: 32, Array(data[32...]), more: false)), data)
        XCTAssertEqual(buffer.count, 0)
        XCTAssertEqual(buffer.memoryUsed, 0)
    }

    func testOutOfOrderFragmentsComplete() {
        var buffer = ReassemblyBuffer(timeout: .seconds(30), memoryLimit: 65536)
        let data = pattern(40)
        _ = insert(&buffer, offset: 32, Array(data[32...]), more: false)
        _ = insert(&buffer, offset: 0, Array(data[0..<16]), more: true)
        XCTAssertEqual(payload(of: insert(&buffer, offset: 16, Array(data[16..<32]), more: true)), data)
    }

    func testReassemblyOverlappingFragmentsDropWholeDatagram() {
        var buffer = ReassemblyBuffer(timeout: .seconds(30), memoryLimit: 65536)
        _ = insert(&buffer, offset: 0, pattern(16), more: true)
        guard case .dropped(.overlap) = insert(&buffer, offset: 8, pattern(16), more: true) else {
            return XCTFail("overlap not detected")
        }
        XCTAssertEqual(buffer.count, 0)
        XCTAssertEqual(buffer.memoryUsed, 0)
    }

    func testOverlapWithPreviousFragmentDetected() {
        var buffer = ReassemblyBuffer(timeout: .seconds(30), memoryLimit: 65536)
        _ = insert(&buffer, offset: 16, pattern(16), more: true)
        guard case .dropped(.overlap) = insert(&buffer, offset: 8, pattern(16), more: true) else {
            return XCTFail("overlap not detected")
        }
    }

    func testExactDuplicateIgnored() {
        var buffer = ReassemblyBuffer(timeout: .seconds(30), memoryLimit: 65536)
        _ = insert(&buffer, offset: 0, pattern(16), more: true)
        guard case .duplicate = insert(&buffer, offset: 0, pattern(16), more: true) else {
            return XCTFail("duplicate not recognised")
        }
        XCTAssertEqual(buffer.count, 1)
        XCTAssertEqual(payload(of: insert(&buffer, offset: 16, [1, 2, 3], more: false)), pattern(16) + [1, 2, 3])
    }

    func testRFC791NonFinalFragmentNotMultipleOf8IsMalformed() {
        var buffer = ReassemblyBuffer(timeout: .seconds(30), memoryLimit: 65536)
        guard case .dropped(.malformed) = insert(&buffer, offset: 0, pattern(12), more: true) else {
            return XCTFail("accepted")
        }
    }

    func testFragmentBeyond65535IsMalformed() {
        var buffer = ReassemblyBuffer(timeout: .seconds(30), memoryLimit: 1 << 20)
        guard case .dropped(.malformed) = insert(&buffer, offset: 8191 * 8, pattern(100), more: false) else {
            return XCTFail("accepted")
        }
    }

    func testDataPastKnownEndIsMalformed() {
        var buffer = ReassemblyBuffer(timeout: .seconds(30), memoryLimit: 65536)
        _ = insert(&buffer, offset: 16, pattern(8), more: false)
        guard case .dropped(.malformed) = insert(&buffer, offset: 24, pattern(8), more: true) else {
            return XCTFail("accepted")
        }
        XCTAssertEqual(buffer.count, 0)
    }

    func testTimeoutReturnsFirstFragmentQuoteAndFreesMemory() {
        var buffer = ReassemblyBuffer(timeout: .seconds(30), memoryLimit: 65536)
        _ = insert(&buffer, offset: 0, pattern(64), more: true)
        XCTAssertGreaterThan(buffer.memoryUsed, 64)
        XCTAssertTrue(buffer.expire(now: t0 + .seconds(29)).isEmpty)
        let expired = buffer.expire(now: t0 + .seconds(30))
        XCTAssertEqual(expired.count, 1)
        XCTAssertEqual(expired.first?.firstFragmentQuote, header + pattern(8))
        XCTAssertEqual(buffer.memoryUsed, 0)
        XCTAssertNil(buffer.nextDeadline)
    }

    func testTimeoutWithoutFirstFragmentHasNoQuote() {
        var buffer = ReassemblyBuffer(timeout: .seconds(30), memoryLimit: 65536)
        _ = insert(&buffer, offset: 64, pattern(64), more: true)
        XCTAssertEqual(buffer.nextDeadline, t0 + .seconds(30))
        XCTAssertNil(buffer.expire(now: t0 + .seconds(30)).first?.firstFragmentQuote)
    }

    func testMemoryLimitEvictsOldestDatagram() {
        let limit = 3 * (1000 + ReassemblyBuffer.fragmentOverhead) + 100
        var buffer = ReassemblyBuffer(timeout: .seconds(30), memoryLimit: limit)
        for id in 0..<10 {
            var k = key
            k.identification = UInt16(id)
            _ = insert(&buffer, key: k, offset: 8, pattern(1000), more: true)
            XCTAssertLessThanOrEqual(buffer.memoryUsed, limit)
        }
        XCTAssertEqual(buffer.count, 3)
        XCTAssertEqual(buffer.evictions, 7)
        XCTAssertEqual(Set(buffer.datagrams.keys.map(\.identification)), [7, 8, 9])
    }

    func testFragmentLargerThanLimitRefused() {
        var buffer = ReassemblyBuffer(timeout: .seconds(30), memoryLimit: 500)
        guard case .dropped(.memoryLimit) = insert(&buffer, offset: 0, pattern(1000), more: true) else {
            return XCTFail("accepted")
        }
        XCTAssertEqual(buffer.memoryUsed, 0)
    }

    func testSeededRandomFragmentsKeepMemoryAccountingExact() {
        var random = SplitMix64(seed: 42)
        let limit = 8192
        var buffer = ReassemblyBuffer(timeout: .seconds(1), memoryLimit: limit)
        var now = t0
        for _ in 0..<5000 {
            var k = key
            k.identification = UInt16(random.next(below: 6))
            let offset = random.next(below: 64) * 8
            let length = (random.next(below: 8) + 1) * 8
            _ = insert(&buffer, key: k, offset: offset, pattern(length), more: random.chance(80), at: now)
            let sum = buffer.datagrams.values.reduce(0) { $0 + $1.memory }
            XCTAssertEqual(sum, buffer.memoryUsed)
            XCTAssertLessThanOrEqual(buffer.memoryUsed, limit)
            if random.chance(5) { now = now + .milliseconds(300); _ = buffer.expire(now: now) }
        }
    }
}
