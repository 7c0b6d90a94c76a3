import SkiffPlatform
import XCTest
@testable import SkiffKernel

/// Decoding the CMOS RTC's registers (MC146818A): BCD or binary per status register B bit 2,
/// 24-hour or 12-hour (bit 7 of the hours: PM) per bit 1, and invalid readings refused.
final class RTCTests: XCTestCase {
    private let bcd24: UInt8 = 0x02       // BCD, 24-hour (SeaBIOS's and QEMU's default)
    private let binary24: UInt8 = 0x06
    private let bcd12: UInt8 = 0x00
    private let binary12: UInt8 = 0x04

    private func seconds(_ reading: RTCReading) -> Int64? { reading.civilTime?.unixSeconds }

    func testBCDTwentyFourHour() {
        // 2026-12-02 00:19:37 in BCD.
        let reading = RTCReading(seconds: 0x37, minutes: 0x19, hours: 0x00, day: 0x02, month: 0x12, year: 0x26, statusB: bcd24)
        XCTAssertEqual(seconds(reading), CivilTime(year: 2026, month: 12, day: 2, hour: 0, minute: 19, second: 37)?.unixSeconds)
        let evening = RTCReading(seconds: 0x59, minutes: 0x59, hours: 0x23, day: 0x31, month: 0x12, year: 0x99, statusB: bcd24)
        XCTAssertEqual(evening.civilTime, CivilTime(year: 2099, month: 12, day: 31, hour: 23, minute: 59, second: 59))
    }

    func testBinaryTwentyFourHour() {
        let reading = RTCReading(seconds: 8, minutes: 14, hours: 3, day: 19, month: 1, year: 38, statusB: binary24)
        XCTAssertEqual(seconds(reading), 2_147_483_648)
    }

    func testTwelveHourMode() {
        // 12 AM is midnight, 12 PM is noon, 1 PM is 13:00; bit 7 of the hours register is PM.
        func hour(_ register: UInt8, _ mode: UInt8) -> Int? {
            RTCReading(seconds: 0, minutes: 0, hours: register, day: 1, month: 1, year: 24, statusB: mode).civilTime?.hour
        }
        XCTAssertEqual(hour(0x12, bcd12), 0)
        XCTAssertEqual(hour(0x80 | 0x12, bcd12), 12)
        XCTAssertEqual(hour(0x80 | 0x01, bcd12), 13)
        XCTAssertEqual(hour(0x80 | 0x11, bcd12), 23)
        XCTAssertEqual(hour(0x09, bcd12), 9)
        XCTAssertEqual(hour(12, binary12), 0)
        XCTAssertEqual(hour(0x80 | 12, binary12), 12)
        XCTAssertEqual(hour(0x80 | 11, binary12), 23)
        XCTAssertNil(hour(0x00, bcd12), "there is no hour 0 on a 12-hour clock")
        XCTAssertNil(hour(0x13, bcd12))
    }

    func testLeapDays() {
        let leap = RTCReading(seconds: 0, minutes: 0, hours: 0, day: 0x29, month: 0x02, year: 0x24, statusB: bcd24)
        XCTAssertEqual(seconds(leap), 1_709_164_800)
        let notLeap = RTCReading(seconds: 0, minutes: 0, hours: 0, day: 0x29, month: 0x02, year: 0x25, statusB: bcd24)
        XCTAssertNil(notLeap.civilTime)
    }

    func testInvalidReadingsGiveNoClock() {
        // No RTC: every register reads 0xFF.
        XCTAssertNil(RTCReading(seconds: 0xFF, minutes: 0xFF, hours: 0xFF, day: 0xFF, month: 0xFF, year: 0xFF, statusB: 0xFF).civilTime)
        // A BCD digit above 9.
        XCTAssertNil(RTCReading(seconds: 0x1A, minutes: 0, hours: 0, day: 1, month: 1, year: 0x24, statusB: bcd24).civilTime)
        // Out of range values.
        XCTAssertNil(RTCReading(seconds: 0x60, minutes: 0, hours: 0, day: 1, month: 1, year: 0x24, statusB: bcd24).civilTime)
        XCTAssertNil(RTCReading(seconds: 0, minutes: 0, hours: 0x24, day: 1, month: 1, year: 0x24, statusB: bcd24).civilTime)
        XCTAssertNil(RTCReading(seconds: 0, minutes: 0, hours: 0, day: 0, month: 1, year: 0x24, statusB: bcd24).civilTime)
        XCTAssertNil(RTCReading(seconds: 0, minutes: 0, hours: 0, day: 1, month: 0x13, year: 0x24, statusB: bcd24).civilTime)
        XCTAssertNil(RTCReading(seconds: 0, minutes: 0, hours: 0, day: 1, month: 1, year: 100, statusB: binary24).civilTime)
    }
}
