import SkiffPlatform
import SkiffWire
import XCTest
@testable import SkiffStack

/// A query the scripted server received.
struct SeenDNSQuery {
    var time: Instant
    /// The server address it was sent to.
    var server: IPv4Address
    var message: DNSMessage
    var source: IPv4Address
    var sourcePort: UInt16
}

/// Scripted DNS servers on stack B of `TwoStacks`: one UDP socket on port 53 per server address
/// (198.18.0.2, plus 198.18.0.3 and 198.18.0.4, added to B). `script` decides what each query gets.
final class DNSTestServer {
    enum Action {
        /// Send this message back from the server asked, port 53.
        case reply(DNSMessage)
        /// Send these bytes back as they are.
        case raw([UInt8])
        /// Say nothing.
        case drop
        /// Do it by hand (spoofing from another address or port…).
        case custom((DNSTestServer, SeenDNSQuery) -> Void)
    }

    static let first = IPv4Address(198, 18, 0, 2)
    static let second = IPv4Address(198, 18, 0, 3)
    static let third = IPv4Address(198, 18, 0, 4)

    let net: TwoStacks
    private(set) var sockets: [IPv4Address: UDPSocket] = [:]
    private(set) var seen: [SeenDNSQuery] = []
    /// What to do with a query; the default answers every name with 198.51.100.1, TTL 300.
    var script: (SeenDNSQuery) -> Action = { seen in .reply(DNSTestServer.answer(seen.message, [IPv4Address(198, 51, 100, 1)])) }

    init(net: TwoStacks) throws {
        self.net = net
        for address in [DNSTestServer.second, DNSTestServer.third] {
            net.b.addAddress(IPv4CIDR(address: address, prefixLength: TwoStacks.subnet), to: net.interfaceB, now: net.now)
        }
        for address in [DNSTestServer.first, DNSTestServer.second, DNSTestServer.third] {
            sockets[address] = try net.b.udpBind(port: 53, address: address)
        }
    }

    /// Handles every query waiting at the servers; true if there was any.
    @discardableResult
    func process(now: Instant) -> Bool {
        var any = false
        for address in [DNSTestServer.first, DNSTestServer.second, DNSTestServer.third] {
            guard let socket = sockets[address] else { continue }
            while let datagram = socket.receive() {
                any = true
                guard let message = datagram.payload.withUnsafeBytes({ try? DNSMessage.parse($0) }) else { continue }
                let query = SeenDNSQuery(time: now, server: address, message: message, source: datagram.source,
                                         sourcePort: datagram.sourcePort)
                seen.append(query)
                switch script(query) {
                case .reply(let reply): send(DNSTestServer.encode(reply), from: address, to: query)
                case .raw(let bytes): send(bytes, from: address, to: query)
                case .drop: break
                case .custom(let action): action(self, query)
                }
            }
        }
        return any
    }

    /// Sends `bytes` from `address`:53 to where `query` came from.
    func send(_ bytes: [UInt8], from address: IPv4Address, to query: SeenDNSQuery) {
        try? sockets[address]?.send(bytes, to: query.source, port: query.sourcePort, now: net.now)
    }

    /// Sends `bytes` from `address`:`port` (a socket bound for the occasion) to where `query` came from.
    func send(_ bytes: [UInt8], from address: IPv4Address, port: UInt16, to query: SeenDNSQuery) {
        guard let socket = try? net.b.udpBind(port: port, address: address) else {
            XCTFail("cannot bind \(address):\(port)")
            return
        }
        try? socket.send(bytes, to: query.source, port: query.sourcePort, now: net.now)
        socket.close()
    }

    func queries(to server: IPv4Address) -> [SeenDNSQuery] { seen.filter { $0.server == server } }

    // MARK: Replies

