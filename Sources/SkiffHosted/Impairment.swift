import SkiffPlatform

// The impairment relay's scheduler: which frames are lost, corrupted, duplicated, delayed and
// reordered, and when each one leaves. No system calls and no clock of its own: the caller passes
// the time in (`offer(_:now:)`, `poll(now:send:)`), and every random choice comes from a seeded
// generator, so a run is reproducible from the seed and the order of the frames. `skiff relay`
// (Sources/skiff/Relay.swift) puts one `ImpairmentQueue` in each direction between two TAP devices.
//
// What each impairment means, per direction, for every frame in arrival order:
//   loss       the frame is dropped with this probability, independently of every other frame
//              (netem's plain `loss random`, no correlation).
//   corrupt    one bit, chosen uniformly among the bytes after the 14-byte Ethernet header, is
//              flipped (so bridges still deliver the frame and the IP/TCP/UDP checksums catch it).
//   duplicate  the frame is sent twice, back to back, at its departure time (both copies share
//              the frame's fate: one queue slot, one delay, one reordering decision).
//   rate       the direction is a link of this many kbit/s: a frame occupies it for
//              bytes * 8 / rate after the previous frame has left it, then `delay` starts.
//   delay      every frame leaves `delay` after it arrived (after its serialization, with a rate),
//   jitter     plus a uniformly random offset in [-jitter, +jitter] (never before its arrival).
//              Jitter alone does not reorder: a frame never leaves before the frame that arrived
//              before it (its departure is raised to that one's); only `reorder` reorders.
//   reorder    with this probability a frame is held back so that the next frame of the same
//              direction overtakes it: that frame takes the held one's place in the queue and the
//              held one leaves right after it, so the two swap places (reordering by one
//              position, whatever the traffic's pace or the delay). If no next frame arrives
//              before `reorderHold` (10 ms) after the held frame's own departure time, the held
//              frame leaves then, in order, and is not counted as reordered. A frame that
//              overtakes a held one is not held itself, so about p / (1 + p) of the frames are
//              reordered.
//   limit      at most `limitFrames` frames and `limitBytes` bytes wait in a direction (held frame
//              included); a frame that does not fit is dropped and counted as an overflow.
//
// Every frame draws the same six random numbers whatever happens to it, so the choices for frame n
// (lost, corrupted where, duplicated, picked for reordering, jitter) depend only on the seed and n.
// What depends on time as well: whether a held frame is overtaken (the next frame must arrive
// within the hold), overflow (how full the queue is), and of course when frames leave.

/// A probability in parts per million (`percent(20)` is 200_000).
public struct Probability: Equatable, Sendable, CustomStringConvertible {
    public static let perMillionOne = 1_000_000
    public var perMillion: Int

    public init(perMillion: Int) {
        precondition(perMillion >= 0 && perMillion <= Probability.perMillionOne, "probability out of range")
        self.perMillion = perMillion
    }

    public static func percent(_ value: Int) -> Probability { Probability(perMillion: value * 10_000) }
    public static let never = Probability(perMillion: 0)

    /// Whether a uniformly distributed `random` falls inside this probability.
    func includes(_ random: UInt64) -> Bool {
        random.multipliedFullWidth(by: UInt64(Probability.perMillionOne)).high < UInt64(perMillion)
    }

    /// `20%`, `0.5%`, `12.3456%`.
    public var description: String {
        let whole = perMillion / 10_000
        var fraction = perMillion % 10_000
        guard fraction != 0 else { return "\(whole)%" }
        var digits = 4
        while fraction % 10 == 0 { fraction /= 10; digits -= 1 }
        let text = String(fraction)
        return "\(whole)." + String(repeating: "0", count: digits - text.utf8.count) + text + "%"
    }
}

/// What an `ImpairmentQueue` does to the frames going through it. The default impairs nothing.
public struct ImpairmentSettings: Equatable, Sendable {
    public var loss = Probability.never
    public var corrupt = Probability.never
    public var duplicate = Probability.never
    public var reorder = Probability.never
    public var delay = Interval.zero
    public var jitter = Interval.zero
    /// Link rate in kbit/s (1000 bit/s); nil: no rate limit.
    public var rateKilobits: Int? = nil
    /// How long a frame picked for reordering waits for a later frame to overtake it.
    public var reorderHold = Interval.milliseconds(10)
    /// The most frames that may wait in the queue (netem's `limit` defaults to 1000 too).
    public var limitFrames = 1000
    /// The most bytes that may wait in the queue.
    public var limitBytes = 8 << 20

