import SkiffPlatform
import XCTest
@testable import SkiffStack

final class TokenBucketTests: XCTestCase {
    func testBurstThenEmpty() {
        var bucket = TokenBucket(ratePerSecond: 100, burst: 5)
        let now = Instant(nanoseconds: 0)
        XCTAssertEqual((0..<8).filter { _ in bucket.take(now: now) }.count, 5)
    }

    func testRefillAtRate() {
        var bucket = TokenBucket(ratePerSecond: 100, burst: 50)
        var now = Instant(nanoseconds: 0)
        while bucket.take(now: now) {}
        now = now + .milliseconds(100)   // 10 tokens
        XCTAssertEqual((0..<20).filter { _ in bucket.take(now: now) }.count, 10)
        now = now + .milliseconds(5)     // half a token
        XCTAssertFalse(bucket.take(now: now))
        now = now + .milliseconds(5)
        XCTAssertTrue(bucket.take(now: now))
    }

    func testRefillCappedAtBurstAfterLongIdle() {
        var bucket = TokenBucket(ratePerSecond: 100, burst: 50)
        var now = Instant(nanoseconds: 0)
        while bucket.take(now: now) {}
        now = now + .seconds(1_000_000_000)
        XCTAssertEqual((0..<100).filter { _ in bucket.take(now: now) }.count, 50)
    }

    func testClockSteppingBackGainsNothing() {
        var bucket = TokenBucket(ratePerSecond: 10, burst: 1)
        XCTAssertTrue(bucket.take(now: Instant(nanoseconds: 10_000_000_000)))
        XCTAssertFalse(bucket.take(now: Instant(nanoseconds: 0)))
        XCTAssertFalse(bucket.take(now: Instant(nanoseconds: 10_050_000_000)))
        XCTAssertTrue(bucket.take(now: Instant(nanoseconds: 10_100_000_000)))
    }
}
