// A split virtqueue (virtio 1.2 §2.7): the descriptor table, the available ring (driver → device)
// and the used ring (device → driver) in one physically contiguous, zeroed block laid out the
// legacy way (§2.7.2), which legacy and modern devices both accept.
//
// The driver binds descriptor i to buffer i for the queue's life, so a descriptor's ID names its
// buffer. Everything the device writes is hostile (STYLE.md, Firecracker's queue.rs): the used
// index may not run ahead of what was made available, and a used element's ID and length are
// checked before use. A device that breaks these rules is marked `broken` and ignored.
//
// Portable: on the host, tests play the device over ordinary memory.
#if os(none)
import SkiffKernelC
#endif

/// Loads and stores of memory a device shares: volatile on the kernel, plain on the host.
enum SharedMemory {
    @inline(__always) static func load16(_ base: UnsafeMutableRawPointer, _ offset: Int) -> UInt16 {
        #if os(none)
        return skiff_mmio_read16(base + offset)
        #else
        return base.load(fromByteOffset: offset, as: UInt16.self)
        #endif
    }
    @inline(__always) static func load32(_ base: UnsafeMutableRawPointer, _ offset: Int) -> UInt32 {
        #if os(none)
        return skiff_mmio_read32(base + offset)
        #else
        return base.load(fromByteOffset: offset, as: UInt32.self)
        #endif
    }
    @inline(__always) static func store16(_ base: UnsafeMutableRawPointer, _ offset: Int, _ value: UInt16) {
        #if os(none)
        skiff_mmio_write16(base + offset, value)
        #else
        base.storeBytes(of: value, toByteOffset: offset, as: UInt16.self)
        #endif
    }
    @inline(__always) static func store32(_ base: UnsafeMutableRawPointer, _ offset: Int, _ value: UInt32) {
        #if os(none)
        skiff_mmio_write32(base + offset, value)
        #else
        base.storeBytes(of: value, toByteOffset: offset, as: UInt32.self)
        #endif
    }
    /// Orders earlier stores before later loads (and keeps the compiler from moving either).
    @inline(__always) static func fence() {
        #if os(none)
        skiff_memory_fence()
        #endif
    }
    /// Keeps the compiler from moving memory accesses across this point.
    @inline(__always) static func compilerBarrier() {
        #if os(none)
        skiff_compiler_barrier()
        #endif
    }
}

final class VirtioQueue {
    /// Where the three parts of a queue of `size` entries lie in its block (§2.7.2).
    struct Layout: Equatable {
        var size: Int
        var availableOffset: Int
        var usedOffset: Int
        var totalBytes: Int

        init(size: Int) {
            self.size = size
            availableOffset = size * Virtio.Ring.descriptorSize
            let availableEnd = availableOffset + 6 + 2 * size          // flags, idx, ring, used_event
            let alignment = Virtio.Ring.legacyAlignment
            usedOffset = (availableEnd + alignment - 1) / alignment * alignment
            totalBytes = usedOffset + 6 + Virtio.Ring.usedElementSize * size  // flags, idx, ring, avail_event
        }
    }

    let index: UInt16
    let layout: Layout
    let memory: UnsafeMutableRawPointer
    var size: Int { layout.size }
    private var descriptors: UnsafeMutableRawPointer { memory }
    private var available: UnsafeMutableRawPointer { memory + layout.availableOffset }
    private var used: UnsafeMutableRawPointer { memory + layout.usedOffset }

    /// The driver's copy of avail->idx and how far the used ring has been read (§2.7.6, §2.7.8).
    private(set) var availableIndex: UInt16 = 0
    private(set) var lastUsedIndex: UInt16 = 0
    /// True once the device returned an index or element that cannot be right.
    private(set) var broken = false