    public init() {}

    /// True when nothing is impaired: every frame leaves as it arrives.
    public var isTransparent: Bool {
        loss == .never && corrupt == .never && duplicate == .never && reorder == .never
            && delay == .zero && jitter == .zero && rateKilobits == nil
    }
}

/// Counters of one direction of the relay.
public struct ImpairmentStatistics: Equatable, Sendable {
    /// Frames and bytes offered to the queue.
    public var received = 0
    public var receivedBytes = 0
    /// Frames and bytes sent on (each duplicate copy counts).
    public var forwarded = 0
    public var forwardedBytes = 0
    /// Frames dropped by the `loss` probability.
    public var lost = 0
    /// Frames dropped because the queue was full.
    public var overflowed = 0
    /// Frames sent twice.
    public var duplicated = 0
    /// Frames that left right after the frame which arrived after them (overtaken).
    public var reordered = 0
    /// Frames scheduled to leave later than they arrived by delay, jitter or rate (a reordering
    /// hold alone does not count).
    public var delayed = 0
    /// Frames with one bit flipped.
    public var corrupted = 0
    /// Copies the output refused (the `send` closure returned false).
    public var sendFailed = 0

    public init() {}

    /// Frames that will never leave: lost and overflowed.
    public var dropped: Int { lost + overflowed }
}

/// SplitMix64 (Steele, Lea and Flood, "Fast splittable pseudorandom number generators", 2014):
/// 64 bits of state, every seed usable, good enough for choosing which frames to impair.
public struct SeededGenerator: Sendable {
    public private(set) var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }

    /// A uniformly distributed integer in `0..<bound` (multiply-high: no division, bias below
    /// bound / 2^64).
    mutating func next(below bound: UInt64) -> UInt64 {
        next().multipliedFullWidth(by: bound).high
    }
}

/// One direction of the relay: decides each frame's fate on arrival and hands frames back when
/// their time has come. Deterministic: the same settings, seed, frames and times give the same
/// output, frame for frame.
public struct ImpairmentQueue {
    public let settings: ImpairmentSettings
    public private(set) var statistics = ImpairmentStatistics()
    private var random: SeededGenerator

    private struct Entry {
        var departure: Instant
        var copies: Int
        /// Set while the frame waits for the next one to overtake it (it is then the last entry).
        var heldUntil: Instant?
        /// A later frame left before this one.
        var overtaken: Bool
        var bytes: [UInt8]

        /// When `poll` sends it, unless a later frame overtakes it first.
        var due: Instant { heldUntil ?? departure }
    }

    /// Frames waiting to leave, in the order they will leave: arrival order except for swaps.
    /// Departures never decrease along it, and only the last entry can be held.
    private var waiting: [Entry] = []
    /// `waiting[head...]` are the live entries (the front is dropped lazily, then compacted).
    private var head = 0
    private var queuedBytes = 0
    /// The departure of the latest frame queued: no later frame leaves before it.
    private var lastDeparture: Instant? = nil
    /// When the rate-limited link finishes sending the latest frame.
    private var linkFreeAt: Instant? = nil

    public init(settings: ImpairmentSettings, seed: UInt64) {
        precondition(settings.limitFrames >= 1 && settings.limitBytes >= 1, "impairment queue limits must be positive")
        precondition(settings.delay >= .zero && settings.jitter >= .zero && settings.reorderHold >= .zero,
                     "impairment intervals must not be negative")
        precondition((settings.rateKilobits ?? 1) >= 1, "impairment rate must be positive")
        self.settings = settings
        self.random = SeededGenerator(seed: seed)
    }

    /// The seed for one direction of a relay run with `seed`: direction 0 uses the seed itself,
    /// direction 1 a different stream, so each direction's choices depend only on its own frames.
    public static func seed(_ seed: UInt64, direction: Int) -> UInt64 {
        var mixer = SeededGenerator(seed: seed ^ (UInt64(direction) &* 0xd1b5_4a32_d192_ed03))
        return direction == 0 ? seed : mixer.next()
    }

    /// Frames waiting (held one included).
    public var queuedFrames: Int { waiting.count - head }

    /// When `poll` next has something to send; nil when nothing waits.
    public var nextDeparture: Instant? {
        head < waiting.count ? waiting[head].due : nil
    }

