import SkiffPlatform
import SkiffWire
import XCTest
@testable import SkiffStack

final class ARPCacheTests: XCTestCase {
    let peer = IPv4Address(198, 18, 0, 2)
    let mac = MACAddress(0x52, 0x54, 0, 0, 0, 2)
    let t0 = Instant(nanoseconds: 5_000_000_000)

    func makeCache(queueLimit: Int = 4, maxEntries: Int = 8) -> ARPCache<Int> {
        ARPCache(timeout: .seconds(60), retryInterval: .seconds(1), maxRetries: 3,
                 queueLimit: queueLimit, maxEntries: maxEntries)
    }

    func testFirstPacketStartsResolutionLaterOnesOnlyQueue() {
        var cache = makeCache()
        XCTAssertEqual(cache.enqueue(1, for: peer, now: t0), .init(sendRequest: true, dropped: 0))
        XCTAssertEqual(cache.enqueue(2, for: peer, now: t0), .init(sendRequest: false, dropped: 0))
        XCTAssertTrue(cache.isPending(peer))
        XCTAssertNil(cache.lookup(peer, now: t0))
        XCTAssertEqual(cache.nextDeadline, t0 + .seconds(1))
    }

    func testRFC1122PendingQueueFullDropsOldestKeepsLatest() {
        var cache = makeCache(queueLimit: 2)
        _ = cache.enqueue(1, for: peer, now: t0)
        _ = cache.enqueue(2, for: peer, now: t0)
        XCTAssertEqual(cache.enqueue(3, for: peer, now: t0).dropped, 1)
        XCTAssertEqual(cache.learn(peer, at: mac, now: t0, createIfAbsent: false), [2, 3])
        XCTAssertEqual(cache.lookup(peer, now: t0), mac)
    }

    func testRetriesThenFailureReleasesQueuedPackets() {
        var cache = makeCache()
        _ = cache.enqueue(1, for: peer, now: t0)
        var retries = 0
        var failed: [Int] = []
        var now = t0
        for _ in 0..<10 {
            now = now + .seconds(1)
            let actions = cache.poll(now: now)
            retries += actions.retries.count
            for failure in actions.failures { failed += failure.packets }
        }
        XCTAssertEqual(retries, 3)
        XCTAssertEqual(failed, [1])
        XCTAssertEqual(cache.count, 0)
        XCTAssertNil(cache.nextDeadline)
    }

    func testNoRetryBeforeInterval() {
        var cache = makeCache()
        _ = cache.enqueue(1, for: peer, now: t0)
        XCTAssertTrue(cache.poll(now: t0 + .milliseconds(999)).retries.isEmpty)
        XCTAssertEqual(cache.poll(now: t0 + .seconds(1)).retries, [peer])
    }

    func testResolvedEntryExpiresAfterTimeout() {
        var cache = makeCache()
        _ = cache.learn(peer, at: mac, now: t0, createIfAbsent: true)
        XCTAssertEqual(cache.lookup(peer, now: t0 + .seconds(59)), mac)
        XCTAssertNil(cache.lookup(peer, now: t0 + .seconds(60)))
        XCTAssertEqual(cache.poll(now: t0 + .seconds(60)).expired, [peer])
        XCTAssertEqual(cache.count, 0)
    }

    func testRFC826MergeWithoutCreateOnlyRefreshesExisting() {
        var cache = makeCache()
        _ = cache.learn(peer, at: mac, now: t0, createIfAbsent: false)
        XCTAssertEqual(cache.count, 0)
        _ = cache.learn(peer, at: mac, now: t0, createIfAbsent: true)
        let newMAC = MACAddress(0x52, 0x54, 0, 0, 0, 0x99)
        _ = cache.learn(peer, at: newMAC, now: t0 + .seconds(30), createIfAbsent: false)
        XCTAssertEqual(cache.lookup(peer, now: t0 + .seconds(89)), newMAC)
    }

    func testStaticEntryNeverExpiresNorChanges() {
        var cache = makeCache()
        _ = cache.setStatic(peer, at: mac)
        _ = cache.learn(peer, at: MACAddress(1, 2, 3, 4, 5, 6), now: t0, createIfAbsent: true)
        XCTAssertEqual(cache.lookup(peer, now: t0 + .seconds(100_000)), mac)
        XCTAssertTrue(cache.poll(now: t0 + .seconds(100_000)).expired.isEmpty)
    }

    func testFullCacheEvictsEntryClosestToExpiryNeverPending() {
        var cache = makeCache(maxEntries: 2)
        let other = IPv4Address(198, 18, 0, 3)
        let third = IPv4Address(198, 18, 0, 4)
        _ = cache.learn(peer, at: mac, now: t0, createIfAbsent: true)
        _ = cache.enqueue(7, for: other, now: t0)
        XCTAssertTrue(cache.enqueue(8, for: third, now: t0).sendRequest)
        XCTAssertNil(cache.lookup(peer, now: t0))
        XCTAssertTrue(cache.isPending(other) && cache.isPending(third))
        // Only pending entries remain: a new address cannot get in.
        XCTAssertEqual(cache.enqueue(9, for: IPv4Address(198, 18, 0, 5), now: t0), .init(sendRequest: false, dropped: 1))
        XCTAssertEqual(cache.count, 2)
    }
}
