import SkiffPlatform
import SkiffWire
import XCTest
@testable import SkiffStack

/// Two stacks: handshake, data both ways, the orderly closes (RFC 9293 §3.6), buffers and windows.
final class TCPTransferTests: XCTestCase {
    func testHandshakeEstablishesBothEnds() throws {
        let sim = TCPSimulation()
        let (client, server, _) = try sim.establish()
        XCTAssertEqual(client.state, .established)
        XCTAssertEqual(server.state, .established)
        XCTAssertEqual(server.remotePort, client.localPort)
        XCTAssertEqual(server.remoteAddress, TwoStacks.addressA)
        XCTAssertTrue(TCPTables.ephemeralPorts.contains(client.localPort))
        XCTAssertTrue(client.usesTimestamps && client.usesSACK && client.usesWindowScaling)
        XCTAssertEqual(client.maximumSegmentSize, 1460)
        XCTAssertEqual(sim.a.statistics.tcpActiveOpens, 1)
        XCTAssertEqual(sim.b.statistics.tcpPassiveOpens, 1)
    }

    func testEstablishedTransfersDataBothWays() throws {
        let sim = TCPSimulation()
        let (client, server, _) = try sim.establish()
        let request = pattern(3000, seed: 1)
        XCTAssertEqual(request.withUnsafeBytes { client.write($0) }, 3000)
        var got: [UInt8] = []
        XCTAssertTrue(sim.run(for: .seconds(5), until: { got.count == 3000 }) { drain(server, into: &got) })
        XCTAssertEqual(got, request)
        let reply = pattern(100_000, seed: 2)
        var offset = 0
        var back: [UInt8] = []
        XCTAssertTrue(sim.run(for: .seconds(30), until: { back.count == reply.count }) {
            if offset < reply.count {
                offset += reply[offset...].withUnsafeBytes { max(0, server.write($0)) }
            }
            drain(client, into: &back)
        })
        XCTAssertEqual(back, reply)
        XCTAssertEqual(client.unacknowledgedBytes, 0)
        XCTAssertTrue(sim.run(for: .seconds(5), until: { server.unacknowledgedBytes == 0 }))
    }

    func testActiveCloseGoesThroughFinWaitToTimeWait() throws {
        var configuration = StackConfiguration()
        configuration.tcpMaximumSegmentLifetime = .seconds(10)
        let sim = TCPSimulation(configuration: configuration)
        let (client, server, _) = try sim.establish()
        client.shutdownWrite()
        XCTAssertEqual(client.state, .finWait1)
        XCTAssertTrue(sim.run(for: .seconds(2), until: { server.state == .closeWait && client.state == .finWait2 }))
        var sink: [UInt8] = []
        XCTAssertEqual(drain(server, into: &sink), .endOfStream)
        XCTAssertEqual(client.read { _ in 0 }, .wouldBlock)
        server.close()
        XCTAssertEqual(server.state, .lastAck)
        XCTAssertTrue(sim.run(for: .seconds(2), until: { client.state == .timeWait && server.state == .closed }))
        XCTAssertEqual(client.read { _ in 0 }, .endOfStream)
        XCTAssertEqual(sim.b.tcpConnectionCount, 0)
        XCTAssertEqual(sim.a.tcpConnectionCount, 1)
    }

    func testTimeWaitExpiresAfter2MSL() throws {
        var configuration = StackConfiguration()
        configuration.tcpMaximumSegmentLifetime = .seconds(10)
        let sim = TCPSimulation(configuration: configuration)
        let (client, server, _) = try sim.establish()
        client.close()
        server.close()
        XCTAssertTrue(sim.run(for: .seconds(2), until: { client.state == .timeWait }))
        let entered = sim.now
        XCTAssertTrue(sim.run(for: .seconds(60), until: { client.state == .closed }))
        let waited = sim.now - entered
        XCTAssertGreaterThanOrEqual(waited, .seconds(20) + Interval(nanoseconds: -2_000_000))
        XCTAssertLessThanOrEqual(waited, .seconds(20) + .milliseconds(10))
        XCTAssertEqual(sim.a.statistics.tcpTimeWaitExpired, 1)
        XCTAssertEqual(sim.a.tcpConnectionCount, 0)
    }

