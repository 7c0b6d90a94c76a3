import SkiffPlatform
import SkiffWire
import XCTest
@testable import SkiffStack

/// Two stacks over a `MemoryLink` (which drops, duplicates and reorders with its seeded
/// generator) driven by a manual clock: while frames are on the link the clock moves one `hop`
/// per round; when the link is idle it jumps to the earlier deadline either stack returned.
final class TCPSimulation {
    let net: TwoStacks
    var hop = Interval.milliseconds(1)

    init(configuration: StackConfiguration = StackConfiguration(), mtu: Int = 1500, seed: UInt64 = 1) {
        net = TwoStacks(configuration: configuration, mtu: mtu, seed: seed)
    }

    var a: NetworkStack { net.a }
    var b: NetworkStack { net.b }
    var link: MemoryLink { net.link }
    var now: Instant { net.now }

    /// Runs until `condition` holds (true) or `limit` of simulated time passes (false); `body`
    /// runs every round, before the check (the applications' step).
    @discardableResult
    func run(for limit: Interval, until condition: () -> Bool = { false }, body: () -> Void = {}) -> Bool {
        let end = net.now + limit
        // Bounded by simulated time; the round limit guards against a stack that asks to be
        // polled again at the same instant forever.
        var rounds = 0
        while net.now <= end {
            rounds += 1
            if rounds > 5_000_000 { return false }
            let deadlineA = a.poll(now: net.now)
            let deadlineB = b.poll(now: net.now)
            body()
            if condition() { return true }
            if !link.a.receiveQueue.isEmpty || !link.b.receiveQueue.isEmpty
                || !a.loopbackQueue.isEmpty || !b.loopbackQueue.isEmpty {
                net.now = net.now + hop
                continue
            }
            var next: Instant? = deadlineA
            if let deadlineB, next.map({ deadlineB < $0 }) ?? true { next = deadlineB }
            guard let next else {
                // Nothing scheduled: only the applications can move things; give them time.
                net.now = net.now + .milliseconds(100)
                continue
            }
            net.now = next > net.now ? next : net.now + Interval(nanoseconds: 1)
        }
        return condition()
    }

    /// Lets simulated time pass (the timers run).
    func advance(_ interval: Interval) {
        run(for: interval)
    }

    /// Listens on B and connects from A; runs until both ends are established.
    func establish(port: UInt16 = 80, file: StaticString = #filePath, line: UInt = #line) throws -> (client: TCPConnection, server: TCPConnection, listener: TCPListener) {
        let listener = try b.listen(port: port)
        let client = try a.connect(to: TwoStacks.addressB, port: port, now: now)
        var server: TCPConnection? = nil
        let done = run(for: .seconds(30), until: { client.state == .established && server != nil }) {
            if server == nil { server = listener.acceptConnection() }
        }
        XCTAssertTrue(done, "handshake did not complete", file: file, line: line)
        return (client, try XCTUnwrap(server, file: file, line: line), listener)
    }
}

/// Reads everything available from `connection` into `sink`; returns the last result.
@discardableResult
func drain(_ connection: TCPConnection, into sink: inout [UInt8], limit: Int = Int.max) -> StreamReadResult {
    var last = StreamReadResult.wouldBlock
    // Bounded: each pass consumes bytes or stops.
    for _ in 0..<10_000 {
        let room = limit - sink.count
        guard room > 0 else { return last }
        last = connection.read { bytes in
            let n = min(room, bytes.count)
            sink.append(contentsOf: bytes[0..<n])
            return n
        }
        guard case .consumed(let n) = last, n > 0 else { return last }
    }
    return last
}

/// A TCP segment taken off the wire.
struct WireSegment {
    var ip: IPv4Header
    var tcp: TCPHeader
    var payload: [UInt8]

    var seq: UInt32 { tcp.sequenceNumber }
    var ack: UInt32 { tcp.acknowledgmentNumber }
    var flags: TCPFlags { tcp.flags }
    var timestamp: (value: UInt32, echoReply: UInt32)? {
        for case .timestamps(let value, let echo) in tcp.options { return (value, echo) }
        return nil
    }
    var sackBlocks: [TCPSACKBlock] {
        for case .sack(let blocks) in tcp.options { return blocks }
        return []
    }
    var mss: UInt16? {
        for case .maximumSegmentSize(let mss) in tcp.options { return mss }
        return nil
    }
    var windowScale: UInt8? {
        for case .windowScale(let shift) in tcp.options { return shift }
        return nil
    }
    var sackPermitted: Bool { tcp.options.contains(.sackPermitted) }

    init?(frame: [UInt8]) {
        guard let decoded = DecodedFrame(frame), let ip = decoded.ip, ip.protocolNumber == IPProtocol.tcp else { return nil }
        let bytes = decoded.ipPayload
        guard let header = bytes.withUnsafeBytes({ try? TCPHeader.parse($0, pseudoHeader: (ip.source, ip.destination)) }) else { return nil }
        self.ip = ip
        tcp = header
        payload = Array(bytes[header.headerLength...])
    }
}

func wireSegments(_ frames: [[UInt8]]) -> [WireSegment] { frames.compactMap { WireSegment(frame: $0) } }

/// One stack (198.18.0.2 on `link.b`) and a scripted peer (198.18.0.1 on `link.a`) that injects
/// hand-built segments and reads what the stack sends: for the state machine's rules.
final class TCPPeerHarness {
    static let peer = IPv4Address(198, 18, 0, 1)
    static let local = IPv4Address(198, 18, 0, 2)

