import XCTest
@testable import SkiffKernel

/// The vmxnet3 rings (vmxnet3_defs.h) against a device played by the test over ordinary memory:
/// generation bits on both sides, wrap-around, skipped descriptors, and a hostile device.
final class VMXNET3QueueTests: XCTestCase {
    private var blocks: [UnsafeMutableRawPointer] = []

    private func zeroed(_ entries: Int) -> UnsafeMutableRawPointer {
        let bytes = entries * VMXNET3.Ring.entrySize
        let memory = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: VMXNET3.Ring.baseAlignment)
        memory.initializeMemory(as: UInt8.self, repeating: 0, count: bytes)
        blocks.append(memory)
        return memory
    }

    override func tearDown() {
        for block in blocks { block.deallocate() }
        blocks = []
    }

    private func dword(_ base: UnsafeMutableRawPointer, _ index: Int, _ word: Int) -> UInt32 {
        base.load(fromByteOffset: index * 16 + 4 * word, as: UInt32.self)
    }
    private func setDword(_ base: UnsafeMutableRawPointer, _ index: Int, _ word: Int, _ value: UInt32) {
        base.storeBytes(of: value, toByteOffset: index * 16 + 4 * word, as: UInt32.self)
    }

    // MARK: Cursor and command ring bookkeeping

    func testCursorFlipsGenerationOnWrap() {
        var cursor = VMXNET3RingCursor(size: 32)
        XCTAssertEqual(cursor.generation, 1)
        for _ in 0..<31 { cursor.advance() }
        XCTAssertEqual(cursor.index, 31)
        XCTAssertEqual(cursor.generation, 1)
        cursor.advance()
        XCTAssertEqual(cursor.index, 0)
        XCTAssertEqual(cursor.generation, 0)
    }

    func testCommandRingKeepsOneDescriptorBack() {
        var ring = VMXNET3CommandRing(size: 32)
        var produced = 0
        while ring.produce() != nil { produced += 1 }
        XCTAssertEqual(produced, 31)
        XCTAssertEqual(ring.free, 0)
    }

    func testRetireThroughSkippedDescriptors() {
        var ring = VMXNET3CommandRing(size: 32)
        for _ in 0..<10 { _ = ring.produce() }
        // A device may skip descriptors: completing 3 retires 0–3.
        XCTAssertEqual(ring.retire(through: 3), 4)
        XCTAssertEqual(ring.outstanding, 6)
        XCTAssertEqual(ring.completeIndex, 4)
    }

    func testRetireRejectsDescriptorsTheDeviceDoesNotOwn() {
        var ring = VMXNET3CommandRing(size: 32)
        for _ in 0..<4 { _ = ring.produce() }
        XCTAssertNil(ring.retire(through: 4), "never handed over")
        XCTAssertNil(ring.retire(through: 32), "outside the ring")
        XCTAssertNil(ring.retire(through: -1))
        XCTAssertEqual(ring.retire(through: 1), 2)
        XCTAssertNil(ring.retire(through: 1), "already retired")
    }

    // MARK: Transmit

    func testTransmitDescriptorLayoutAndGenerationLast() throws {
        let ring = zeroed(32), completions = zeroed(32)
        let queue = VMXNET3TransmitQueue(size: 32, ring: ring, completions: completions)
        XCTAssertEqual(queue.nextFree, 0)
        let producer = try XCTUnwrap(queue.post(address: 0x1234_5678_9ABC, length: 60))
        XCTAssertEqual(producer, 1, "TXPROD names the next descriptor to fill")
        XCTAssertEqual(ring.load(as: UInt64.self), 0x1234_5678_9ABC)
        XCTAssertEqual(dword(ring, 0, 2), 60 | 1 << 14, "len, gen 1")
        XCTAssertEqual(dword(ring, 0, 3), 1 << 12 | 1 << 13, "eop, cq")
    }

    func testTransmitCompletionsFreeDescriptorsAcrossWrap() throws {
        let ring = zeroed(32), completions = zeroed(32)
        let queue = VMXNET3TransmitQueue(size: 32, ring: ring, completions: completions)
        var deviceGeneration: UInt32 = 1
        var deviceSlot = 0
        func complete(_ index: UInt32) {
            setDword(completions, deviceSlot, 0, index)
            setDword(completions, deviceSlot, 3, deviceGeneration << 31)
            deviceSlot += 1
            if deviceSlot == 32 { deviceSlot = 0; deviceGeneration ^= 1 }
        }
        // 100 frames through a 32-entry ring: three wraps of both rings.
        for frame in 0..<100 {
            let index = try XCTUnwrap(queue.nextFree)
            XCTAssertEqual(index, frame % 32)
            XCTAssertNotNil(queue.post(address: 0x1000, length: 64))
            // The descriptor carries the generation of its lap.
            XCTAssertEqual(dword(ring, index, 2) >> 14 & 1, UInt32(1 - (frame / 32) % 2))
            complete(UInt32(index))
            XCTAssertEqual(queue.reclaim(), 1)
            XCTAssertFalse(queue.broken)
        }
        XCTAssertEqual(queue.reclaim(), 0, "a stale entry of the previous lap is not a completion")
    }

    func testTransmitFullRingAndHostileCompletion() {
        let ring = zeroed(32), completions = zeroed(32)
        let queue = VMXNET3TransmitQueue(size: 32, ring: ring, completions: completions)
        for _ in 0..<31 { XCTAssertNotNil(queue.post(address: 0x1000, length: 64)) }
        XCTAssertNil(queue.nextFree)
        XCTAssertNil(queue.post(address: 0x1000, length: 64))
        // Descriptor 31 was never handed over.
        setDword(completions, 0, 0, 31)
        setDword(completions, 0, 3, 1 << 31)
        XCTAssertEqual(queue.reclaim(), 0)
        XCTAssertTrue(queue.broken)
    }

    // MARK: Receive

    private func makeReceiveQueue() -> (VMXNET3ReceiveQueue, UnsafeMutableRawPointer, UnsafeMutableRawPointer, UnsafeMutableRawPointer) {
        let ring1 = zeroed(32), ring2 = zeroed(32), completions = zeroed(64)
        let queue = VMXNET3ReceiveQueue(ring1Size: 32, ring2Size: 32, ring1: ring1, ring2: ring2, completions: completions)
        XCTAssertEqual(queue.refill(0, length: 2048) { UInt64(0x10_0000 + $0 * 2048) }, 31)
        XCTAssertEqual(queue.refill(1, length: 2048) { UInt64(0x20_0000 + $0 * 2048) }, 31)
        return (queue, ring1, ring2, completions)
    }

    func testReceiveDescriptorsCarryBufferTypeAndGeneration() {
        let (_, ring1, ring2, _) = makeReceiveQueue()
        XCTAssertEqual(ring1.load(fromByteOffset: 16 * 5, as: UInt64.self), 0x10_0000 + 5 * 2048)
        XCTAssertEqual(dword(ring1, 5, 2), 2048 | 1 << 31, "head buffer, gen 1")
        XCTAssertEqual(dword(ring2, 5, 2), 2048 | 1 << 14 | 1 << 31, "body buffer, gen 1")
        XCTAssertEqual(dword(ring1, 31, 2), 0, "one descriptor kept back")
    }

    func testReceiveCompletionDecodedAndRefilledWithNextGeneration() throws {
        let (queue, ring1, _, completions) = makeReceiveQueue()
        XCTAssertFalse(queue.hasCompletion)
        setDword(completions, 0, 0, 0 | 1 << 14 | 1 << 15)  // rxdIdx 0, eop, sop, rqID 0
        setDword(completions, 0, 2, 98)
        setDword(completions, 0, 3, 1 << 31)
        XCTAssertTrue(queue.hasCompletion)
        let completion = try XCTUnwrap(queue.nextCompletion())
        XCTAssertEqual(completion, .init(ring: 0, index: 0, length: 98, startOfPacket: true, endOfPacket: true, error: false))
        XCTAssertFalse(queue.hasCompletion)
        // Refilling offers descriptor 31 (the one kept back) with generation 1, then 0 is kept back.
        XCTAssertEqual(queue.refill(0, length: 2048) { UInt64(0x10_0000 + $0 * 2048) }, 1)
        XCTAssertEqual(dword(ring1, 31, 2) >> 31, 1)
        XCTAssertEqual(queue.fillIndex(0), 0)
        // Descriptor 0 goes back on the next refill with generation 0, the device's second lap.
        setDword(completions, 1, 0, 1 | 1 << 14 | 1 << 15)
        setDword(completions, 1, 3, 1 << 31)
        XCTAssertNotNil(queue.nextCompletion())
        queue.refill(0, length: 2048) { UInt64(0x10_0000 + $0 * 2048) }
        XCTAssertEqual(dword(ring1, 0, 2) >> 31, 0)
    }

    func testReceiveCompletionForRing2() throws {
        let (queue, _, _, completions) = makeReceiveQueue()
        setDword(completions, 0, 0, 3 | 1 << 14 | 1 << 16)  // rxdIdx 3, eop, rqID 1 = ring 2
        setDword(completions, 0, 3, 1 << 31)
        let completion = try XCTUnwrap(queue.nextCompletion())
        XCTAssertEqual(completion.ring, 1)
        XCTAssertEqual(completion.index, 3)
        XCTAssertFalse(completion.startOfPacket)
    }

    func testReceiveRejectsUnknownQueueAndUnownedIndex() {
        let (queue, _, _, completions) = makeReceiveQueue()
        setDword(completions, 0, 0, 0 | 7 << 16)  // rqID 7: neither of this queue's rings
        setDword(completions, 0, 3, 1 << 31)
        XCTAssertNil(queue.nextCompletion())
        XCTAssertTrue(queue.broken)
        XCTAssertFalse(queue.hasCompletion, "a broken queue is ignored")

        let (second, _, _, secondCompletions) = makeReceiveQueue()
        setDword(secondCompletions, 0, 0, 31 | 1 << 15 | 1 << 14)  // descriptor 31 was kept back
        setDword(secondCompletions, 0, 3, 1 << 31)
        XCTAssertNil(second.nextCompletion())
        XCTAssertTrue(second.broken)
    }
}