    func testPassiveCloseGoesThroughCloseWaitAndLastAck() throws {
        let sim = TCPSimulation()
        let (client, server, _) = try sim.establish()
        server.close()
        XCTAssertEqual(server.state, .finWait1)
        XCTAssertTrue(sim.run(for: .seconds(2), until: { client.state == .closeWait }))
        XCTAssertEqual(client.read { _ in 0 }, .endOfStream)
        client.close()
        XCTAssertEqual(client.state, .lastAck)
        XCTAssertTrue(sim.run(for: .seconds(2), until: { client.state == .closed && server.state == .timeWait }))
        XCTAssertNil(client.closeReason)
    }

    func testSimultaneousClose() throws {
        let sim = TCPSimulation()
        let (client, server, _) = try sim.establish()
        client.close()
        server.close()
        XCTAssertEqual(client.state, .finWait1)
        XCTAssertEqual(server.state, .finWait1)
        var sawClosing = false
        XCTAssertTrue(sim.run(for: .seconds(5), until: { client.state == .timeWait && server.state == .timeWait }) {
            if client.state == .closing || server.state == .closing { sawClosing = true }
        })
        XCTAssertTrue(sawClosing)
    }

    func testHalfCloseStillReceives() throws {
        let sim = TCPSimulation()
        let (client, server, _) = try sim.establish()
        client.shutdownWrite()
        XCTAssertEqual(client.write([1]), -1)
        XCTAssertTrue(sim.run(for: .seconds(2), until: { client.state == .finWait2 }))
        XCTAssertEqual(server.write(pattern(5000)), 5000)
        var got: [UInt8] = []
        XCTAssertTrue(sim.run(for: .seconds(5), until: { got.count == 5000 }) { drain(client, into: &got) })
        XCTAssertEqual(got, pattern(5000))
    }

    func testSimultaneousOpen() throws {
        let sim = TCPSimulation()
        let a = try sim.a.connect(to: TwoStacks.addressB, port: 5000, from: nil, localPort: 6000, now: sim.now)
        let b = try sim.b.connect(to: TwoStacks.addressA, port: 6000, from: nil, localPort: 5000, now: sim.now)
        var sawSynReceived = false
        XCTAssertTrue(sim.run(for: .seconds(10), until: { a.state == .established && b.state == .established }) {
            if a.state == .synReceived || b.state == .synReceived { sawSynReceived = true }
        })
        XCTAssertTrue(sawSynReceived)
        XCTAssertEqual(a.write([1, 2, 3]), 3)
        var got: [UInt8] = []
        XCTAssertTrue(sim.run(for: .seconds(2), until: { got.count == 3 }) { drain(b, into: &got) })
        XCTAssertEqual(got, [1, 2, 3])
    }

    func testReceiverZeroWindowThenUpdate() throws {
        var configuration = StackConfiguration()
        configuration.tcpReceiveBufferSize = 4 * 1448
        let sim = TCPSimulation(configuration: configuration)
        let (client, server, _) = try sim.establish()
        let data = pattern(20_000, seed: 9)
        var offset = 0
        sim.run(for: .seconds(3)) {
            if offset < data.count { offset += data[offset...].withUnsafeBytes { max(0, client.write($0)) } }
        }
        // The receiver's buffer is full and nothing was read: the sender holds the rest.
        XCTAssertEqual(server.block.receiveBuffer.count, 4 * 1448)
        XCTAssertEqual(server.block.receiveWindow, 0)
        XCTAssertEqual(client.block.sndWnd, 0)
        XCTAssertNotNil(client.block.timers.persist)
        XCTAssertGreaterThan(client.unacknowledgedBytes, 0)
        var got: [UInt8] = []
        XCTAssertTrue(sim.run(for: .seconds(60), until: { got.count == data.count }) {
            if offset < data.count { offset += data[offset...].withUnsafeBytes { max(0, client.write($0)) } }
            drain(server, into: &got)
        })
        XCTAssertEqual(got, data)
    }

    func testWriteBackpressureWhenSendBufferFull() throws {
        var configuration = StackConfiguration()
        configuration.tcpSendBufferSize = 8192
        configuration.tcpReceiveBufferSize = 2 * 1448
        let sim = TCPSimulation(configuration: configuration)
        // The server must stay referenced: a connection the application lets go is closed.
        let (client, server, _) = try sim.establish()
        defer { withExtendedLifetime(server) {} }
        let big = pattern(20_000)
        XCTAssertEqual(big.withUnsafeBytes { client.write($0) }, 8192)
        XCTAssertEqual(client.writableBytes, 0)
        XCTAssertEqual(big.withUnsafeBytes { client.write($0) }, 0)
        sim.advance(.seconds(1))
        // The receiver took 2 * 1448 bytes (its whole buffer), freeing that much send buffer.
        XCTAssertEqual(client.writableBytes, 2 * 1448)
        XCTAssertEqual(client.unacknowledgedBytes, 8192 - 2 * 1448)
    }

