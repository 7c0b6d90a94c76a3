import SkiffPlatform
import XCTest
@testable import SkiffHosted

/// One frame as it left the queue: its number (the first four bytes after the Ethernet header),
/// when it left and its bytes.
private struct Departure: Equatable {
    var number: Int
    var time: Instant
    var bytes: [UInt8]
}

/// A 64-byte frame carrying `number`, big endian, at bytes 14..<18.
private func frame(_ number: Int, length: Int = 64) -> [UInt8] {
    var bytes = [UInt8](repeating: 0xab, count: length)
    for i in 0..<14 { bytes[i] = UInt8(i) }
    for i in 0..<4 where length >= 18 { bytes[14 + i] = UInt8(truncatingIfNeeded: number >> (24 - 8 * i)) }
    return bytes
}

/// The number `frame` put in; -1 for a frame too short to carry one.
private func number(of bytes: [UInt8]) -> Int {
    guard bytes.count >= 18 else { return -1 }
    return (14..<18).reduce(0) { $0 << 8 | Int(bytes[$1]) }
}

private func at(_ ms: Int64) -> Instant { Instant(nanoseconds: ms * 1_000_000) }

/// Offers `count` frames, one every `spacing`, polling at every arrival and then at every
/// deadline until the queue is empty, as the relay's loop does. Returns what left, in order.
private func pass(_ queue: inout ImpairmentQueue, count: Int, spacing: Interval = .milliseconds(1),
                 length: Int = 64) -> [Departure] {
    var out: [Departure] = []
    var now = Instant.zero
    func drain(until limit: Instant) {
        while let next = queue.nextDeparture, next <= limit {
            let time = max(now, next)
            queue.poll(now: time) { bytes in
                out.append(Departure(number: number(of: Array(bytes)), time: time, bytes: Array(bytes)))
                return true
            }
            now = time
        }
    }
    for n in 0..<count {
        let arrival = Instant.zero + spacing * Int64(n)
        drain(until: arrival)
        now = arrival
        frame(n, length: length).withUnsafeBytes { queue.offer($0, now: arrival) }
        queue.poll(now: arrival) { bytes in
            out.append(Departure(number: number(of: Array(bytes)), time: arrival, bytes: Array(bytes)))
            return true
        }
    }
    drain(until: Instant(nanoseconds: .max))
    return out
}

private func settings(_ configure: (inout ImpairmentSettings) -> Void) -> ImpairmentSettings {
    var s = ImpairmentSettings()
    configure(&s)
    return s
}

final class ImpairmentTests: XCTestCase {
    func testZeroImpairmentForwardsEverythingInOrderImmediately() {
        var queue = ImpairmentQueue(settings: ImpairmentSettings(), seed: 1)
        XCTAssertTrue(queue.settings.isTransparent)
        let out = pass(&queue, count: 1000)
        XCTAssertEqual(out.map(\.number), Array(0..<1000))
        for (n, departure) in out.enumerated() {
            XCTAssertEqual(departure.time, at(Int64(n)), "frame \(n) left when it arrived")
            XCTAssertEqual(departure.bytes, frame(n))
        }
        XCTAssertNil(queue.nextDeparture)
        XCTAssertEqual(queue.statistics.received, 1000)
        XCTAssertEqual(queue.statistics.forwarded, 1000)
        XCTAssertEqual(queue.statistics.forwardedBytes, 64_000)
        XCTAssertEqual(queue.statistics.delayed, 0)
        XCTAssertEqual(queue.statistics.dropped, 0)
    }

    func testSameSeedSameFramesSameOutputDifferentSeedDifferentOutput() {
        let s = settings {
            $0.loss = .percent(10); $0.duplicate = .percent(10); $0.reorder = .percent(10)
            $0.corrupt = .percent(10); $0.delay = .milliseconds(5); $0.jitter = .milliseconds(3)
        }
        var first = ImpairmentQueue(settings: s, seed: 42)
        var second = ImpairmentQueue(settings: s, seed: 42)
        var other = ImpairmentQueue(settings: s, seed: 43)
        let a = pass(&first, count: 5000)
        let b = pass(&second, count: 5000)
        let c = pass(&other, count: 5000)
        XCTAssertEqual(a, b)
        XCTAssertEqual(first.statistics, second.statistics)
        XCTAssertNotEqual(a, c)
    }

