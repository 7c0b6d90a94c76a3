import SkiffPlatform
import SkiffWire
import SkiffStack
import SkiffServices
import XCTest

/// One end of a back-to-back link that drops a seeded share of frames.
private final class LossyDevice: NetworkDevice {
    let name: String
    let macAddress: MACAddress
    let mtu = 1500
    let isLinkUp = true
    var queue: [[UInt8]] = []
    weak var peer: LossyDevice?
    var dropPercent = 0
    var random: UInt64

    init(name: String, mac: MACAddress, seed: UInt64) {
        self.name = name
        self.macAddress = mac
        random = seed
    }

    func receive(budget: Int, _ body: (UnsafeRawBufferPointer) -> Void) -> Int {
        let count = min(budget, queue.count)
        let frames = Array(queue.prefix(count))
        queue.removeFirst(count)
        for frame in frames { frame.withUnsafeBytes { body($0) } }
        return count
    }

    func transmit(length: Int, _ fill: (UnsafeMutableRawBufferPointer) -> Void) -> DeviceResult {
        guard length <= mtu + 18 else { return .invalid }
        var frame = [UInt8](repeating: 0, count: length)
        frame.withUnsafeMutableBytes { fill($0) }
        random = random &* 6364136223846793005 &+ 1442695040888963407
        if dropPercent > 0 && Int((random >> 33) % 100) < dropPercent { return .ok }
        peer?.queue.append(frame)
        return .ok
    }
}

/// A client stack (198.18.0.1) and a server stack (198.18.0.2) running `TCPEchoService` on port 7,
/// back to back, on a manual clock: one millisecond per round while frames are on the link, else
/// a jump to the earliest deadline of the stacks and the service.
private final class EchoNet {
    static let clientAddress = IPv4Address(198, 18, 0, 1)
    static let serverAddress = IPv4Address(198, 18, 0, 2)
    let clientDevice: LossyDevice
    let serverDevice: LossyDevice
    let client: NetworkStack
    let server: NetworkStack
    let echo: TCPEchoService
    var now = Instant(nanoseconds: 1_000_000_000)

    init(maxConnections: Int = 64, idleTimeout: Interval = .seconds(300), dropPercent: Int = 0, seed: UInt64 = 7) throws {
        clientDevice = LossyDevice(name: "client0", mac: MACAddress(0x02, 0, 0, 0, 0, 0x01), seed: seed)
        serverDevice = LossyDevice(name: "server0", mac: MACAddress(0x02, 0, 0, 0, 0, 0x02), seed: seed &+ 1)
        clientDevice.peer = serverDevice
        serverDevice.peer = clientDevice
        clientDevice.dropPercent = dropPercent
        serverDevice.dropPercent = dropPercent
        client = NetworkStack(configuration: StackConfiguration())
        server = NetworkStack(configuration: StackConfiguration())
        let clientInterface = client.addInterface(clientDevice)
        let serverInterface = server.addInterface(serverDevice)
        client.addAddress(IPv4CIDR(address: Self.clientAddress, prefixLength: 24), to: clientInterface, now: now)
        server.addAddress(IPv4CIDR(address: Self.serverAddress, prefixLength: 24), to: serverInterface, now: now)
        echo = try TCPEchoService(stack: server, maxConnections: maxConnections, idleTimeout: idleTimeout)
    }

    /// Runs the loop until `condition` holds or `limit` of simulated time passes; `body` is the
    /// client application's step.
    @discardableResult
    func run(for limit: Interval, until condition: () -> Bool = { false }, body: () -> Void = {}) -> Bool {
        let end = now + limit
        var rounds = 0
        while now <= end {
            rounds += 1
            if rounds > 2_000_000 { return false }
            let a = client.poll(now: now)
            var b = server.poll(now: now)
            if let wanted = echo.step(now: now) { b = min(b ?? wanted, wanted) }
            body()
            if condition() { return true }
            if !clientDevice.queue.isEmpty || !serverDevice.queue.isEmpty || b == now {
                now = now + .milliseconds(1)
                continue
            }
            var next = a
            if let b, next.map({ b < $0 }) ?? true { next = b }
            let jump = next.map { $0 > now ? $0 : now + .milliseconds(1) } ?? now + .milliseconds(100)
            // Never past the end: the caller may change what the client does after this run.
            now = min(jump, end + .milliseconds(1))
        }
        return condition()
    }