    static func encode(_ message: DNSMessage) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: message.encodedLength)
        bytes.withUnsafeMutableBytes { _ = message.emit(into: $0) }
        return bytes
    }

    /// The response header for `query`: same ID and question, QR, RD copied, RA.
    static func response(to query: DNSMessage, rcode: DNSResponseCode = .noError) -> DNSMessage {
        var header = DNSHeader(id: query.header.id, isResponse: true, recursionDesired: query.header.recursionDesired,
                               recursionAvailable: true, rcode: rcode)
        header.isAuthoritative = false
        return DNSMessage(header: header, questions: query.questions)
    }

    static func name(_ text: String) -> DNSName {
        guard let name = DNSName(text) else { preconditionFailure("bad test name \(text)") }
        return name
    }

    static func a(_ name: DNSName, _ address: IPv4Address, ttl: UInt32 = 300) -> DNSResourceRecord {
        DNSResourceRecord(name: name, type: .a, ttl: ttl, data: .a(address))
    }

    static func cname(_ name: DNSName, _ target: DNSName, ttl: UInt32 = 300) -> DNSResourceRecord {
        DNSResourceRecord(name: name, type: .cname, ttl: ttl, data: .cname(target))
    }

    static func soa(_ zone: DNSName, ttl: UInt32, minimum: UInt32) -> DNSResourceRecord {
        DNSResourceRecord(name: zone, type: .soa, ttl: ttl, data: .soa(DNSStartOfAuthority(
            primaryServer: name("ns." + zone.description), mailbox: name("hostmaster." + zone.description),
            serial: 1, refresh: 3600, retry: 600, expire: 86_400, minimum: minimum)))
    }

    /// A records for the question's name.
    static func answer(_ query: DNSMessage, _ addresses: [IPv4Address], ttl: UInt32 = 300) -> DNSMessage {
        var reply = response(to: query)
        let name = query.questions.first?.name ?? .root
        reply.answers = addresses.map { a(name, $0, ttl: ttl) }
        return reply
    }

    /// NXDOMAIN (with the zone's SOA when `soaTTL` is given).
    static func nameError(_ query: DNSMessage, zone: String = "skiff.test", soaTTL: UInt32? = nil,
                          minimum: UInt32 = 60) -> DNSMessage {
        var reply = response(to: query, rcode: .nameError)
        if let soaTTL { reply.authorities = [soa(name(zone), ttl: soaTTL, minimum: minimum)] }
        return reply
    }
}

/// The resolver on stack A, the scripted servers on stack B, and a manual clock.
final class DNSSimulation {
    let net: TwoStacks
    let server: DNSTestServer
    let resolver: DNSResolver
    var log: [String] = []

    init(servers: [IPv4Address] = [DNSTestServer.first], search: [String] = [],
         configure: (inout DNSResolverConfiguration) -> Void = { _ in }) throws {
        net = TwoStacks()
        server = try DNSTestServer(net: net)
        var configuration = DNSResolverConfiguration(servers: servers, searchDomains: search.map { DNSTestServer.name($0) })
        configure(&configuration)
        resolver = DNSResolver(stack: net.a, configuration: configuration, randomKey: (0x5eed, 0xd115))
        resolver.log = { [unowned self] in self.log.append($0) }
    }

    var now: Instant { net.now }

    /// Lets frames, the servers and the resolver run at the current time until nothing moves.
    func pump() {
        for _ in 0..<50 {
            net.settle()
            let served = server.process(now: net.now)
            net.settle()
            let wanted = resolver.step(now: net.now)
            if !served && wanted != net.now && net.link.a.receiveQueue.isEmpty && net.link.b.receiveQueue.isEmpty {
                return
            }
        }
    }

    /// Starts resolving `name` and runs the clock (jumping to each deadline) until it ends or
    /// `limit` has passed.
    @discardableResult
    func resolve(_ name: String, limit: Interval = .seconds(60), file: StaticString = #filePath,
                 line: UInt = #line) -> DNSQuery {
        let query = resolver.resolve(name, now: net.now)
        run(until: query, limit: limit, file: file, line: line)
        return query
    }

    func run(until query: DNSQuery, limit: Interval = .seconds(60), file: StaticString = #filePath, line: UInt = #line) {
        let end = net.now + limit
        pump()
        while !query.isFinished {
            let next = [resolver.nextDeadline(now: net.now), net.a.poll(now: net.now), net.b.poll(now: net.now)]
                .compactMap { $0 }.min()
            guard let next, next < end else {
                XCTFail("lookup of \(query.name) did not end", file: file, line: line)
                return
            }
            // A stack timer already due (it is polled in pump) must not stall the clock.
            net.now = next > net.now ? next : net.now + .milliseconds(1)
            pump()
        }
        pump()
    }

    /// Moves the clock on (the cache's view of time).
    func advance(_ interval: Interval) {
        net.advance(interval)
    }
}
