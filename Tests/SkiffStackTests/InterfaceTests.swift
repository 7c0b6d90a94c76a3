import SkiffWire
import XCTest
@testable import SkiffStack

final class InterfaceTests: XCTestCase {
    func makeInterface() -> Interface {
        let link = MemoryLink(mtu: 1400)
        return Interface(name: "eth0", device: link.a, index: 0, configuration: StackConfiguration())
    }

    func testTakesMACAndMTUFromDevice() {
        let interface = makeInterface()
        XCTAssertEqual(interface.macAddress, MACAddress(0x52, 0x54, 0, 0, 0, 0x0a))
        XCTAssertEqual(interface.mtu, 1400)
    }

    func testAddressesAddedOnceAndRemoved() {
        let interface = makeInterface()
        XCTAssertTrue(interface.add(IPv4CIDR("198.18.0.1/24")!))
        XCTAssertFalse(interface.add(IPv4CIDR("198.18.0.1/16")!))
        XCTAssertTrue(interface.add(IPv4CIDR("198.19.5.1/24")!))
        XCTAssertEqual(interface.addresses.count, 2)
        XCTAssertTrue(interface.remove(IPv4Address(198, 18, 0, 1)))
        XCTAssertFalse(interface.hasAddress(IPv4Address(198, 18, 0, 1)))
    }

    func testSourceAddressPrefersSubnetOfDestination() {
        let interface = makeInterface()
        XCTAssertNil(interface.sourceAddress(toward: IPv4Address(198, 18, 0, 9)))
        interface.add(IPv4CIDR("198.18.0.1/24")!)
        interface.add(IPv4CIDR("198.19.5.1/24")!)
        XCTAssertEqual(interface.sourceAddress(toward: IPv4Address(198, 19, 5, 7)), IPv4Address(198, 19, 5, 1))
        XCTAssertEqual(interface.sourceAddress(toward: IPv4Address(8, 8, 8, 8)), IPv4Address(198, 18, 0, 1))
    }

    func testRFC3021SubnetBroadcastNotForSlash31() {
        let interface = makeInterface()
        interface.add(IPv4CIDR("198.18.0.1/24")!)
        interface.add(IPv4CIDR("198.19.0.0/31")!)
        XCTAssertTrue(interface.isSubnetBroadcast(IPv4Address(198, 18, 0, 255)))
        XCTAssertFalse(interface.isSubnetBroadcast(IPv4Address(198, 19, 0, 1)))
    }
}