    func connect() throws -> TCPConnection {
        let connection = try client.connect(to: Self.serverAddress, port: 7, now: now)
        XCTAssertTrue(run(for: .seconds(10), until: { connection.state == .established }), "no handshake")
        return connection
    }
}

/// Deterministic test bytes.
private func pattern(_ count: Int, seed: UInt64 = 862) -> [UInt8] {
    var state = seed
    var bytes = [UInt8](repeating: 0, count: count)
    for i in bytes.indices {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        bytes[i] = UInt8(truncatingIfNeeded: state >> 33)
    }
    return bytes
}

/// A client that writes `data` as fast as its send buffer allows, reads the echo, and sends FIN
/// after the last byte.
private final class EchoClient {
    let connection: TCPConnection
    let data: [UInt8]
    var sent = 0
    var received: [UInt8] = []
    var ended = false
    var reset = false
    var reading = true

    init(_ connection: TCPConnection, data: [UInt8]) {
        self.connection = connection
        self.data = data
    }

    func step() {
        if sent < data.count {
            let n = data.withUnsafeBytes { connection.write(UnsafeRawBufferPointer(rebasing: $0[sent...])) }
            if n > 0 { sent += n }
            if sent == data.count { connection.shutdownWrite() }
        }
        guard reading else { return }
        for _ in 0..<64 {
            let result = connection.read { bytes in
                received.append(contentsOf: bytes)
                return bytes.count
            }
            switch result {
            case .consumed(let n): if n == 0 { return }
            case .endOfStream: ended = true; return
            case .reset: reset = true; return
            case .wouldBlock: return
            }
        }
    }
}

final class TCPEchoServiceTests: XCTestCase {
    func testRFC862EchoesEveryByteInOrderThenClosesAfterPeerFIN() throws {
        let net = try EchoNet()
        XCTAssertEqual(net.echo.port, 7)
        let data = pattern(1_000_000)
        let client = EchoClient(try net.connect(), data: data)
        XCTAssertTrue(net.run(for: .seconds(60), until: { client.ended }, body: client.step), "echo did not finish")
        XCTAssertEqual(client.received.count, data.count)
        XCTAssertTrue(client.received == data, "the echo differs from what was sent")
        XCTAssertEqual(net.echo.statistics.accepted, 1)
        XCTAssertEqual(net.echo.statistics.closed, 1)
        XCTAssertEqual(net.echo.statistics.bytes, data.count)
        XCTAssertEqual(net.echo.statistics.openConnections, 0)
        // The server closed passively (the client's FIN came first): nothing is left on its side.
        net.run(for: .seconds(5), until: { net.server.tcpConnectionCount == 0 })
        XCTAssertEqual(net.server.tcpConnectionCount, 0)
        XCTAssertEqual(client.connection.state, .timeWait)
    }

    func testFINRightAfterSmallWriteStillEchoesEverything() throws {
        let net = try EchoNet()
        let client = EchoClient(try net.connect(), data: Array("hello, echo\n".utf8))
        client.step() // write and FIN in one go
        XCTAssertTrue(net.run(for: .seconds(10), until: { client.ended }, body: client.step))
        XCTAssertEqual(client.received, Array("hello, echo\n".utf8))
    }

    func testHalfClosedClientKeepsReceivingUntilTheEchoIsComplete() throws {
        // The client's FIN arrives while most of the echo is still to come: the service keeps
        // echoing what it had read and sends its FIN only after the last byte.
        let net = try EchoNet()
        let data = pattern(200_000, seed: 3)
        let client = EchoClient(try net.connect(), data: data)
        client.reading = false
        net.run(for: .seconds(5), until: { client.sent == data.count && net.echo.statistics.bytes > 0 }, body: client.step)
        XCTAssertEqual(client.sent, data.count, "the FIN should be queued before the echo is read")
        XCTAssertLessThan(client.received.count, data.count / 2)
        client.reading = true
        XCTAssertTrue(net.run(for: .seconds(60), until: { client.ended }, body: client.step))
        XCTAssertTrue(client.received == data)
    }

