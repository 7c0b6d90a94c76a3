import SkiffPlatform
import SkiffWire

/// SplitMix64: a small deterministic PRNG for seeded impairments and fuzz-style tests.
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
    /// A value in 0..<bound.
    mutating func next(below bound: Int) -> Int { Int(next() % UInt64(bound)) }
    /// True with probability `percent`/100.
    mutating func chance(_ percent: Int) -> Bool { percent > 0 && next(below: 100) < percent }
}

/// One end of a `MemoryLink`: frames it transmits land in the peer's receive queue.
final class MemoryDevice: NetworkDevice {
    let name: String
    let macAddress: MACAddress
    let mtu: Int
    var isLinkUp = true
    /// Frames waiting to be received, oldest first.
    var receiveQueue: [[UInt8]] = []
    /// Every frame this end transmitted, for assertions.
    var transmitted: [[UInt8]] = []
    /// When set, `transmit` answers `.again` while this many frames wait in the peer's queue.
    var transmitRingSize: Int? = nil
    weak var link: MemoryLink?

    init(name: String, macAddress: MACAddress, mtu: Int) {
        self.name = name
        self.macAddress = macAddress
        self.mtu = mtu
    }

    func receive(budget: Int, _ body: (UnsafeRawBufferPointer) -> Void) -> Int {
        // Taken off the queue before the calls, so a reply sent from `body` cannot disturb it.
        let count = min(budget, receiveQueue.count)
        let frames = Array(receiveQueue.prefix(count))
        receiveQueue.removeFirst(count)
        for frame in frames { frame.withUnsafeBytes { body($0) } }
        return count
    }

    func transmit(length: Int, _ fill: (UnsafeMutableRawBufferPointer) -> Void) -> DeviceResult {
        guard isLinkUp else { return .failed }
        guard length <= mtu + 14 + 8 else { return .invalid }
        if let ring = transmitRingSize, let peer = link?.peer(of: self), peer.receiveQueue.count >= ring {
            return .again
        }
        var frame = [UInt8](repeating: 0, count: length)
        frame.withUnsafeMutableBytes { fill($0) }
        transmitted.append(frame)
        link?.carry(frame, from: self)
        return .ok
    }

    /// Removes and returns the frames transmitted so far.
    func takeTransmitted() -> [[UInt8]] {
        defer { transmitted = [] }
        return transmitted
    }
}

/// Two devices joined back to back. Frames are queued, and optionally dropped, duplicated or
/// reordered with a seeded generator.
final class MemoryLink {
    let a: MemoryDevice
    let b: MemoryDevice
    var dropPercent = 0
    var duplicatePercent = 0
    var reorderPercent = 0
    /// Returns false to drop a frame (after the random impairments), e.g. to lose one fragment.
    var filter: ((_ frame: [UInt8], _ from: MemoryDevice) -> Bool)? = nil
    private var random: SplitMix64

    init(mtu: Int = 1500, seed: UInt64 = 1,
         macA: MACAddress = MACAddress(0x52, 0x54, 0x00, 0x00, 0x00, 0x0a),
         macB: MACAddress = MACAddress(0x52, 0x54, 0x00, 0x00, 0x00, 0x0b)) {
        a = MemoryDevice(name: "memA", macAddress: macA, mtu: mtu)
        b = MemoryDevice(name: "memB", macAddress: macB, mtu: mtu)
        random = SplitMix64(seed: seed)
        a.link = self
        b.link = self
    }

    func peer(of device: MemoryDevice) -> MemoryDevice { device === a ? b : a }

    func carry(_ frame: [UInt8], from device: MemoryDevice) {
        let peer = peer(of: device)
        guard peer.isLinkUp, !random.chance(dropPercent), filter?(frame, device) ?? true else { return }
        let copies = random.chance(duplicatePercent) ? 2 : 1
        for _ in 0..<copies {
            if !peer.receiveQueue.isEmpty && random.chance(reorderPercent) {
                peer.receiveQueue.insert(frame, at: random.next(below: peer.receiveQueue.count))
            } else {
                peer.receiveQueue.append(frame)
            }
        }
    }
}