    let link: MemoryLink
    let stack: NetworkStack
    var now = Instant(nanoseconds: 1_000_000_000)

    init(configuration: StackConfiguration = StackConfiguration(), mtu: Int = 1500,
         peerMAC: MACAddress = MACAddress(0x52, 0x54, 0x00, 0x00, 0x00, 0x0a),
         localMAC: MACAddress = MACAddress(0x52, 0x54, 0x00, 0x00, 0x00, 0x0b)) {
        link = MemoryLink(mtu: mtu, macA: peerMAC, macB: localMAC)
        stack = NetworkStack(configuration: configuration)
        let interface = stack.addInterface(link.b)
        stack.addAddress(IPv4CIDR(address: Self.local, prefixLength: 24), to: interface, now: now)
        stack.addStaticARPEntry(Self.peer, mac: link.a.macAddress, on: interface, now: now)
        _ = stack.poll(now: now)
        _ = link.b.takeTransmitted()
        link.a.receiveQueue.removeAll()
    }

    /// Builds a frame from the peer with a correct checksum.
    func frame(sourcePort: UInt16 = 40000, destinationPort: UInt16 = 80, seq: UInt32, ack: UInt32 = 0,
               flags: TCPFlags, window: UInt16 = 65535, options: [TCPOption] = [], payload: [UInt8] = []) -> [UInt8] {
        var packet = PacketBuffer(payload)
        TCPHeader(sourcePort: sourcePort, destinationPort: destinationPort, sequenceNumber: seq,
                  acknowledgmentNumber: ack, flags: flags, window: window, options: options)
            .prepend(to: &packet, source: Self.peer, destination: Self.local)
        return ipv4Frame(from: Self.peer, to: Self.local, protocolNumber: IPProtocol.tcp, payload: packet.bytes,
                         sourceMAC: link.a.macAddress, destinationMAC: link.b.macAddress)
    }

    /// Delivers a segment from the peer and returns what the stack sent in answer.
    @discardableResult
    func send(sourcePort: UInt16 = 40000, destinationPort: UInt16 = 80, seq: UInt32, ack: UInt32 = 0,
              flags: TCPFlags, window: UInt16 = 65535, options: [TCPOption] = [], payload: [UInt8] = []) -> [WireSegment] {
        deliver(frame(sourcePort: sourcePort, destinationPort: destinationPort, seq: seq, ack: ack, flags: flags,
                      window: window, options: options, payload: payload))
    }

    func deliver(_ frame: [UInt8]) -> [WireSegment] {
        link.b.receiveQueue.append(frame)
        _ = stack.poll(now: now)
        return take()
    }

    /// What the stack sent since the last call.
    func take() -> [WireSegment] {
        link.a.receiveQueue.removeAll()
        return wireSegments(link.b.takeTransmitted())
    }

    /// Moves the clock and polls; returns what the stack sent.
    func advance(_ interval: Interval) -> [WireSegment] {
        now = now + interval
        _ = stack.poll(now: now)
        return take()
    }

    /// Polls at the stack's deadlines until `interval` has passed; returns what was sent, with times.
    func runTimers(for interval: Interval) -> [(Instant, WireSegment)] {
        let end = now + interval
        var sent: [(Instant, WireSegment)] = []
        // Bounded by the deadline count: each pass moves the clock forward.
        for _ in 0..<100_000 {
            guard let deadline = stack.poll(now: now), deadline <= end else { break }
            for segment in take() { sent.append((now, segment)) }
            now = deadline > now ? deadline : now + Interval(nanoseconds: 1)
            _ = stack.poll(now: now)
            for segment in take() { sent.append((now, segment)) }
        }
        now = end
        _ = stack.poll(now: now)
        for segment in take() { sent.append((now, segment)) }
        return sent
    }

    /// The options a Linux SYN carries: MSS 1460, SACK-permitted, timestamps, NOP, window scale 7.
    static func linuxSYNOptions(tsval: UInt32 = 1000) -> [TCPOption] {
        [.maximumSegmentSize(1460), .sackPermitted, .timestamps(value: tsval, echoReply: 0), .noOperation, .windowScale(7)]
    }

    /// Completes a passive open on `port` with the peer's ISN `peerISN`; returns the accepted
    /// connection and the stack's ISN. With `options` nil the peer offers none.
    func acceptConnection(listener: TCPListener, port: UInt16 = 80, sourcePort: UInt16 = 40000, peerISN: UInt32 = 1000,
                          options: [TCPOption]? = nil, file: StaticString = #filePath, line: UInt = #line) throws -> (TCPConnection, UInt32) {
        let answer = send(sourcePort: sourcePort, destinationPort: port, seq: peerISN, flags: .syn, options: options ?? [])
        let synAck = try XCTUnwrap(answer.first, "no SYN-ACK", file: file, line: line)
        XCTAssertEqual(synAck.flags, [.syn, .ack], file: file, line: line)
        var ackOptions: [TCPOption] = []
        if let ts = synAck.timestamp { ackOptions = [.noOperation, .noOperation, .timestamps(value: 1001, echoReply: ts.value)] }
        send(sourcePort: sourcePort, destinationPort: port, seq: peerISN + 1, ack: synAck.seq + 1, flags: .ack, options: ackOptions)
        let connection = try XCTUnwrap(listener.acceptConnection(), "not accepted", file: file, line: line)
        return (connection, synAck.seq)
    }
}