    func testBackpressureAClientThatDoesNotReadStallsTheEchoWithoutBuffering() throws {
        let net = try EchoNet()
        let data = pattern(2_000_000, seed: 5)
        let client = EchoClient(try net.connect(), data: data)
        client.reading = false
        net.run(for: .seconds(20), body: client.step)
        // Bounded by the windows: the server's send buffer, the client's receive buffer, and the
        // server's receive buffer with the client's send buffer upstream. Nothing else holds bytes.
        let buffer = StackConfiguration().tcpSendBufferSize
        XCTAssertLessThanOrEqual(net.echo.statistics.bytes, 2 * buffer, "echoed beyond what the windows allow")
        XCTAssertLessThan(client.sent, data.count, "the client's writes should be stalled")
        XCTAssertLessThanOrEqual(client.sent, 4 * buffer + 4096)
        XCTAssertEqual(client.connection.writableBytes, 0)
        // Reading again lets everything through.
        client.reading = true
        XCTAssertTrue(net.run(for: .seconds(120), until: { client.ended }, body: client.step))
        XCTAssertTrue(client.received == data)
    }

    func testLossyLinkEchoCompletesIntact() throws {
        let net = try EchoNet(dropPercent: 3, seed: 11)
        let data = pattern(200_000, seed: 9)
        let client = EchoClient(try net.connect(), data: data)
        XCTAssertTrue(net.run(for: .seconds(600), until: { client.ended }, body: client.step), "echo did not finish")
        XCTAssertTrue(client.received == data)
        XCTAssertGreaterThan(net.client.statistics.tcpRetransmittedSegments + net.server.statistics.tcpRetransmittedSegments, 0)
    }

    func testConnectionsBeyondTheLimitWaitInTheBacklog() throws {
        let net = try EchoNet(maxConnections: 2)
        let clients = try (0..<3).map { _ in EchoClient(try net.connect(), data: Array("x".utf8)) }
        for client in clients { client.reading = false }
        net.run(for: .seconds(1))
        XCTAssertEqual(net.echo.statistics.accepted, 2)
        XCTAssertEqual(net.echo.statistics.openConnections, 2)
        // The first two finish; then the third is served.
        for client in clients { client.reading = true }
        XCTAssertTrue(net.run(for: .seconds(10), until: { clients.allSatisfy { $0.ended } }) {
            for client in clients { client.step() }
        })
        for client in clients { XCTAssertEqual(client.received, Array("x".utf8)) }
        XCTAssertEqual(net.echo.statistics.accepted, 3)
        XCTAssertEqual(net.echo.statistics.closed, 3)
    }

    func testPeerResetIsCountedAndDropped() throws {
        let net = try EchoNet()
        var lines: [String] = []
        net.echo.log = { lines.append($0) }
        let connection = try net.connect()
        net.run(for: .milliseconds(50))
        XCTAssertEqual(net.echo.statistics.openConnections, 1)
        connection.abort()
        net.run(for: .seconds(1), until: { net.echo.statistics.openConnections == 0 })
        XCTAssertEqual(net.echo.statistics.resets, 1)
        XCTAssertEqual(net.echo.statistics.openConnections, 0)
        XCTAssertEqual(lines.count, 1)
        XCTAssertTrue(lines.first?.hasSuffix("reset by peer") ?? false, "\(lines)")
    }

    func testIdleConnectionIsAbortedAfterTheTimeout() throws {
        let net = try EchoNet(idleTimeout: .seconds(10))
        let client = EchoClient(try net.connect(), data: [])
        net.run(for: .seconds(5), body: client.step)
        XCTAssertEqual(net.echo.statistics.openConnections, 1)
        XCTAssertTrue(net.run(for: .seconds(10), until: { client.reset }, body: client.step))
        XCTAssertEqual(net.echo.statistics.idleTimeouts, 1)
        XCTAssertEqual(net.echo.statistics.openConnections, 0)
    }

    func testStepReportsNoDeadlineWhenIdleAndTheIdleTimerWhenServing() throws {
        let net = try EchoNet(idleTimeout: .seconds(30))
        XCTAssertNil(net.echo.step(now: net.now))
        let connection = try net.connect()
        net.run(for: .milliseconds(10))
        let deadline = try XCTUnwrap(net.echo.step(now: net.now))
        XCTAssertEqual(connection.state, .established)
        XCTAssertGreaterThan(deadline, net.now)
        XCTAssertLessThanOrEqual(deadline, net.now + .seconds(30))
    }

    func testCloseStopsListening() throws {
        let net = try EchoNet()
        net.echo.close()
        XCTAssertNoThrow(try net.server.listen(port: 7))
    }
}
