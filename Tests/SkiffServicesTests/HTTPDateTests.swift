import SkiffPlatform
import SkiffServices
import XCTest
@testable import SkiffServices

/// The calendar (SkiffPlatform's CivilTime), IMF-fixdate (RFC 9110 §5.6.7) and the Date field
/// (RFC 9110 §6.6.1). Expected values were computed with Python's datetime.
final class HTTPDateTests: XCTestCase {
    private func fixdate(_ seconds: Int64) -> String? {
        imfFixdate(UnixTime(seconds: seconds)).map { String(decoding: $0, as: UTF8.self) }
    }

    func testRFC9110Example() {
        XCTAssertEqual(fixdate(784_111_777), "Sun, 06 Nov 1994 08:49:37 GMT")
    }

    func testEpochAndTheSecondBefore() {
        XCTAssertEqual(fixdate(0), "Thu, 01 Jan 1970 00:00:00 GMT")
        XCTAssertEqual(fixdate(-1), "Wed, 31 Dec 1969 23:59:59 GMT")
    }

    func testLeapYears() {
        // Divisible by 400: leap; by 100 only: not; by 4: leap.
        XCTAssertEqual(fixdate(951_782_400), "Tue, 29 Feb 2000 00:00:00 GMT")
        XCTAssertEqual(fixdate(951_868_799), "Tue, 29 Feb 2000 23:59:59 GMT")
        XCTAssertEqual(fixdate(1_709_164_800), "Thu, 29 Feb 2024 00:00:00 GMT")
        XCTAssertEqual(fixdate(1_740_787_199), "Fri, 28 Feb 2025 23:59:59 GMT")
        XCTAssertEqual(fixdate(4_107_456_000), "Sun, 28 Feb 2100 00:00:00 GMT")
        XCTAssertEqual(fixdate(4_107_456_000 + 86_400), "Mon, 01 Mar 2100 00:00:00 GMT")
        XCTAssertEqual(fixdate(13_574_563_200), "Tue, 29 Feb 2400 00:00:00 GMT")
        XCTAssertEqual(fixdate(-2_203_891_200), "Thu, 01 Mar 1900 00:00:00 GMT")
        XCTAssertTrue(CivilTime.isLeapYear(2000))
        XCTAssertFalse(CivilTime.isLeapYear(1900))
        XCTAssertFalse(CivilTime.isLeapYear(2100))
        XCTAssertTrue(CivilTime.isLeapYear(2024))
        XCTAssertFalse(CivilTime.isLeapYear(2023))
    }

    func testPast2038And32BitLimits() {
        XCTAssertEqual(fixdate(2_147_483_647), "Tue, 19 Jan 2038 03:14:07 GMT")
        XCTAssertEqual(fixdate(2_147_483_648), "Tue, 19 Jan 2038 03:14:08 GMT")
        XCTAssertEqual(fixdate(4_294_967_296), "Sun, 07 Feb 2106 06:28:16 GMT")
        XCTAssertEqual(fixdate(9_223_372_036), "Fri, 11 Apr 2262 23:47:16 GMT")
    }

    func testFourDigitYearsOnly() {
        XCTAssertEqual(fixdate(253_402_300_799), "Fri, 31 Dec 9999 23:59:59 GMT")
        XCTAssertNil(fixdate(253_402_300_800), "year 10000 has five digits")
        XCTAssertEqual(fixdate(-62_167_219_200), "Sat, 01 Jan 0000 00:00:00 GMT")
        XCTAssertNil(fixdate(-62_167_219_201), "year -1")
    }

    func testCivilRoundTripAgainstDayByDayCount() {
        // Walk day by day from 1600-01-01 to 2500-12-31 with a plain month-length table: every
        // date must convert to the right day number and back.
        var year: Int64 = 1600, month = 1, day = 1
        var days = CivilTime.days(year: 1600, month: 1, day: 1)
        XCTAssertEqual(days, -135_140)  // Python: (date(1600,1,1) - date(1970,1,1)).days
        while year <= 2500 {
            XCTAssertEqual(CivilTime.days(year: year, month: month, day: day), days, "\(year)-\(month)-\(day)")
            let back = CivilTime.date(fromDays: days)
            if back.year != year || back.month != month || back.day != day {
                XCTFail("day \(days): \(back) is not \(year)-\(month)-\(day)")
                return
            }
            days += 1
            day += 1
            if day > CivilTime.daysIn(month: month, year: year) {
                day = 1
                month += 1
                if month > 12 {
                    month = 1
                    year += 1
                }
            }
        }
    }

    func testWeekdaysAndTimeOfDay() {
        let time = CivilTime(unixSeconds: 784_111_777)
        XCTAssertEqual([time.year, Int64(time.month), Int64(time.day)], [1994, 11, 6])
        XCTAssertEqual([time.hour, time.minute, time.second, time.weekday], [8, 49, 37, 0])
        XCTAssertEqual(time.unixSeconds, 784_111_777)
        XCTAssertEqual(CivilTime(unixSeconds: -1).weekday, 3)   // Wednesday
        XCTAssertEqual(CivilTime(unixSeconds: -86_400 * 4).weekday, 0)   // 1969-12-28, a Sunday
    }

