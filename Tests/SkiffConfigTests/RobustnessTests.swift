import SkiffPlatform
import SkiffStack
import SkiffWire
import XCTest
@testable import SkiffConfig

/// Random and truncated command lines: every outcome is a value or a `CommandLineError` whose column
/// lies inside the line; nothing traps.
final class RobustnessTests: XCTestCase {
    /// How often each outcome happened, to show the inputs reach past the first error.
    var parsed = 0, applied = 0, failed = 0

    /// Parses `text` and applies it to a stack with two devices; checks the error column.
    func exercise(_ text: String, file: StaticString = #filePath, line: UInt = #line) {
        let length = text.utf8.count
        do throws(CommandLineError) {
            let configuration = try BootConfiguration(commandLine: text)
            parsed += 1
            for parameter in configuration.ipParameters {
                _ = parameter.text
                if parameter.isStatic { XCTAssertNotNil(parameter.interfaceAddress, text, file: file, line: line) }
            }
            let stack = NetworkStack()
            let devices = [FakeDevice(name: "a", macAddress: ethMAC0), FakeDevice(name: "b", macAddress: ethMAC1)]
            do throws(CommandLineError) {
                try configuration.apply(to: stack, devices: devices, now: .zero)
                applied += 1
                _ = ConfigurationReport.lines(stack)
            } catch {
                XCTAssertTrue(stack.interfaces.isEmpty, text, file: file, line: line)
                XCTAssertTrue((1...(length + 1)).contains(error.column), "\(text): \(error)", file: file, line: line)
            }
        } catch {
            failed += 1
            XCTAssertTrue((1...(length + 1)).contains(error.column), "\(text): \(error)", file: file, line: line)
            XCTAssertFalse(error.description.isEmpty)
        }
        _ = try? IPParameter.parse(text)
    }

    func testTruncatedLinesNeverTrap() {
        let lines = [
            #"console=ttyS0 ip=198.18.0.10:198.18.0.2:198.18.0.1:255.255.255.0:box:eth0:off:198.18.0.53:198.18.0.54:198.18.0.123 ip="198.18.1.10/24:::::eth1" -- app"#,
            "ip=198.18.0.10/31::198.18.0.11 ip=:::::eth1:dhcp:1.1.1.1",
        ]
        for line in lines {
            let bytes = Array(line.utf8)
            for end in 0...bytes.count {
                exercise(String(decoding: bytes[..<end], as: UTF8.self))
                exercise(String(decoding: bytes[end...], as: UTF8.self))
            }
        }
    }

    func testRandomLinesNeverTrap() {
        let alphabet = Array("0123456789./:=\" \tip=dhcpoffneth0123/255.".utf8) + [0x00, 0xc3, 0xa9, 0xff, 0x7f]
        var random = SplitMix64(seed: 0x5eed)
        for _ in 0..<20_000 {
            let count = random.next(below: 48)
            var bytes: [UInt8] = Array("ip=".utf8).prefix(random.next(below: 4)).map { $0 }
            for _ in 0..<count { bytes.append(alphabet[random.next(below: alphabet.count)]) }
            exercise(String(decoding: bytes, as: UTF8.self))
        }
    }

    func testRandomFieldsNeverTrap() {
        let pieces = ["", "198.18.0.10", "198.18.0.10/24", "198.18.0.0/24", "198.18.0.1", "255.255.255.0", "255.0.255.0",
                      "0.0.0.0", "box", "eth0", "eth1", "dhcp", "off", "x", "/", "1.2.3.4/33", "\"", " "]
        var random = SplitMix64(seed: 42)
        for _ in 0..<20_000 {
            let fields = (0..<random.next(below: 12)).map { _ in pieces[random.next(below: pieces.count)] }
            exercise("ip=" + fields.joined(separator: ":") + (random.next(below: 2) == 0 ? "" : " ip=dhcp"))
        }
        XCTAssertGreaterThan(applied, 1000)
        XCTAssertGreaterThan(failed, 1000)
    }
}