    func testDirectionSeedsDiffer() {
        XCTAssertEqual(ImpairmentQueue.seed(7, direction: 0), 7)
        XCTAssertNotEqual(ImpairmentQueue.seed(7, direction: 1), 7)
        XCTAssertEqual(ImpairmentQueue.seed(7, direction: 1), ImpairmentQueue.seed(7, direction: 1))
    }

    func testSplitMix64ReferenceValues() {
        // Seed 0: the first outputs of the reference implementation (Vigna's splitmix64.c).
        var generator = SeededGenerator(seed: 0)
        XCTAssertEqual(generator.next(), 0xe220_a839_7b1d_cdaf)
        XCTAssertEqual(generator.next(), 0x6e78_9e6a_a1b9_65f4)
    }

    func testLossRateWithinStatisticalBoundsOver100kFrames() {
        for (percent, seed) in [(20, UInt64(1)), (1, 99), (50, 7)] {
            var queue = ImpairmentQueue(settings: settings { $0.loss = .percent(percent) }, seed: seed)
            let frames = 100_000
            let out = pass(&queue, count: frames, spacing: .microseconds(10))
            let p = Double(percent) / 100
            let measured = Double(queue.statistics.lost) / Double(frames)
            // Five standard deviations of a binomial proportion: a false failure about once in 3.5 million.
            let bound = 5 * (p * (1 - p) / Double(frames)).squareRoot()
            XCTAssertEqual(measured, p, accuracy: bound, "loss \(percent)%")
            XCTAssertEqual(out.count, frames - queue.statistics.lost)
            XCTAssertEqual(out.map(\.number), out.map(\.number).sorted(), "loss alone never reorders")
        }
    }

    func testLossZeroAndHundred() {
        var none = ImpairmentQueue(settings: settings { $0.loss = .percent(0) }, seed: 3)
        XCTAssertEqual(pass(&none, count: 10_000).count, 10_000)
        var all = ImpairmentQueue(settings: settings { $0.loss = .percent(100) }, seed: 3)
        XCTAssertEqual(pass(&all, count: 10_000).count, 0)
        XCTAssertEqual(all.statistics.lost, 10_000)
    }

    func testDelayHonouredToTheNanosecond() {
        var queue = ImpairmentQueue(settings: settings { $0.delay = .milliseconds(50) }, seed: 1)
        frame(0).withUnsafeBytes { queue.offer($0, now: at(10)) }
        var sent = 0
        XCTAssertEqual(queue.poll(now: at(10)) { _ in sent += 1; return true }, at(60))
        XCTAssertEqual(queue.poll(now: at(60) - Interval(nanoseconds: 1)) { _ in sent += 1; return true }, at(60))
        XCTAssertEqual(sent, 0)
        XCTAssertNil(queue.poll(now: at(60)) { _ in sent += 1; return true })
        XCTAssertEqual(sent, 1)
        XCTAssertEqual(queue.statistics.delayed, 1)

        var stream = ImpairmentQueue(settings: settings { $0.delay = .milliseconds(50) }, seed: 1)
        let out = pass(&stream, count: 500)
        XCTAssertEqual(out.map(\.number), Array(0..<500))
        for departure in out { XCTAssertEqual(departure.time, at(Int64(departure.number) + 50)) }
    }

    func testJitterStaysWithinBoundsAndNeverReorders() {
        var queue = ImpairmentQueue(settings: settings { $0.delay = .milliseconds(20); $0.jitter = .milliseconds(10) }, seed: 5)
        let out = pass(&queue, count: 5000, spacing: .milliseconds(5))
        XCTAssertEqual(out.map(\.number), Array(0..<5000))
        var previous = Instant.zero
        var spread = Set<Int64>()
        for departure in out {
            let arrival = at(Int64(departure.number) * 5)
            let waited = departure.time - arrival
            XCTAssertGreaterThanOrEqual(waited, .milliseconds(10))
            // The raise to the previous departure can add at most the previous frame's spread.
            XCTAssertLessThanOrEqual(waited, .milliseconds(30))
            XCTAssertGreaterThanOrEqual(departure.time, previous)
            previous = departure.time
            spread.insert(waited.milliseconds)
        }
        XCTAssertGreaterThan(spread.count, 15, "jitter spreads the delays")
    }