    func testValidatingInitializer() {
        XCTAssertNotNil(CivilTime(year: 2024, month: 2, day: 29))
        XCTAssertNil(CivilTime(year: 2023, month: 2, day: 29))
        XCTAssertNil(CivilTime(year: 2023, month: 4, day: 31))
        XCTAssertNil(CivilTime(year: 2023, month: 13, day: 1))
        XCTAssertNil(CivilTime(year: 2023, month: 1, day: 1, hour: 24))
        XCTAssertEqual(CivilTime(year: 2038, month: 1, day: 19, hour: 3, minute: 14, second: 8)?.unixSeconds, 2_147_483_648)
    }

    func testUnixTimePlusInterval() {
        let t = UnixTime(seconds: 10, nanoseconds: 900_000_000)
        XCTAssertEqual(t + Interval.milliseconds(200), UnixTime(seconds: 11, nanoseconds: 100_000_000))
        XCTAssertEqual(t + Interval.milliseconds(-950), UnixTime(seconds: 9, nanoseconds: 950_000_000))
        XCTAssertEqual(t + Interval.seconds(3), UnixTime(seconds: 13, nanoseconds: 900_000_000))
    }

    // MARK: - The Date field

    func testServerWithAClockSendsDateInEveryFinalResponse() {
        let router = HTTPRouter()
        router.get("/") { _ in .text("hi") }
        let harness = HTTPHarness(router: router)
        harness.date = UnixTime(seconds: 784_111_777, nanoseconds: 250_000_000)
        let stream = harness.connect()
        stream.send("GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /missing HTTP/1.1\r\nHost: a\r\n\r\n")
        harness.run()
        let responses = parseResponses(stream.output)
        XCTAssertEqual(responses.map(\.status), [200, 404])
        for response in responses {
            XCTAssertEqual(response.header("Date"), "Sun, 06 Nov 1994 08:49:37 GMT")
            XCTAssertEqual(response.headers.filter { $0.0.lowercased() == "date" }.count, 1)
        }
        // The status line comes first, then Date.
        XCTAssertTrue(stream.outputText.hasPrefix("HTTP/1.1 200 OK\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\n"))
    }

    func testServerWithoutAClockSendsNoDateButKeepsTheHandlers() {
        let router = HTTPRouter()
        router.get("/") { _ in .text("hi") }
        router.get("/dated") { _ in
            var response = HTTPResponse.text("old")
            response.headers.add("Date", "Mon, 01 Jan 2001 00:00:00 GMT")
            return response
        }
        let harness = HTTPHarness(router: router)
        let stream = harness.connect()
        stream.send("GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /dated HTTP/1.1\r\nHost: a\r\n\r\n")
        harness.run()
        let responses = parseResponses(stream.output)
        XCTAssertNil(responses[0].header("Date"), "RFC 9110 §6.6.1: no clock, no Date")
        XCTAssertEqual(responses[1].header("Date"), "Mon, 01 Jan 2001 00:00:00 GMT")
    }

    func testTheServersDateReplacesAHandlers() {
        let router = HTTPRouter()
        router.get("/dated") { _ in
            var response = HTTPResponse.text("old")
            response.headers.add("Date", "Mon, 01 Jan 2001 00:00:00 GMT")
            return response
        }
        let harness = HTTPHarness(router: router)
        harness.date = UnixTime(seconds: 0)
        let stream = harness.connect()
        stream.send("GET /dated HTTP/1.1\r\nHost: a\r\n\r\n")
        harness.run()
        let response = parseResponses(stream.output)[0]
        XCTAssertEqual(response.headers.filter { $0.0.lowercased() == "date" }.map(\.1), ["Thu, 01 Jan 1970 00:00:00 GMT"])
    }

    func testErrorResponsesCarryDateToo() {
        let harness = HTTPHarness(router: HTTPRouter())
        harness.date = UnixTime(seconds: 951_782_400)
        let stream = harness.connect()
        stream.send("BROKEN\r\n\r\n")
        harness.run()
        let response = parseResponses(stream.output)[0]
        XCTAssertEqual(response.status, 400)
        XCTAssertEqual(response.header("Date"), "Tue, 29 Feb 2000 00:00:00 GMT")
    }

    func testDateIsFormattedOncePerSecond() {
        let router = HTTPRouter()
        router.get("/") { _ in .text("hi") }
        let harness = HTTPHarness(router: router)
        harness.date = UnixTime(seconds: 1_000, nanoseconds: 0)
        let stream = harness.connect()
        for step in 0..<10 {
            // Ten steps within the same second, then the next second.
            harness.date = UnixTime(seconds: 1_000, nanoseconds: Int32(step * 90_000_000))
            stream.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
            harness.run()
        }
        XCTAssertEqual(harness.server.dateFormats, 1)
        harness.date = UnixTime(seconds: 1_001, nanoseconds: 5)
        stream.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        harness.run()
        XCTAssertEqual(harness.server.dateFormats, 2)
        let responses = parseResponses(stream.output)
        XCTAssertEqual(responses.count, 11)
        XCTAssertEqual(responses[9].header("Date"), "Thu, 01 Jan 1970 00:16:40 GMT")
        XCTAssertEqual(responses[10].header("Date"), "Thu, 01 Jan 1970 00:16:41 GMT")
    }
}
