import SkiffWire
import XCTest
@testable import SkiffStack

final class UDPSocketTableTests: XCTestCase {
    let here = IPv4Address(198, 18, 0, 1)
    let there = IPv4Address(198, 18, 0, 2)

    func testBindSamePortTwiceIsPortInUse() throws {
        var table = UDPSocketTable()
        _ = try table.bind(port: 53, address: .any, queueLimit: 4)
        XCTAssertThrowsError(try table.bind(port: 53, address: here, queueLimit: 4)) {
            XCTAssertEqual($0 as? UDPBindError, .portInUse)
        }
    }

    func testSpecificAddressesShareAPortAndWinOverWildcardLookup() throws {
        var table = UDPSocketTable()
        let first = try table.bind(port: 53, address: here, queueLimit: 4)
        let second = try table.bind(port: 53, address: there, queueLimit: 4)
        XCTAssertTrue(table.lookup(port: 53, address: here) === first)
        XCTAssertTrue(table.lookup(port: 53, address: there) === second)
        XCTAssertNil(table.lookup(port: 53, address: .broadcast))
        XCTAssertThrowsError(try table.bind(port: 53, address: .any, queueLimit: 4))
    }

    func testWildcardReceivesBroadcast() throws {
        var table = UDPSocketTable()
        let socket = try table.bind(port: 68, address: .any, queueLimit: 4)
        XCTAssertTrue(table.lookup(port: 68, address: .broadcast) === socket)
    }

    func testEphemeralPortsInRFC6335RangeAndDistinct() throws {
        var table = UDPSocketTable()
        let a = try table.bind(port: 0, address: .any, queueLimit: 1)
        let b = try table.bind(port: 0, address: .any, queueLimit: 1)
        XCTAssertTrue(UDPSocketTable.ephemeralPorts.contains(a.port))
        XCTAssertTrue(UDPSocketTable.ephemeralPorts.contains(b.port))
        XCTAssertNotEqual(a.port, b.port)
    }

    func testEphemeralPortsExhausted() throws {
        var table = UDPSocketTable()
        for _ in UDPSocketTable.ephemeralPorts { _ = try table.bind(port: 0, address: .any, queueLimit: 1) }
        XCTAssertThrowsError(try table.bind(port: 0, address: .any, queueLimit: 1)) {
            XCTAssertEqual($0 as? UDPBindError, .noEphemeralPort)
        }
    }

    func testUnbindFreesPort() throws {
        var table = UDPSocketTable()
        let socket = try table.bind(port: 7, address: .any, queueLimit: 1)
        table.unbind(socket)
        XCTAssertNil(table.lookup(port: 7, address: here))
        XCTAssertNoThrow(try table.bind(port: 7, address: .any, queueLimit: 1))
    }

    func testReceiveQueueBounded() {
        let endpoint = UDPEndpoint(port: 7, address: .any, queueLimit: 2)
        let datagram = UDPDatagram(payload: [1], source: there, sourcePort: 9, destination: here, destinationPort: 7)
        XCTAssertTrue(endpoint.deliver(datagram))
        XCTAssertTrue(endpoint.deliver(datagram))
        XCTAssertFalse(endpoint.deliver(datagram))
        XCTAssertEqual(endpoint.take(), datagram)
        XCTAssertEqual(endpoint.queue.count, 1)
    }
}
