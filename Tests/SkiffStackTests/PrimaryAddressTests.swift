import SkiffPlatform
import SkiffWire
import XCTest
@testable import SkiffStack

/// A platform that records what the stack tells it about its primary address (the kernel's
/// publishes it to VMware as guest info).
final class RecordingPlatform: Platform {
    var reported: [IPv4Address?] = []
    var networkDevices: [any NetworkDevice] { [] }
    func now() -> Instant { .zero }
    func write(console text: String) {}
    func wait(until deadline: Instant?) {}
    var commandLine: String { "" }
    func randomBits() -> UInt64 { 0x1234_5678 }
    func exit(status: Int32) -> Never { fatalError("exit \(status)") }
    func primaryAddressChanged(_ address: IPv4Address?) { reported.append(address) }
}

final class PrimaryAddressTests: XCTestCase {
    func testThePlatformHearsOfEachChangeOfTheFirstInterfacesFirstAddress() {
        let platform = RecordingPlatform()
        let stack = NetworkStack(platform: platform)
        let eth0 = stack.addInterface(MemoryLink(mtu: 1500).a)
        let eth1 = stack.addInterface(MemoryLink(mtu: 1500).a)
        XCTAssertNil(stack.primaryAddress)
        stack.addAddress(IPv4CIDR("198.18.1.10/24")!, to: eth1, now: .zero)
        stack.addAddress(IPv4CIDR("198.18.0.10/24")!, to: eth0, now: .zero)
        stack.addAddress(IPv4CIDR("198.18.0.11/24")!, to: eth0, now: .zero)  // not the first: no change
        stack.addAddress(IPv4CIDR("198.18.0.10/24")!, to: eth0, now: .zero)  // already there
        stack.removeAddress(IPv4CIDR("198.18.0.10/24")!, from: eth0)
        stack.removeAddress(IPv4CIDR("198.18.0.11/24")!, from: eth0)
        stack.removeAddress(IPv4CIDR("198.18.1.10/24")!, from: eth1)
        XCTAssertEqual(platform.reported, [
            IPv4Address(198, 18, 1, 10), IPv4Address(198, 18, 0, 10), IPv4Address(198, 18, 0, 11),
            IPv4Address(198, 18, 1, 10), nil,
        ])
    }

    func testAStackWithoutAPlatformTellsNobody() {
        let stack = NetworkStack(configuration: StackConfiguration())
        let eth0 = stack.addInterface(MemoryLink(mtu: 1500).a)
        stack.addAddress(IPv4CIDR("198.18.0.10/24")!, to: eth0, now: .zero)
        XCTAssertNil(stack.onPrimaryAddressChange)
        XCTAssertEqual(stack.primaryAddress, IPv4Address(198, 18, 0, 10))
    }
}