    func testReadHandsOutPiecesOfTheReceiveRing() throws {
        var configuration = StackConfiguration()
        configuration.tcpReceiveBufferSize = 3000
        let sim = TCPSimulation(configuration: configuration)
        let (client, server, _) = try sim.establish()
        XCTAssertEqual(client.write(pattern(2000)), 2000)
        sim.advance(.milliseconds(100))
        // Consume 1500, leaving 500; then 2000 more wrap around the 3000-byte ring.
        XCTAssertEqual(server.read { _ in 1500 }, .consumed(1500))
        XCTAssertEqual(client.write(pattern(2000, seed: 5)), 2000)
        sim.advance(.milliseconds(100))
        var pieces: [Int] = []
        var got: [UInt8] = []
        while case .consumed(let n) = server.read({ bytes in pieces.append(bytes.count); got.append(contentsOf: bytes); return bytes.count }), n > 0 {}
        XCTAssertEqual(pieces, [1500, 1000])
        XCTAssertEqual(got, Array(pattern(2000)[1500...]) + pattern(2000, seed: 5))
    }

    func testMSSFromInterfaceMTU() throws {
        let sim = TCPSimulation(mtu: 1000)
        let (client, server, _) = try sim.establish()
        XCTAssertEqual(client.maximumSegmentSize, 960)
        XCTAssertEqual(server.maximumSegmentSize, 960)
        _ = sim.link.a.takeTransmitted()
        XCTAssertEqual(client.write(pattern(5000)), 5000)
        var got: [UInt8] = []
        XCTAssertTrue(sim.run(for: .seconds(5), until: { got.count == 5000 }) { drain(server, into: &got) })
        let sizes = wireSegments(sim.link.a.takeTransmitted()).map { $0.payload.count }
        XCTAssertEqual(sizes.max(), 960 - 12)
        XCTAssertEqual(sizes.reduce(0, +), 5000)
    }

    func testWindowScalingCarriesLargeBuffers() throws {
        var configuration = StackConfiguration()
        configuration.tcpReceiveBufferSize = 256 * 1024
        configuration.tcpSendBufferSize = 256 * 1024
        let sim = TCPSimulation(configuration: configuration)
        let listener = try sim.b.listen(port: 80)
        defer { withExtendedLifetime(listener) {} }
        let client = try sim.a.connect(to: TwoStacks.addressB, port: 80, now: sim.now)
        sim.run(for: .milliseconds(1), until: { !wireSegments(sim.link.a.transmitted).isEmpty })
        let syn = try XCTUnwrap(wireSegments(sim.link.a.transmitted).first { $0.flags == .syn })
        XCTAssertEqual(syn.windowScale, 3)
        XCTAssertEqual(syn.tcp.window, 65535)
        XCTAssertTrue(sim.run(for: .seconds(2), until: { client.state == .established }))
        XCTAssertEqual(client.block.options.sendScale, 3)
        // The SYN-ACK's window is never scaled (RFC 7323 §2.2); the first scaled one follows data.
        XCTAssertEqual(client.block.sndWnd, 65535)
        XCTAssertEqual(client.write([1]), 1)
        XCTAssertTrue(sim.run(for: .seconds(1), until: { client.unacknowledgedBytes == 0 }))
        XCTAssertEqual(client.block.sndWnd, ((256 * 1024 - 1) >> 3) << 3)
    }

    func testLoopbackConnection() throws {
        let sim = TCPSimulation()
        let listener = try sim.a.listen(port: 7)
        let client = try sim.a.connect(to: TwoStacks.addressA, port: 7, now: sim.now)
        var server: TCPConnection? = nil
        XCTAssertTrue(sim.run(for: .seconds(2), until: { client.state == .established && server != nil }) {
            if server == nil { server = listener.acceptConnection() }
        })
        XCTAssertEqual(client.write([7, 7]), 2)
        var got: [UInt8] = []
        XCTAssertTrue(sim.run(for: .seconds(2), until: { got.count == 2 }) { drain(server!, into: &got) })
    }
}
