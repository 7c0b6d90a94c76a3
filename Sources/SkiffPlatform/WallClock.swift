// Wall-clock time: what `Platform.wallClock()` returns when the platform knows the date (the
// kernel's CMOS RTC, CLOCK_REALTIME in hosted mode), and the proleptic Gregorian calendar in UTC
// that turns it into a date and back. The calendar is plain integer arithmetic on 400-year eras
// (146,097 days each), so it has no tables, no time zones and no leap seconds (POSIX time: every
// day has 86,400 s), and it holds for years far beyond 2038 (64-bit seconds).

/// Seconds and nanoseconds since 1970-01-01 00:00:00 UTC (POSIX time: leap seconds not counted).
public struct UnixTime: Comparable, Hashable, Sendable {
    public var seconds: Int64
    /// 0..<1_000_000_000.
    public var nanoseconds: Int32

    public init(seconds: Int64, nanoseconds: Int32 = 0) {
        precondition(nanoseconds >= 0 && nanoseconds < 1_000_000_000, "UnixTime.nanoseconds out of range")
        self.seconds = seconds
        self.nanoseconds = nanoseconds
    }

    /// The time `interval` after this one (an interval may be negative).
    public static func + (l: UnixTime, r: Interval) -> UnixTime {
        let total = Int64(l.nanoseconds) + r.nanoseconds % 1_000_000_000
        var seconds = l.seconds &+ r.nanoseconds / 1_000_000_000
        var nanoseconds = total
        if nanoseconds < 0 {
            nanoseconds += 1_000_000_000
            seconds &-= 1
        } else if nanoseconds >= 1_000_000_000 {
            nanoseconds -= 1_000_000_000
            seconds &+= 1
        }
        return UnixTime(seconds: seconds, nanoseconds: Int32(nanoseconds))
    }

    public static func < (l: UnixTime, r: UnixTime) -> Bool {
        l.seconds < r.seconds || (l.seconds == r.seconds && l.nanoseconds < r.nanoseconds)
    }
}

/// A date and time of day in UTC on the proleptic Gregorian calendar.
public struct CivilTime: Equatable, Hashable, Sendable {
    public var year: Int64
    /// 1...12.
    public var month: Int
    /// 1...31.
    public var day: Int
    public var hour: Int
    public var minute: Int
    public var second: Int
    /// 0 = Sunday ... 6 = Saturday.
    public var weekday: Int

    /// The calendar date of `seconds` since the epoch (negative: before 1970).
    public init(unixSeconds seconds: Int64) {
        // Floor division, so that times before the epoch fall on the previous day.
        var days = seconds / 86_400
        var rest = seconds % 86_400
        if rest < 0 {
            rest += 86_400
            days -= 1
        }
        hour = Int(rest / 3600)
        minute = Int(rest % 3600 / 60)
        second = Int(rest % 60)
        (year, month, day) = CivilTime.date(fromDays: days)
        // 1970-01-01 was a Thursday (4).
        let weekday = (days + 4) % 7
        self.weekday = Int(weekday < 0 ? weekday + 7 : weekday)
    }

    /// A validated date and time; nil when a field is out of range (February 30th, hour 24, a
    /// year beyond ±10⁹).
    public init?(year: Int64, month: Int, day: Int, hour: Int = 0, minute: Int = 0, second: Int = 0) {
        guard year >= -1_000_000_000 && year <= 1_000_000_000, month >= 1 && month <= 12,
              day >= 1 && day <= CivilTime.daysIn(month: month, year: year),
              hour >= 0 && hour < 24, minute >= 0 && minute < 60, second >= 0 && second < 60 else { return nil }
        self.init(unixSeconds: CivilTime.days(year: year, month: month, day: day) * 86_400
                  + Int64(hour * 3600 + minute * 60 + second))
    }

    /// Seconds since the epoch.
    public var unixSeconds: Int64 {
        CivilTime.days(year: year, month: month, day: day) * 86_400 + Int64(hour * 3600 + minute * 60 + second)
    }

    public static func isLeapYear(_ year: Int64) -> Bool {
        year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
    }

    public static func daysIn(month: Int, year: Int64) -> Int {
        switch month {
        case 2: return isLeapYear(year) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    // The computations count years from March, so that the leap day is the last day of its
    // year: a "March year" y holds March y … February y+1. Within a 400-year era every
    // March year has 365 days plus one every 4 years, minus one every 100, plus one every 400;
    // day 0 of the calendar below is 0000-03-01, which starts an era.

    /// Days from 0000-03-01 to 1970-01-01.
    static let epochOffset: Int64 = 719_468
    static let daysPerEra: Int64 = 146_097

    /// Days since 1970-01-01 of a (valid) date.
    public static func days(year: Int64, month: Int, day: Int) -> Int64 {
        let marchYear = month <= 2 ? year - 1 : year
        let era = (marchYear >= 0 ? marchYear : marchYear - 399) / 400
        let yearOfEra = marchYear - era * 400                       // 0...399
        let monthFromMarch = Int64(month > 2 ? month - 3 : month + 9)  // March 0 ... February 11
        // Days before each month counted from March: 0, 31, 61, 92, 122, 153, 184, 214, 245, 275,
        // 306, 337 — month lengths 31, 30, 31, 30, 31 repeating, which (153 m + 2) / 5 yields.
        let dayOfYear = (153 * monthFromMarch + 2) / 5 + Int64(day) - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * daysPerEra + dayOfEra - epochOffset
    }

    /// The date `days` after 1970-01-01 (the inverse of `days(year:month:day:)`).
    public static func date(fromDays days: Int64) -> (year: Int64, month: Int, day: Int) {
        let shifted = days + epochOffset
        let era = (shifted >= 0 ? shifted : shifted - (daysPerEra - 1)) / daysPerEra
        let dayOfEra = shifted - era * daysPerEra                   // 0...146096
        // Remove the leap days before this day (one per 1,461 days, except at each 36,524-day
        // century and the era's last day), leaving 365-day years.
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / (daysPerEra - 1)) / 365
        let dayOfYear = dayOfEra - (yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100)  // 0...365
        let monthFromMarch = (5 * dayOfYear + 2) / 153                                  // 0...11
        let day = Int(dayOfYear - (153 * monthFromMarch + 2) / 5 + 1)
        let month = Int(monthFromMarch < 10 ? monthFromMarch + 3 : monthFromMarch - 9)
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        return (year, month, day)
    }
}
