import SkiffPlatform
import SkiffWire
import SkiffStack
import SkiffServices
import XCTest

/// A device of a back-to-back pair: what one end transmits, the other receives.
private final class PairedDevice: NetworkDevice {
    let name: String
    let macAddress: MACAddress
    let mtu = 1500
    let isLinkUp = true
    var queue: [[UInt8]] = []
    weak var peer: PairedDevice?

    init(name: String, mac: MACAddress) {
        self.name = name
        self.macAddress = mac
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
        peer?.queue.append(frame)
        return .ok
    }
}

/// A client stack (198.18.0.1) and a server stack (198.18.0.2) running the echo service, joined
/// back to back; time is a manual clock.
private final class EchoNetwork {
    static let clientAddress = IPv4Address(198, 18, 0, 1)
    static let serverAddress = IPv4Address(198, 18, 0, 2)
    let clientDevice = PairedDevice(name: "client0", mac: MACAddress(0x02, 0, 0, 0, 0, 0x01))
    let serverDevice = PairedDevice(name: "server0", mac: MACAddress(0x02, 0, 0, 0, 0, 0x02))
    let client: NetworkStack
    let server: NetworkStack
    let serverInterface: Interface
    let echo: UDPEchoService
    var now = Instant(nanoseconds: 1_000_000_000)

    init(configuration: StackConfiguration = StackConfiguration()) throws {
        clientDevice.peer = serverDevice
        serverDevice.peer = clientDevice
        client = NetworkStack(configuration: configuration)
        server = NetworkStack(configuration: configuration)
        let clientInterface = client.addInterface(clientDevice)
        serverInterface = server.addInterface(serverDevice)
        client.addAddress(IPv4CIDR(address: Self.clientAddress, prefixLength: 24), to: clientInterface, now: now)
        server.addAddress(IPv4CIDR(address: Self.serverAddress, prefixLength: 24), to: serverInterface, now: now)
        echo = try UDPEchoService(stack: server)
        run()
    }

    /// The application loop of both sides until the link is quiet (bounded).
    func run() {
        for _ in 0..<1000 {
            _ = client.poll(now: now)
            _ = server.poll(now: now)
            let again = echo.step(now: now)
            if clientDevice.queue.isEmpty && serverDevice.queue.isEmpty && again == nil { return }
        }
        XCTFail("the network did not settle")
    }
}

final class UDPEchoServiceTests: XCTestCase {
    func testRFC862ReplyGoesToSenderWithSamePayload() throws {
        let net = try EchoNetwork()
        XCTAssertEqual(net.echo.port, 7)
        let socket = try net.client.udpBind(port: 40000)
        try socket.send(Array("hello, echo".utf8), to: EchoNetwork.serverAddress, port: 7, now: net.now)
        net.run()
        let reply = try XCTUnwrap(socket.receive())
        XCTAssertEqual(reply.payload, Array("hello, echo".utf8))
        XCTAssertEqual(reply.source, EchoNetwork.serverAddress)
        XCTAssertEqual(reply.sourcePort, 7)
        XCTAssertEqual(reply.destinationPort, 40000)
        XCTAssertNil(socket.receive())
        XCTAssertEqual(net.echo.statistics, UDPEchoStatistics(echoed: 1, bytes: 11, failed: 0))
    }

    func testVariedSizesEchoedByteForByteIncludingEmptyAndFragmented() throws {
        let net = try EchoNetwork()
        let socket = try net.client.udpBind(port: 0)
        var seed: UInt64 = 862
        for size in [0, 1, 7, 1472, 1473, 4000, 8000] {
            var payload = [UInt8](repeating: 0, count: size)
            for i in payload.indices {
                seed = seed &* 6364136223846793005 &+ 1442695040888963407
                payload[i] = UInt8(truncatingIfNeeded: seed >> 33)
            }
            try socket.send(payload, to: EchoNetwork.serverAddress, port: 7, now: net.now)
            net.run()
            XCTAssertEqual(socket.receive()?.payload, payload, "size \(size)")
        }
        XCTAssertEqual(net.echo.statistics.echoed, 7)
        XCTAssertEqual(net.echo.statistics.bytes, 0 + 1 + 7 + 1472 + 1473 + 4000 + 8000)
    }

    func testStepAnswersAtMostItsBudgetAndAsksToBeCalledAgain() throws {
        var configuration = StackConfiguration()
        configuration.udpReceiveQueueLength = 300
        configuration.receiveBudget = 400
        let net = try EchoNetwork(configuration: configuration)
        let socket = try net.client.udpBind(port: 0)
        try socket.send([0], to: EchoNetwork.serverAddress, port: 9, now: net.now)  // resolve ARP first
        net.run()
        for i in 0..<300 {
            try socket.send([UInt8(truncatingIfNeeded: i)], to: EchoNetwork.serverAddress, port: 7, now: net.now)
        }
        _ = net.server.poll(now: net.now)
        XCTAssertEqual(net.echo.step(now: net.now), net.now, "more datagrams wait: call again before sleeping")
        XCTAssertEqual(net.echo.statistics.echoed, UDPEchoService.datagramsPerStep)
        XCTAssertNil(net.echo.step(now: net.now))
        XCTAssertEqual(net.echo.statistics.echoed, 300)
    }

    func testSecondServiceOnSamePortIsPortInUse() throws {
        let net = try EchoNetwork()
        XCTAssertThrowsError(try UDPEchoService(stack: net.server, port: 7)) {
            XCTAssertEqual($0 as? UDPBindError, .portInUse)
        }
        let other = try UDPEchoService(stack: net.server, port: 7007)
        XCTAssertEqual(other.port, 7007)
    }

    func testUnanswerableDatagramCountedAndLoggedNotFatal() throws {
        let net = try EchoNetwork()
        var lines: [String] = []
        net.echo.log = { lines.append($0) }
        let socket = try net.client.udpBind(port: 5555)
        try socket.send([0], to: EchoNetwork.serverAddress, port: 7, now: net.now)
        net.run()  // one round trip, so both sides have resolved each other
        XCTAssertEqual(socket.receive()?.payload, [0])
        try socket.send([1, 2, 3], to: EchoNetwork.serverAddress, port: 7, now: net.now)
        _ = net.client.poll(now: net.now)
        _ = net.server.poll(now: net.now)  // the datagram waits in the service's socket
        // The server loses its address (and with it the route back) before answering.
        net.server.removeAddress(IPv4CIDR(address: EchoNetwork.serverAddress, prefixLength: 24), from: net.serverInterface)
        XCTAssertNil(net.echo.step(now: net.now))
        XCTAssertEqual(net.echo.statistics, UDPEchoStatistics(echoed: 1, bytes: 1, failed: 1))
        XCTAssertEqual(lines, ["echo: cannot answer 198.18.0.1:5555: no route"])
    }

    func testClosedServiceFreesThePort() throws {
        let net = try EchoNetwork()
        net.echo.close()
        XCTAssertNoThrow(try net.server.udpBind(port: 7))
    }
}