    func testJitterLargerThanDelayNeverSendsBeforeArrival() {
        var queue = ImpairmentQueue(settings: settings { $0.jitter = .milliseconds(10) }, seed: 9)
        let out = pass(&queue, count: 2000, spacing: .milliseconds(20))
        XCTAssertEqual(out.count, 2000)
        for departure in out { XCTAssertGreaterThanOrEqual(departure.time, at(Int64(departure.number) * 20)) }
        XCTAssertGreaterThan(queue.statistics.delayed, 0)
        XCTAssertLessThan(queue.statistics.delayed, 2000, "about half are clamped to no delay")
    }

    func testReorderSwapsNeighboursAndCountsEachSwap() {
        var queue = ImpairmentQueue(settings: settings { $0.reorder = .percent(25) }, seed: 11)
        let out = pass(&queue, count: 10_000)
        let numbers = out.map(\.number)
        XCTAssertEqual(numbers.sorted(), Array(0..<10_000), "every frame leaves exactly once")
        XCTAssertNotEqual(numbers, Array(0..<10_000), "reordering reorders")
        // Each reordered frame leaves right after its successor: count the adjacent inversions.
        let swaps = zip(numbers, numbers.dropFirst()).filter { $0 > $1 }.count
        XCTAssertEqual(swaps, queue.statistics.reordered)
        // A frame is picked with p = 0.25 unless one is already held (it then is the one that
        // releases it), so about p / (1 + p) = 20% of the frames are swapped.
        XCTAssertEqual(Double(swaps) / 10_000, 0.20, accuracy: 0.02)
        for departure in out where departure.number > 0 {
            XCTAssertLessThanOrEqual(abs(numbers.firstIndex(of: departure.number)! - departure.number), 1,
                                     "frames move by one position at most")
        }
    }

    func testReorderedFrameWithNothingBehindItLeavesAfterTheHoldInOrder() {
        var queue = ImpairmentQueue(settings: settings { $0.reorder = .percent(100) }, seed: 1)
        frame(0).withUnsafeBytes { queue.offer($0, now: at(0)) }
        var sent: [Int] = []
        XCTAssertEqual(queue.poll(now: at(0)) { sent.append(number(of: Array($0))); return true }, at(10))
        XCTAssertEqual(sent, [])
        // Frame 1 arrives 20 ms later, after the hold ran out: frame 0 already left, in order.
        XCTAssertEqual(queue.poll(now: at(10)) { sent.append(number(of: Array($0))); return true }, nil)
        XCTAssertEqual(sent, [0])
        XCTAssertEqual(queue.statistics.reordered, 0)
        // With 100%: frame 1 is held; frame 2 (not held: one is already) releases it: 2 then 1.
        frame(1).withUnsafeBytes { queue.offer($0, now: at(20)) }
        frame(2).withUnsafeBytes { queue.offer($0, now: at(21)) }
        queue.poll(now: at(21)) { sent.append(number(of: Array($0))); return true }
        XCTAssertEqual(sent, [0, 2, 1])
        XCTAssertEqual(queue.statistics.reordered, 1)
    }

    func testReorderWithDelayStillDelaysEveryFrame() {
        var queue = ImpairmentQueue(settings: settings { $0.reorder = .percent(30); $0.delay = .milliseconds(40) }, seed: 2)
        let out = pass(&queue, count: 3000)
        XCTAssertGreaterThan(queue.statistics.reordered, 300)
        for departure in out {
            XCTAssertGreaterThanOrEqual(departure.time - at(Int64(departure.number)), .milliseconds(40))
            XCTAssertLessThanOrEqual(departure.time - at(Int64(departure.number)), .milliseconds(50))
        }
    }

    func testDuplicatesAppearBackToBack() {
        var queue = ImpairmentQueue(settings: settings { $0.duplicate = .percent(50) }, seed: 4)
        let out = pass(&queue, count: 10_000)
        let numbers = out.map(\.number)
        XCTAssertEqual(numbers.count, 10_000 + queue.statistics.duplicated)
        XCTAssertEqual(Double(queue.statistics.duplicated) / 10_000, 0.5, accuracy: 0.025)
        XCTAssertEqual(Array(Set(numbers)).sorted(), Array(0..<10_000))
        var index = 0
        var pairs = 0
        while index < numbers.count {
            if index + 1 < numbers.count && numbers[index + 1] == numbers[index] {
                XCTAssertEqual(out[index].bytes, out[index + 1].bytes)
                pairs += 1
                index += 2
            } else {
                index += 1
            }
        }
        XCTAssertEqual(pairs, queue.statistics.duplicated)
        XCTAssertEqual(queue.statistics.forwarded, numbers.count)
    }

