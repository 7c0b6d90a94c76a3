import Glibc
import SkiffPlatform
import SkiffWire
import XCTest
@testable import SkiffHosted

// What can be checked without root or a TAP device; opening real TAP devices, ping, ARP and the
// echo service over them are covered by Tests/Integration/*.sh inside network namespaces.
final class TapDeviceTests: XCTestCase {
    func testDefaultMACIsLocallyAdministeredUnicastAndStable() {
        let mac = TapDevice.defaultMAC(for: "tap0")
        XCTAssertEqual(mac.octets.0, 0x02, "IEEE 802: locally administered (bit 1), unicast (bit 0 clear)")
        XCTAssertFalse(mac.isMulticast)
        XCTAssertEqual(mac, TapDevice.defaultMAC(for: "tap0"))
        XCTAssertNotEqual(mac, TapDevice.defaultMAC(for: "tap1"))
    }

    func testInterfaceNamesFollowLinuxDevValidName() {
        for name in ["tap0", "skiff-demo", "t", "a.b", String(repeating: "x", count: 15)] {
            XCTAssertTrue(TapDevice.isValidInterfaceName(name), name)
        }
        for name in ["", ".", "..", "a/b", "a:b", "a b", "tab\there"] {
            XCTAssertFalse(TapDevice.isValidInterfaceName(name), name)
        }
    }

    func testNameLongerThanIFNAMSIZRejectedBeforeAnySystemCall() {
        XCTAssertThrowsError(try TapDevice(name: String(repeating: "x", count: 16))) {
            XCTAssertEqual($0 as? TapError, .nameTooLong(device: String(repeating: "x", count: 16)))
        }
        XCTAssertThrowsError(try TapDevice(name: "a/b")) {
            XCTAssertEqual($0 as? TapError, .invalidName(device: "a/b"))
        }
    }

    func testErrorsNameTheDeviceTheErrnoTextAndTheFix() {
        XCTAssertEqual(TapError.notPermitted(device: "tap0", errno: EPERM).description,
                       "tap0: cannot create or attach the TAP device: Operation not permitted (needs root or CAP_NET_ADMIN; try sudo)")
        XCTAssertEqual(TapError.noTunDevice(device: "tap0", errno: ENOENT).description,
                       "tap0: cannot open /dev/net/tun: No such file or directory (is the tun module loaded? try 'modprobe tun')")
        XCTAssertEqual(TapError.busy(device: "tap0", errno: EBUSY).description,
                       "tap0: cannot attach: Device or resource busy (another process holds it, or 'tap0' exists and is not a TAP device)")
        XCTAssertEqual(TapError.nameTooLong(device: "averyveryverylongname").description,
                       "TAP device name 'averyveryverylongname' is too long: Linux allows at most 15 bytes")
        XCTAssertEqual(TapError.system(device: "tap0", operation: "TUNSETIFF", errno: EINVAL).device, "tap0")
    }
}

final class HostedPlatformTests: XCTestCase {
    func testMonotonicClockNeverGoesBack() {
        let platform = HostedPlatform(handleSignals: false)
        var previous = platform.now()
        for _ in 0..<1000 {
            let next = platform.now()
            XCTAssertGreaterThanOrEqual(next, previous)
            previous = next
        }
    }

    func testWaitReturnsAtTheDeadline() {
        let platform = HostedPlatform(handleSignals: false)
        let start = platform.now()
        platform.wait(until: start + .milliseconds(30))
        let waited = platform.now() - start
        XCTAssertGreaterThanOrEqual(waited, .milliseconds(30))
        XCTAssertLessThan(waited, .seconds(2))
        // A deadline already past returns at once.
        let again = platform.now()
        platform.wait(until: again - .seconds(1))
        XCTAssertLessThan(platform.now() - again, .milliseconds(500))
        XCTAssertFalse(platform.shouldStop)
    }

    func testTimestampPrefixSecondsAndMilliseconds() {
        XCTAssertEqual(HostedPlatform.timestampPrefix(elapsed: .zero), "[    0.000] ")
        XCTAssertEqual(HostedPlatform.timestampPrefix(elapsed: .milliseconds(1_234)), "[    1.234] ")
        XCTAssertEqual(HostedPlatform.timestampPrefix(elapsed: .milliseconds(98_765_040)), "[98765.040] ")
    }

    func testSIGTERMEndsTheWaitAndSetsShouldStop() {
        let platform = HostedPlatform(handleSignals: true)
        XCTAssertFalse(platform.shouldStop)
        raise(SIGTERM)  // blocked now: pending until the wait unblocks it
        let start = platform.now()
        platform.wait(until: start + .seconds(10))
        XCTAssertTrue(platform.shouldStop)
        XCTAssertEqual(platform.stopSignal, SIGTERM)
        XCTAssertLessThan(platform.now() - start, .seconds(2))
        XCTAssertEqual(HostedPlatform.signalName(SIGTERM), "SIGTERM")
    }

    func testSignalStillPendingIsFoundWithoutSleeping() {
        let platform = HostedPlatform(handleSignals: true)
        raise(SIGINT)  // stays pending: nothing unblocks it before the check
        platform.requestStop()
        XCTAssertTrue(platform.shouldStop)
        platform.wait(until: nil)  // returns at once: already stopping
        XCTAssertEqual(platform.stopSignal, SIGINT)
    }
}
