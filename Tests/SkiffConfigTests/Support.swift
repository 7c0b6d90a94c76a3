import SkiffPlatform
import SkiffWire
import XCTest
@testable import SkiffConfig

/// A device that only has a name, a MAC and an MTU: frames sent to it are counted and dropped.
final class FakeDevice: NetworkDevice {
    let name: String
    let macAddress: MACAddress
    let mtu: Int
    var isLinkUp = true
    var transmitted = 0

    init(name: String, macAddress: MACAddress, mtu: Int = 1500) {
        self.name = name
        self.macAddress = macAddress
        self.mtu = mtu
    }

    func receive(budget: Int, _ body: (UnsafeRawBufferPointer) -> Void) -> Int { 0 }

    func transmit(length: Int, _ fill: (UnsafeMutableRawBufferPointer) -> Void) -> DeviceResult {
        var frame = [UInt8](repeating: 0, count: length)
        frame.withUnsafeMutableBytes { fill($0) }
        transmitted += 1
        return .ok
    }
}

/// SplitMix64, for seeded random inputs.
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
    mutating func next(below bound: Int) -> Int { Int(next() % UInt64(bound)) }
}

/// The 1-based byte column of the first `needle` in `line` (after `skipping` earlier matches).
func column(of needle: String, in line: String, skipping: Int = 0, file: StaticString = #filePath, line number: UInt = #line) -> Int {
    let haystack = Array(line.utf8)
    let pattern = Array(needle.utf8)
    var seen = 0
    if pattern.count <= haystack.count {
        for start in 0...(haystack.count - pattern.count) where Array(haystack[start..<(start + pattern.count)]) == pattern {
            if seen == skipping { return start + 1 }
            seen += 1
        }
    }
    XCTFail("\"\(needle)\" not in \"\(line)\"", file: file, line: number)
    return 0
}

/// The error `body` throws, or a failure if it does not throw.
func commandLineError<T>(_ body: () throws(CommandLineError) -> T, file: StaticString = #filePath, line: UInt = #line) -> CommandLineError? {
    do throws(CommandLineError) {
        let value = try body()
        XCTFail("expected an error, got \(value)", file: file, line: line)
        return nil
    } catch {
        return error
    }
}

let ethMAC0 = MACAddress(0x52, 0x54, 0x00, 0x12, 0x34, 0x56)
let ethMAC1 = MACAddress(0x52, 0x54, 0x00, 0x12, 0x34, 0x57)
let ethMAC2 = MACAddress(0x52, 0x54, 0x00, 0x12, 0x34, 0x58)

func ip(_ text: String) -> IPv4Address { IPv4Address(text)! }
