// vmxnet3 rings (vmxnet3_defs.h): the driver fills command rings (the transmit ring, receive rings
// 1 and 2) and the device fills completion rings. Neither side has an index register the other
// reads back: ownership is a generation bit in every entry. The driver writes a descriptor with
// the ring's current generation, last, to hand it over; the device writes a completion entry
// with its own generation, last. Each side flips its generation when its index wraps.
//
// Buffer i of a ring is bound to descriptor i for the ring's life, as in the virtio driver, so a
// completion's descriptor index names its buffer. Completions are hostile input (STYLE.md): a
// descriptor index must lie among those the device owns, and a receive completion must name one
// of this queue's two rings; otherwise the queue is marked `broken` and ignored.
//
// Portable: on the host, tests play the device over ordinary memory (SharedMemory is plain there).
#if os(none)
import SkiffKernelC
#endif

/// One side's position in a ring: the next index and the generation entries there must carry.
struct VMXNET3RingCursor: Equatable {
    let size: Int
    private(set) var index = 0
    private(set) var generation = VMXNET3.Ring.initialGeneration

    init(size: Int) { self.size = size }

    mutating func advance() {
        index += 1
        if index == size {
            index = 0
            generation ^= 1
        }
    }
}

/// The driver's bookkeeping for a ring it fills: where the next descriptor goes, which
/// descriptors the device owns, and how many are free. At most size − 1 are handed over (the
/// Linux driver's rule; it keeps a full ring distinguishable from an empty one for devices that
/// compare producer and consumer indices).
struct VMXNET3CommandRing: Equatable {
    let size: Int
    private(set) var fill: VMXNET3RingCursor
    /// The oldest descriptor the device owns (the Linux driver's next2comp).
    private(set) var completeIndex = 0
    private(set) var outstanding = 0

    init(size: Int) {
        self.size = size
        fill = VMXNET3RingCursor(size: size)
    }

    var free: Int { size - 1 - outstanding }

    /// The slot for the next descriptor, which the caller must then write; nil when full.
    mutating func produce() -> (index: Int, generation: UInt32)? {
        guard free > 0 else { return nil }
        let slot = (index: fill.index, generation: fill.generation)
        fill.advance()
        outstanding += 1
        return slot
    }

    /// The device is done with every descriptor up to and including `index` (devices may skip
    /// descriptors, so more than one can retire at once). Returns how many retired, or nil when
    /// `index` is not a descriptor the device owns.
    mutating func retire(through index: Int) -> Int? {
        guard index >= 0, index < size else { return nil }
        let distance = (index - completeIndex + size) % size
        guard distance < outstanding else { return nil }
        completeIndex = index + 1 == size ? 0 : index + 1
        outstanding -= distance + 1
        return distance + 1
    }
}

/// Reads and writes of ring entries (16 bytes, little-endian dwords) in memory shared with the device.
enum VMXNET3Entry {
    static func store64(_ entry: UnsafeMutableRawPointer, _ offset: Int, _ value: UInt64) {
        SharedMemory.store32(entry, offset, UInt32(truncatingIfNeeded: value))
        SharedMemory.store32(entry, offset + 4, UInt32(truncatingIfNeeded: value >> 32))
    }
}

/// One transmit queue: the transmit ring and its completion ring, both `size` entries.
final class VMXNET3TransmitQueue {
    let size: Int
    let ring: UnsafeMutableRawPointer
    let completions: UnsafeMutableRawPointer
    private(set) var command: VMXNET3CommandRing
    private(set) var completion: VMXNET3RingCursor
    /// True once the device completed a descriptor it did not own.
    private(set) var broken = false

    /// `ring` and `completions`: `size` × 16 zeroed bytes each, 512-aligned; `size` a multiple of 32.
    init(size: Int, ring: UnsafeMutableRawPointer, completions: UnsafeMutableRawPointer) {
        precondition(size >= VMXNET3.Ring.sizeAlignment && size <= VMXNET3.Ring.maximumSize
                     && size % VMXNET3.Ring.sizeAlignment == 0, "vmxnet3 ring size must be a multiple of 32, at most 4096")
        self.size = size
        self.ring = ring
        self.completions = completions
        command = VMXNET3CommandRing(size: size)
        completion = VMXNET3RingCursor(size: size)
    }

    /// The descriptor (and so the buffer) the next `post` uses; nil when the ring is full.
    var nextFree: Int? { command.free > 0 ? command.fill.index : nil }

    /// Hands over a one-descriptor frame in `nextFree`'s buffer; returns the index the device
    /// wants in its TXPROD register (the next descriptor to fill), or nil when the ring is full.
    func post(address: UInt64, length: Int) -> Int? {
        precondition(length > 0 && length <= Int(VMXNET3.TxDescriptor.lengthMask), "vmxnet3 transmit length out of range")
        guard let slot = command.produce() else { return nil }
        // In bounds: slot.index < size, and the ring holds size entries of 16 bytes.
        let entry = ring + slot.index * VMXNET3.Ring.entrySize
        VMXNET3Entry.store64(entry, 0, address)
        SharedMemory.store32(entry, 12, VMXNET3.TxDescriptor.endOfPacket | VMXNET3.TxDescriptor.completionRequest)
        // The generation goes last: until it matches, the device does not look at the rest.
        SharedMemory.compilerBarrier()
        SharedMemory.store32(entry, 8, UInt32(length) | slot.generation << VMXNET3.TxDescriptor.generationShift)
        return command.fill.index
    }

