import SkiffPlatform

// The Date field (RFC 9110 §6.6.1): an origin server with a clock sends it in every 2xx, 3xx and
// 4xx response (Skiff's server sends it in every final response); one without a clock does not.
// The value is an IMF-fixdate (RFC 9110 §5.6.7):
//
//   IMF-fixdate = day-name "," SP day SP month SP year SP hour ":" minute ":" second SP "GMT"
//   e.g. Sun, 06 Nov 1994 08:49:37 GMT
//
// The server is handed the time with each step and formats it at most once per second.

/// `time` as an IMF-fixdate (29 bytes), or nil for a year outside 0000–9999 (four digits).
public func imfFixdate(_ time: UnixTime) -> [UInt8]? {
    let civil = CivilTime(unixSeconds: time.seconds)
    guard civil.year >= 0 && civil.year <= 9999 else { return nil }
    var out: [UInt8] = []
    out.reserveCapacity(29)
    let dayNames: StaticString = "SunMonTueWedThuFriSat"
    let monthNames: StaticString = "JanFebMarAprMayJunJulAugSepOctNovDec"
    dayNames.withUTF8Buffer { out.append(contentsOf: $0[(civil.weekday * 3)..<(civil.weekday * 3 + 3)]) }
    appendStatic(", ", to: &out)
    appendTwoDigits(civil.day, to: &out)
    out.append(asciiSpace)
    let month = civil.month - 1
    monthNames.withUTF8Buffer { out.append(contentsOf: $0[(month * 3)..<(month * 3 + 3)]) }
    out.append(asciiSpace)
    let year = Int(civil.year)
    appendTwoDigits(year / 100, to: &out)
    appendTwoDigits(year % 100, to: &out)
    out.append(asciiSpace)
    appendTwoDigits(civil.hour, to: &out)
    out.append(asciiColon)
    appendTwoDigits(civil.minute, to: &out)
    out.append(asciiColon)
    appendTwoDigits(civil.second, to: &out)
    appendStatic(" GMT", to: &out)
    return out
}

private func appendTwoDigits(_ value: Int, to out: inout [UInt8]) {
    out.append(UInt8(0x30 + value / 10))
    out.append(UInt8(0x30 + value % 10))
}

/// The formatted Date value of the current second, reformatted only when the second changes.
struct HTTPDateCache {
    private var second: Int64? = nil
    private var formatted: [UInt8]? = nil
    /// How many times a value was formatted (once per distinct second).
    private(set) var formatCount = 0

    /// The value for `time`, or nil without a clock (or for a date IMF-fixdate cannot express).
    mutating func value(for time: UnixTime?) -> [UInt8]? {
        guard let time else { return nil }
        if time.seconds != second {
            second = time.seconds
            formatted = imfFixdate(time)
            formatCount += 1
        }
        return formatted
    }
}