    /// Takes a frame that arrived at `now`: counts it, decides its fate, and (unless it is
    /// dropped) copies it into the queue. Nothing is sent here; call `poll(now:send:)` next.
    public mutating func offer(_ frame: UnsafeRawBufferPointer, now: Instant) {
        // Always six draws, in this order (see the top of the file).
        let lossDraw = random.next()
        let corruptDraw = random.next()
        let corruptWhere = random.next()
        let duplicateDraw = random.next()
        let reorderDraw = random.next()
        let jitterDraw = random.next()

        statistics.received += 1
        statistics.receivedBytes += frame.count
        if settings.loss.includes(lossDraw) {
            statistics.lost += 1
            return
        }
        guard queuedFrames < settings.limitFrames && queuedBytes + frame.count <= settings.limitBytes else {
            statistics.overflowed += 1
            return
        }

        var bytes = [UInt8](frame)
        if settings.corrupt.includes(corruptDraw) && bytes.count > ethernetHeaderLength {
            let span = UInt64(bytes.count - ethernetHeaderLength)
            let byte = ethernetHeaderLength + Int(corruptWhere.multipliedFullWidth(by: span).high)
            bytes[byte] ^= UInt8(1) << UInt8(corruptWhere & 7)  // byte < bytes.count: high < span
            statistics.corrupted += 1
        }
        let copies = settings.duplicate.includes(duplicateDraw) ? 2 : 1
        if copies == 2 { statistics.duplicated += 1 }

        var departure = now
        if let kilobits = settings.rateKilobits {
            // bits / (kilobits * 1000) seconds = bits * 1_000_000 / kilobits nanoseconds.
            let bits = Int64(frame.count * copies * 8)
            let start = max(now, linkFreeAt ?? now)
            departure = start + Interval(nanoseconds: bits * 1_000_000 / Int64(kilobits))
            linkFreeAt = departure
        }
        departure = departure + settings.delay
        if settings.jitter > .zero {
            let width = UInt64(settings.jitter.nanoseconds) * 2 + 1
            let offset = Int64(jitterDraw.multipliedFullWidth(by: width).high) - settings.jitter.nanoseconds
            departure = max(now, departure + Interval(nanoseconds: offset))
        }
        if let lastDeparture { departure = max(departure, lastDeparture) }
        lastDeparture = departure
        if departure > now { statistics.delayed += 1 }

        var entry = Entry(departure: departure, copies: copies, heldUntil: nil,
                          overtaken: false, bytes: bytes)
        queuedBytes += bytes.count
        if head < waiting.count, let heldUntil = waiting[waiting.count - 1].heldUntil, now < heldUntil {
            // The held frame is the last one: this frame overtakes it, and it leaves right after.
            var overtaken = waiting.removeLast()
            overtaken.heldUntil = nil
            overtaken.overtaken = true
            overtaken.departure = departure
            waiting.append(entry)
            waiting.append(overtaken)
        } else {
            if settings.reorder.includes(reorderDraw) {
                entry.heldUntil = departure + settings.reorderHold
            }
            waiting.append(entry)
        }
    }

    /// Sends, through `send`, every frame whose time has come at `now`, in order; `send` returns
    /// false when the output refused the frame (it is then counted in `sendFailed` and dropped).
    /// Returns when to call again (`nextDeparture`).
    @discardableResult
    public mutating func poll(now: Instant, send: (UnsafeRawBufferPointer) -> Bool) -> Instant? {
        while head < waiting.count && waiting[head].due <= now {
            let entry = waiting[head]
            waiting[head].bytes = []  // free the frame now; the slot goes at the next compaction
            head += 1
            compactIfWorthwhile()
            if entry.overtaken { statistics.reordered += 1 }
            emit(entry, send: send)
        }
        return nextDeparture
    }

    /// Forgets every waiting frame (the relay is stopping); returns how many there were.
    public mutating func discardAll() -> Int {
        let count = queuedFrames
        waiting = []
        head = 0
        queuedBytes = 0
        return count
    }

    private mutating func emit(_ entry: Entry, send: (UnsafeRawBufferPointer) -> Bool) {
        queuedBytes -= entry.bytes.count
        for _ in 0..<entry.copies {
            let sent = entry.bytes.withUnsafeBytes { send($0) }
            if sent {
                statistics.forwarded += 1
                statistics.forwardedBytes += entry.bytes.count
            } else {
                statistics.sendFailed += 1
            }
        }
    }

    private mutating func compactIfWorthwhile() {
        if head == waiting.count {
            waiting.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 256 && head * 2 >= waiting.count {
            waiting.removeFirst(head)
            head = 0
        }
    }
}

private let ethernetHeaderLength = 14