    /// Takes every completion the device wrote; returns how many descriptors became free.
    @discardableResult
    func reclaim() -> Int {
        var freed = 0
        // Bounded: each pass consumes one completion entry, and there are at most `size` new ones.
        for _ in 0..<size {
            guard !broken else { break }
            // In bounds: completion.index < size.
            let entry = completions + completion.index * VMXNET3.Ring.entrySize
            let last = SharedMemory.load32(entry, 12)
            guard last >> VMXNET3.TxCompletion.generationShift == completion.generation else { break }
            SharedMemory.compilerBarrier()  // the generation before the rest of the entry
            let index = Int(SharedMemory.load32(entry, 0) & VMXNET3.TxCompletion.indexMask)
            guard let retired = command.retire(through: index) else {
                broken = true
                break
            }
            freed += retired
            completion.advance()
        }
        return freed
    }
}

/// One receive queue: ring 1 (head buffers), ring 2 (body buffers, for frames larger than a
/// head buffer) and one completion ring as large as both.
final class VMXNET3ReceiveQueue {
    struct Completion: Equatable {
        /// 0 for ring 1, 1 for ring 2.
        var ring: Int
        var index: Int
        var length: Int
        var startOfPacket: Bool
        var endOfPacket: Bool
        var error: Bool
    }

    let sizes: (Int, Int)
    let rings: (UnsafeMutableRawPointer, UnsafeMutableRawPointer)
    let completions: UnsafeMutableRawPointer
    let completionSize: Int
    /// This queue's index and the number of receive queues: completions name ring 2 as
    /// queueIndex + queueCount (vmxnet3_defs.h, rqID).
    let queueIndex = 0
    let queueCount = 1
    private(set) var commands: (VMXNET3CommandRing, VMXNET3CommandRing)
    private(set) var completion: VMXNET3RingCursor
    private(set) var broken = false

    /// Ring memory: size × 16 zeroed bytes each, 512-aligned; sizes multiples of 32.
    init(ring1Size: Int, ring2Size: Int, ring1: UnsafeMutableRawPointer, ring2: UnsafeMutableRawPointer,
         completions: UnsafeMutableRawPointer) {
        for size in [ring1Size, ring2Size] {
            precondition(size >= VMXNET3.Ring.sizeAlignment && size <= VMXNET3.Ring.maximumSize
                         && size % VMXNET3.Ring.sizeAlignment == 0, "vmxnet3 ring size must be a multiple of 32, at most 4096")
        }
        sizes = (ring1Size, ring2Size)
        rings = (ring1, ring2)
        self.completions = completions
        completionSize = ring1Size + ring2Size
        commands = (VMXNET3CommandRing(size: ring1Size), VMXNET3CommandRing(size: ring2Size))
        completion = VMXNET3RingCursor(size: ring1Size + ring2Size)
    }

    /// Where the driver fills ring `ring` next (for the RXPROD registers).
    func fillIndex(_ ring: Int) -> Int { ring == 0 ? commands.0.fill.index : commands.1.fill.index }

    /// Hands every free descriptor of `ring` back to the device, each pointing at its own buffer
    /// (`address(index)`, `length` bytes; ring 1 holds head buffers, ring 2 body buffers).
    /// Returns how many were offered.
    @discardableResult
    func refill(_ ring: Int, length: Int, address: (Int) -> UInt64) -> Int {
        precondition(length > 0 && length <= Int(VMXNET3.RxDescriptor.lengthMask), "vmxnet3 receive buffer length out of range")
        let memory = ring == 0 ? rings.0 : rings.1
        let type = ring == 0 ? 0 : VMXNET3.RxDescriptor.bodyBuffer
        var offered = 0
        while true {
            let produced = ring == 0 ? commands.0.produce() : commands.1.produce()
            guard let slot = produced else { break }
            // In bounds: slot.index < the ring's size.
            let entry = memory + slot.index * VMXNET3.Ring.entrySize
            VMXNET3Entry.store64(entry, 0, address(slot.index))
            SharedMemory.store32(entry, 12, 0)
            SharedMemory.compilerBarrier()  // the generation goes last
            SharedMemory.store32(entry, 8, UInt32(length) | type | slot.generation << VMXNET3.RxDescriptor.generationShift)
            offered += 1
        }
        return offered
    }

    private var currentEntry: UnsafeMutableRawPointer {
        // In bounds: completion.index < completionSize, the completion ring's entry count.
        completions + completion.index * VMXNET3.Ring.entrySize
    }

    /// Whether the device wrote a completion not yet taken.
    var hasCompletion: Bool {
        !broken && SharedMemory.load32(currentEntry, 12) >> VMXNET3.RxCompletion.generationShift == completion.generation
    }

    /// The next completion, its descriptor retired from its ring (refill afterwards). Ring and
    /// index are checked; the length is the caller's to check against its buffer.
    func nextCompletion() -> Completion? {
        guard hasCompletion else { return nil }
        SharedMemory.compilerBarrier()  // the generation before the rest of the entry
        let entry = currentEntry
        let first = SharedMemory.load32(entry, 0)
        let third = SharedMemory.load32(entry, 8)
        let queue = Int((first >> VMXNET3.RxCompletion.queueShift) & VMXNET3.RxCompletion.queueMask)
        let index = Int(first & VMXNET3.RxCompletion.indexMask)
        let ring: Int
        let retired: Int?
        if queue == queueIndex {
            ring = 0
            retired = commands.0.retire(through: index)
        } else if queue == queueIndex + queueCount {
            ring = 1
            retired = commands.1.retire(through: index)
        } else {
            ring = -1
            retired = nil
        }
        guard retired != nil else {
            broken = true
            return nil
        }
        completion.advance()
        return Completion(ring: ring, index: index, length: Int(third & VMXNET3.RxCompletion.lengthMask),
                          startOfPacket: first & VMXNET3.RxCompletion.startOfPacket != 0,
                          endOfPacket: first & VMXNET3.RxCompletion.endOfPacket != 0,
                          error: third & VMXNET3.RxCompletion.error != 0)
    }
}
