import XCTest
@testable import SkiffKernel

/// The 8254x legacy descriptor rings (SDM §3.2, §3.3) against a device played by the test:
/// descriptor layout, DD-driven receive and reclaim, tail arithmetic, and head checks.
final class E1000RingTests: XCTestCase {
    private var blocks: [UnsafeMutableRawPointer] = []

    private func zeroed(_ entries: Int) -> UnsafeMutableRawPointer {
        let memory = UnsafeMutableRawPointer.allocate(byteCount: entries * 16, alignment: 16)
        memory.initializeMemory(as: UInt8.self, repeating: 0, count: entries * 16)
        blocks.append(memory)
        return memory
    }

    override func tearDown() {
        for block in blocks { block.deallocate() }
        blocks = []
    }

    /// The device's side: write back a received frame into descriptor `index`.
    private func deviceReceives(_ memory: UnsafeMutableRawPointer, _ index: Int, length: UInt16, status: UInt8 = 0x03, errors: UInt8 = 0) {
        memory.storeBytes(of: length, toByteOffset: index * 16 + 8, as: UInt16.self)
        memory.storeBytes(of: errors, toByteOffset: index * 16 + 13, as: UInt8.self)
        memory.storeBytes(of: status, toByteOffset: index * 16 + 12, as: UInt8.self)
    }

    func testReceiveRingPointsDescriptorsAtBuffersAndKeepsOneBack() {
        let memory = zeroed(8)
        let ring = E1000ReceiveRing(size: 8, memory: memory) { UInt64(0x40_0000 + $0 * 2048) }
        XCTAssertEqual(memory.load(fromByteOffset: 3 * 16, as: UInt64.self), 0x40_0000 + 3 * 2048)
        XCTAssertEqual(ring.tail, 7, "RDT one short of full")
        XCTAssertFalse(ring.hasFrame)
    }

    func testReceiveInOrderAndTailFollows() throws {
        let memory = zeroed(8)
        let ring = E1000ReceiveRing(size: 8, memory: memory) { UInt64($0 * 2048) }
        for round in 0..<20 {
            let index = round % 8
            deviceReceives(memory, index, length: 60 + UInt16(round))
            let frame = try XCTUnwrap(ring.nextFrame())
            XCTAssertEqual(frame, .init(index: index, length: 60 + round, endOfPacket: true, errors: 0))
            XCTAssertEqual(ring.release(), index, "the descriptor just read is the one kept back")
            XCTAssertEqual(memory.load(fromByteOffset: index * 16 + 12, as: UInt8.self), 0, "status cleared")
        }
    }

    func testReceiveReportsErrorsAndMissingEOP() throws {
        let memory = zeroed(8)
        let ring = E1000ReceiveRing(size: 8, memory: memory) { UInt64($0 * 2048) }
        deviceReceives(memory, 0, length: 2048, status: 0x01, errors: 0x80)
        let frame = try XCTUnwrap(ring.nextFrame())
        XCTAssertFalse(frame.endOfPacket)
        XCTAssertEqual(frame.errors, 0x80)
    }

    func testReceiveHeadCheck() {
        let ring = E1000ReceiveRing(size: 8, memory: zeroed(8)) { UInt64($0 * 2048) }
        XCTAssertTrue(ring.check(head: 0))
        XCTAssertTrue(ring.check(head: 7), "every offered buffer full")
        XCTAssertFalse(ring.check(head: 8))
        XCTAssertTrue(ring.broken)
        XCTAssertFalse(ring.hasFrame, "a broken ring is ignored")
    }

    func testTransmitDescriptorLayout() {
        let memory = zeroed(8)
        let ring = E1000TransmitRing(size: 8, memory: memory)
        XCTAssertEqual(ring.nextFree, 0)
        XCTAssertEqual(ring.post(address: 0xABCD_0000, length: 1514), 1, "TDT one past the descriptor")
        XCTAssertEqual(memory.load(as: UInt64.self), 0xABCD_0000)
        XCTAssertEqual(memory.load(fromByteOffset: 8, as: UInt16.self), 1514)
        XCTAssertEqual(memory.load(fromByteOffset: 11, as: UInt8.self), 0x0B, "CMD: EOP | IFCS | RS")
    }

    func testTransmitReclaimByDescriptorDoneAndFullRing() {
        let memory = zeroed(8)
        let ring = E1000TransmitRing(size: 8, memory: memory)
        for _ in 0..<7 { _ = ring.post(address: 0x1000, length: 60) }
        XCTAssertNil(ring.nextFree, "one descriptor stays unused")
        XCTAssertEqual(ring.reclaim(), 0)
        memory.storeBytes(of: UInt8(1), toByteOffset: 0 * 16 + 12, as: UInt8.self)
        memory.storeBytes(of: UInt8(1), toByteOffset: 1 * 16 + 12, as: UInt8.self)
        memory.storeBytes(of: UInt8(1), toByteOffset: 3 * 16 + 12, as: UInt8.self)  // out of order: waits for 2
        XCTAssertEqual(ring.reclaim(), 2)
        XCTAssertEqual(ring.nextFree, 7)
        XCTAssertEqual(ring.post(address: 0x1000, length: 60), 0, "TDT wraps")
    }

    func testTransmitHeadCheck() {
        let ring = E1000TransmitRing(size: 8, memory: zeroed(8))
        for _ in 0..<3 { _ = ring.post(address: 0x1000, length: 60) }
        XCTAssertTrue(ring.check(head: 0))
        XCTAssertTrue(ring.check(head: 3))
        XCTAssertFalse(ring.check(head: 5), "beyond the tail")
        XCTAssertTrue(ring.broken)
        XCTAssertNil(ring.nextFree)
    }
}
