// The 8254x legacy descriptor rings (SDM §3.2 receive, §3.3 transmit): the hardware owns the
// descriptors from its head (RDH/TDH) up to, not including, the tail the driver writes
// (RDT/TDT). It reports a finished descriptor by setting DD in the descriptor's status byte.
//
// Buffer i is bound to descriptor i for the ring's life. The receive ring keeps one descriptor
// back (RDT one behind the next descriptor to read), so head == tail only means "empty". What the
// device writes is hostile (STYLE.md): a received length must fit the buffer (the caller checks),
// and a head register read back must lie in the range the driver handed over, else the ring is
// marked `broken`.
//
// Portable: on the host, tests play the device over ordinary memory.
#if os(none)
import SkiffKernelC
#endif

final class E1000ReceiveRing {
    struct Frame: Equatable {
        var index: Int
        var length: Int
        var endOfPacket: Bool
        var errors: UInt8
    }

    let size: Int
    let memory: UnsafeMutableRawPointer
    /// The next descriptor the hardware completes (in order).
    private(set) var next = 0
    private(set) var broken = false

    /// `memory`: size × 16 zeroed bytes, 16-aligned; `size` a multiple of 8. Points descriptor i
    /// at `address(i)`.
    init(size: Int, memory: UnsafeMutableRawPointer, address: (Int) -> UInt64) {
        precondition(size >= E1000.Descriptor.ringLengthMultiple && size % E1000.Descriptor.ringLengthMultiple == 0
                     && size <= 4096, "e1000 ring size must be a multiple of 8, at most 4096")
        self.size = size
        self.memory = memory
        for index in 0..<size {
            // In bounds: index < size; the ring holds size descriptors.
            let entry = memory + index * E1000.Descriptor.size
            let value = address(index)
            SharedMemory.store32(entry, 0, UInt32(truncatingIfNeeded: value))
            SharedMemory.store32(entry, 4, UInt32(truncatingIfNeeded: value >> 32))
            SharedMemory.store32(entry, 8, 0)
            SharedMemory.store32(entry, 12, 0)
        }
    }

    /// The RDT value that hands the hardware every descriptor but the one kept back.
    var tail: Int { next == 0 ? size - 1 : next - 1 }

    private func status(_ index: Int) -> UInt8 {
        // In bounds: index < size.
        UInt8(truncatingIfNeeded: SharedMemory.load32(memory + index * E1000.Descriptor.size, 12))
    }

    var hasFrame: Bool { !broken && status(next) & E1000.ReceiveStatus.descriptorDone != 0 }

    /// The next completed descriptor, if any; give it back with `release` after use.
    func nextFrame() -> Frame? {
        guard hasFrame else { return nil }
        SharedMemory.compilerBarrier()  // DD before the rest of the descriptor
        let entry = memory + next * E1000.Descriptor.size
        let word2 = SharedMemory.load32(entry, 8), word3 = SharedMemory.load32(entry, 12)
        return Frame(index: next, length: Int(word2 & 0xFFFF),
                     endOfPacket: UInt8(truncatingIfNeeded: word3) & E1000.ReceiveStatus.endOfPacket != 0,
                     errors: UInt8(truncatingIfNeeded: word3 >> 8))
    }

    /// Clears the descriptor `nextFrame` returned and moves on; returns the new RDT value.
    func release() -> Int {
        SharedMemory.store32(memory + next * E1000.Descriptor.size, 12, 0)
        next = next + 1 == size ? 0 : next + 1
        return tail
    }

    /// Checks a head value read from RDH: the hardware may only be between the next descriptor to
    /// read and the tail (inclusive: head == tail when every offered buffer is full).
    @discardableResult
    func check(head: UInt32) -> Bool {
        let distance = (Int(head) - next + size) % size
        guard head < UInt32(size), distance <= (tail - next + size) % size else {
            broken = true
            return false
        }
        return true
    }
}

final class E1000TransmitRing {
    let size: Int
    let memory: UnsafeMutableRawPointer
    /// The next descriptor to fill (the TDT value after it is posted is one past it).
    private(set) var tail = 0
    /// The oldest descriptor in flight.
    private(set) var clean = 0
    private(set) var inFlight = 0
    private(set) var broken = false

    /// `memory`: size × 16 zeroed bytes, 16-aligned; `size` a multiple of 8.
    init(size: Int, memory: UnsafeMutableRawPointer) {
        precondition(size >= E1000.Descriptor.ringLengthMultiple && size % E1000.Descriptor.ringLengthMultiple == 0,
                     "e1000 ring size must be a multiple of 8")
        self.size = size
        self.memory = memory
    }

    /// The descriptor (and buffer) the next `post` uses; nil when the ring is full (one
    /// descriptor stays unused so that TDH == TDT means empty).
    var nextFree: Int? { !broken && inFlight < size - 1 ? tail : nil }

    /// Writes a one-descriptor frame (EOP, IFCS, RS) at `nextFree`; returns the new TDT value.
    func post(address: UInt64, length: Int) -> Int {
        precondition(length > 0 && length <= 16288 && inFlight < size - 1, "e1000 transmit out of range")
        // In bounds: tail < size.
        let entry = memory + tail * E1000.Descriptor.size
        SharedMemory.store32(entry, 0, UInt32(truncatingIfNeeded: address))
        SharedMemory.store32(entry, 4, UInt32(truncatingIfNeeded: address >> 32))
        let command = E1000.TransmitCommand.endOfPacket | E1000.TransmitCommand.insertFCS | E1000.TransmitCommand.reportStatus
        SharedMemory.store32(entry, 8, UInt32(length) | UInt32(command) << 24)  // length, CSO 0, CMD
        SharedMemory.store32(entry, 12, 0)                                       // STA, CSS, special
        tail = tail + 1 == size ? 0 : tail + 1
        inFlight += 1
        return tail
    }

    /// Frees descriptors the hardware marked done (DD), oldest first; returns how many.
    @discardableResult
    func reclaim() -> Int {
        var freed = 0
        while inFlight > 0 {
            let entry = memory + clean * E1000.Descriptor.size
            guard SharedMemory.load32(entry, 12) & UInt32(E1000.ReceiveStatus.descriptorDone) != 0 else { break }
            SharedMemory.store32(entry, 12, 0)
            clean = clean + 1 == size ? 0 : clean + 1
            inFlight -= 1
            freed += 1
        }
        return freed
    }

    /// Checks a head value read from TDH: it may only lie between the oldest descriptor in
    /// flight and the tail.
    @discardableResult
    func check(head: UInt32) -> Bool {
        guard head < UInt32(size), (Int(head) - clean + size) % size <= inFlight else {
            broken = true
            return false
        }
        return true
    }
}
