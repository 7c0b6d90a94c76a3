import XCTest
@testable import SkiffKernel

/// The split virtqueue against a device played by the test over ordinary memory (virtio 1.2
/// §2.7): layout, offering and publishing, used-ring consumption, and a hostile device.
final class VirtioQueueTests: XCTestCase {
    private var memory: UnsafeMutableRawPointer!
    private var queue: VirtioQueue!

    override func setUp() {
        let layout = VirtioQueue.Layout(size: 8)
        memory = UnsafeMutableRawPointer.allocate(byteCount: layout.totalBytes, alignment: 4096)
        memory.initializeMemory(as: UInt8.self, repeating: 0, count: layout.totalBytes)
        queue = VirtioQueue(index: 0, size: 8, memory: memory)
    }

    override func tearDown() {
        memory.deallocate()
    }

    // The device's side: read the available ring, write the used ring.
    private func availableIndex() -> UInt16 { memory.load(fromByteOffset: queue.layout.availableOffset + 2, as: UInt16.self) }
    private func availableEntry(_ slot: Int) -> UInt16 {
        memory.load(fromByteOffset: queue.layout.availableOffset + 4 + 2 * slot, as: UInt16.self)
    }
    private var deviceUsedIndex: UInt16 = 0
    private func deviceUses(_ id: UInt32, length: UInt32) {
        let element = queue.layout.usedOffset + 4 + 8 * (Int(deviceUsedIndex) % queue.size)
        memory.storeBytes(of: id, toByteOffset: element, as: UInt32.self)
        memory.storeBytes(of: length, toByteOffset: element + 4, as: UInt32.self)
        deviceUsedIndex &+= 1
        memory.storeBytes(of: deviceUsedIndex, toByteOffset: queue.layout.usedOffset + 2, as: UInt16.self)
    }

    func testLegacyLayoutPutsUsedRingOnNextPage() {
        // §2.7.2: 256 entries: descriptors 4096 bytes, available ring 6 + 512, used ring 6 + 2048
        // at the next 4096 boundary.
        let layout = VirtioQueue.Layout(size: 256)
        XCTAssertEqual(layout.availableOffset, 4096)
        XCTAssertEqual(layout.usedOffset, 8192)
        XCTAssertEqual(layout.totalBytes, 8192 + 6 + 2048)
        XCTAssertEqual(VirtioQueue.Layout(size: 8).usedOffset, 4096)
    }

    func testDescriptorFieldsAreWhereTheDeviceReadsThem() {
        queue.setDescriptor(3, address: 0x1234_5678_9000, length: 2048, flags: Virtio.Ring.descriptorWrite)
        XCTAssertEqual(memory.load(fromByteOffset: 48, as: UInt64.self), 0x1234_5678_9000)
        XCTAssertEqual(memory.load(fromByteOffset: 56, as: UInt32.self), 2048)
        XCTAssertEqual(memory.load(fromByteOffset: 60, as: UInt16.self), Virtio.Ring.descriptorWrite)
        queue.setDescriptorLength(3, 60)
        XCTAssertEqual(memory.load(fromByteOffset: 56, as: UInt32.self), 60)
    }

    func testOfferedDescriptorsAreVisibleOnlyAfterPublish() {
        queue.offer(5)
        queue.offer(2)
        XCTAssertEqual(availableIndex(), 0, "the index moves only on publish")
        queue.publish()
        XCTAssertEqual(availableIndex(), 2)
        XCTAssertEqual(availableEntry(0), 5)
        XCTAssertEqual(availableEntry(1), 2)
    }

    func testUsedElementsComeBackInOrderAcrossIndexWrap() {
        var expected: [(Int, Int)] = []
        // 70,000 round trips: the 16-bit indices wrap.
        for round in 0..<70_000 {
            let id = round % 8
            queue.offer(id)
            queue.publish()
            deviceUses(UInt32(id), length: UInt32(60 + round % 100))
            expected.append((id, 60 + round % 100))
            XCTAssertTrue(queue.hasUsed)
            guard let used = queue.nextUsed() else { return XCTFail("round \(round): nothing used") }
            XCTAssertEqual(used.id, id)
            XCTAssertEqual(used.length, 60 + round % 100)
            XCTAssertNil(queue.nextUsed())
        }
        XCTAssertFalse(queue.broken)
        XCTAssertEqual(expected.count, 70_000)
    }

    func testDeviceRunningAheadOfWhatWasOfferedBreaksTheQueue() {
        queue.offer(0)
        queue.publish()
        deviceUses(0, length: 10)
        deviceUses(1, length: 10)  // never offered
        XCTAssertNil(queue.nextUsed())
        XCTAssertTrue(queue.broken)
        XCTAssertFalse(queue.hasUsed, "a broken queue reports nothing")
    }

    func testOutOfRangeDescriptorIDBreaksTheQueue() {
        queue.offer(0)
        queue.publish()
        deviceUses(8, length: 10)  // the table has 8 entries: 0–7
        XCTAssertNil(queue.nextUsed())
        XCTAssertTrue(queue.broken)
    }

    func testNotificationFollowsTheDevicesNoNotifyFlag() {
        XCTAssertTrue(queue.deviceWantsNotification)
        memory.storeBytes(of: Virtio.Ring.usedNoNotify, toByteOffset: queue.layout.usedOffset, as: UInt16.self)
        XCTAssertFalse(queue.deviceWantsNotification)
    }

    func testSuppressInterruptsSetsTheAvailableRingFlag() {
        queue.suppressInterrupts()
        XCTAssertEqual(memory.load(fromByteOffset: queue.layout.availableOffset, as: UInt16.self),
                       Virtio.Ring.availableNoInterrupt)
    }

    func testNetHeaderSizeFollowsFeatures() {
        XCTAssertEqual(Virtio.NetHeader.size(features: 0), 10)
        XCTAssertEqual(Virtio.NetHeader.size(features: Virtio.Feature.netMergeableRxBuffers), 12)
        XCTAssertEqual(Virtio.NetHeader.size(features: Virtio.Feature.version1), 12)
    }
}