    /// `memory`: `Layout(size:).totalBytes` zeroed bytes, 4096-aligned; `size` a power of two.
    init(index: UInt16, size: Int, memory: UnsafeMutableRawPointer) {
        precondition(size > 0 && size <= 32768 && size & (size - 1) == 0, "virtqueue size must be a power of two")
        self.index = index
        self.layout = Layout(size: size)
        self.memory = memory
    }

    var descriptorTableAddress: UInt64 { UInt64(UInt(bitPattern: descriptors)) }
    var availableRingAddress: UInt64 { UInt64(UInt(bitPattern: available)) }
    var usedRingAddress: UInt64 { UInt64(UInt(bitPattern: used)) }

    /// §2.7.5: struct virtq_desc { le64 addr; le32 len; le16 flags; le16 next; }.
    func setDescriptor(_ id: Int, address: UInt64, length: UInt32, flags: UInt16) {
        precondition(id >= 0 && id < size, "descriptor index outside the table")
        let entry = descriptors + id * Virtio.Ring.descriptorSize
        entry.storeBytes(of: address, toByteOffset: 0, as: UInt64.self)
        entry.storeBytes(of: length, toByteOffset: 8, as: UInt32.self)
        entry.storeBytes(of: flags, toByteOffset: 12, as: UInt16.self)
        entry.storeBytes(of: 0, toByteOffset: 14, as: UInt16.self)
    }

    func setDescriptorLength(_ id: Int, _ length: UInt32) {
        precondition(id >= 0 && id < size, "descriptor index outside the table")
        (descriptors + id * Virtio.Ring.descriptorSize).storeBytes(of: length, toByteOffset: 8, as: UInt32.self)
    }

    /// Asks the device not to interrupt when it uses buffers (§2.7.7; a hint it may ignore).
    func suppressInterrupts() {
        SharedMemory.store16(available, 0, Virtio.Ring.availableNoInterrupt)
    }

    /// Puts descriptor `id` in the next available slot; the device sees it after `publish()`.
    func offer(_ id: Int) {
        precondition(id >= 0 && id < size, "descriptor index outside the table")
        let slot = Int(availableIndex) & (size - 1)
        SharedMemory.store16(available, 4 + 2 * slot, UInt16(id))
        availableIndex &+= 1
    }

    /// Publishes the offered descriptors (§2.7.13.2: the ring entries before the index).
    func publish() {
        SharedMemory.compilerBarrier()
        SharedMemory.store16(available, 2, availableIndex)
    }

    /// Whether the device wants to be told about new buffers (§2.7.13.3: after a full fence, the
    /// used ring's NO_NOTIFY flag).
    var deviceWantsNotification: Bool {
        SharedMemory.fence()
        return SharedMemory.load16(used, 0) & Virtio.Ring.usedNoNotify == 0
    }

    /// Whether the device has returned buffers not yet taken.
    var hasUsed: Bool {
        !broken && SharedMemory.load16(used, 2) != lastUsedIndex
    }

    /// The next used element: the descriptor ID and the bytes the device wrote. IDs are checked
    /// against the table and the index against the ring; lengths are the caller's to check.
    func nextUsed() -> (id: Int, length: Int)? {
        guard !broken else { return nil }
        let deviceIndex = SharedMemory.load16(used, 2)
        guard deviceIndex != lastUsedIndex else { return nil }
        // The device can have used at most what was made available.
        let outstanding = deviceIndex &- lastUsedIndex
        guard Int(outstanding) <= size, outstanding <= availableIndex &- lastUsedIndex else {
            broken = true
            return nil
        }
        SharedMemory.compilerBarrier()  // §2.7.13: read the index before the element
        let slot = Int(lastUsedIndex) & (size - 1)
        let element = 4 + Virtio.Ring.usedElementSize * slot
        let id = SharedMemory.load32(used, element)
        let length = SharedMemory.load32(used, element + 4)
        lastUsedIndex &+= 1
        guard id < UInt32(size) else {
            broken = true
            return nil
        }
        return (Int(id), Int(length))
    }
}