    func testCorruptFlipsExactlyOneBitAfterTheEthernetHeader() {
        var queue = ImpairmentQueue(settings: settings { $0.corrupt = .percent(100) }, seed: 8)
        let out = pass(&queue, count: 2000, length: 200)
        XCTAssertEqual(queue.statistics.corrupted, 2000)
        var positions = Set<Int>()
        for (n, departure) in out.enumerated() {
            let original = frame(n, length: 200)
            var flipped = 0
            for i in 0..<200 where original[i] != departure.bytes[i] {
                flipped += (original[i] ^ departure.bytes[i]).nonzeroBitCount
                XCTAssertGreaterThanOrEqual(i, 14, "the Ethernet header is left alone")
                positions.insert(i)
            }
            XCTAssertEqual(flipped, 1)
        }
        XCTAssertGreaterThan(positions.count, 150, "positions spread over the frame")
        // A frame of only an Ethernet header has nothing to corrupt.
        var header = ImpairmentQueue(settings: settings { $0.corrupt = .percent(100) }, seed: 8)
        XCTAssertEqual(pass(&header, count: 10, length: 14).count, 10)
        XCTAssertEqual(header.statistics.corrupted, 0)
    }

    func testQueueBoundHoldsAndOverflowIsCountedAsDrops() {
        var queue = ImpairmentQueue(settings: settings { $0.delay = .seconds(1); $0.limitFrames = 10 }, seed: 1)
        for n in 0..<100 {
            frame(n).withUnsafeBytes { queue.offer($0, now: at(Int64(n))) }
            XCTAssertLessThanOrEqual(queue.queuedFrames, 10)
        }
        XCTAssertEqual(queue.statistics.overflowed, 90)
        XCTAssertEqual(queue.statistics.dropped, 90)
        var sent: [Int] = []
        queue.poll(now: at(2000)) { sent.append(number(of: Array($0))); return true }
        XCTAssertEqual(sent, Array(0..<10))
        XCTAssertEqual(queue.queuedFrames, 0)

        var bytes = ImpairmentQueue(settings: settings { $0.delay = .seconds(1); $0.limitBytes = 1000 }, seed: 1)
        for n in 0..<100 { frame(n, length: 100).withUnsafeBytes { bytes.offer($0, now: at(Int64(n))) } }
        XCTAssertEqual(bytes.queuedFrames, 10)
        XCTAssertEqual(bytes.statistics.overflowed, 90)
    }

    func testRateSerializesFramesAndFillsTheQueue() {
        // 1 kbit/s: a 125-byte frame (1000 bits) takes exactly one second.
        var queue = ImpairmentQueue(settings: settings { $0.rateKilobits = 1; $0.limitFrames = 5 }, seed: 1)
        let out = pass(&queue, count: 20, spacing: .milliseconds(100), length: 125)
        // Frames 0-4 fill the queue at once; frame 10 arrives as frame 0 leaves, at 1 s, and takes
        // its place; the others find the queue full.
        XCTAssertEqual(out.map(\.number), [0, 1, 2, 3, 4, 10])
        XCTAssertEqual(out.map(\.time), (1...6).map { at(Int64($0) * 1000) })
        XCTAssertEqual(queue.statistics.overflowed, 20 - out.count)
    }

    func testSendFailuresAreCountedNotRetried() {
        var queue = ImpairmentQueue(settings: ImpairmentSettings(), seed: 1)
        frame(0).withUnsafeBytes { queue.offer($0, now: at(0)) }
        XCTAssertNil(queue.poll(now: at(0)) { _ in false })
        XCTAssertEqual(queue.statistics.sendFailed, 1)
        XCTAssertEqual(queue.statistics.forwarded, 0)
    }

    func testProbabilityDescription() {
        XCTAssertEqual(Probability.percent(20).description, "20%")
        XCTAssertEqual(Probability(perMillion: 5_000).description, "0.5%")
        XCTAssertEqual(Probability(perMillion: 123_456).description, "12.3456%")
        XCTAssertEqual(Probability(perMillion: 10_010).description, "1.001%")
    }
}
