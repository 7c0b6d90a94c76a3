import SkiffPlatform
import SkiffWire
import XCTest
@testable import SkiffStack

/// The stub resolver against scripted servers over the in-memory link (DNSTestServer.swift).
final class DNSResolverTests: XCTestCase {
    typealias S = DNSTestServer
    let address1 = IPv4Address(198, 51, 100, 1)
    let address2 = IPv4Address(198, 51, 100, 2)
    let forged = IPv4Address(203, 0, 113, 66)

    // MARK: Answers

    func testAnswerFromServerThenFromCache() throws {
        let sim = try DNSSimulation()
        sim.server.script = { seen in .reply(S.answer(seen.message, [self.address1, self.address2], ttl: 300)) }
        let query = sim.resolve("www.skiff.test")
        let answer = try XCTUnwrap(query.answer, "\(String(describing: query.result))")
        XCTAssertEqual(answer.addresses, [address1, address2])
        XCTAssertEqual(answer.name, S.name("www.skiff.test"))
        XCTAssertEqual(answer.canonicalName, S.name("www.skiff.test"))
        XCTAssertEqual(answer.ttl, 300)
        XCTAssertEqual(answer.server, S.first)
        XCTAssertFalse(answer.fromCache)

        // The query: standard, recursion desired, one A/IN question, from an ephemeral port to 53.
        let seen = try XCTUnwrap(sim.server.seen.first)
        XCTAssertEqual(sim.server.seen.count, 1)
        XCTAssertEqual(seen.message.questions, [DNSQuestion(name: S.name("www.skiff.test"), type: .a)])
        XCTAssertTrue(seen.message.header.recursionDesired)
        XCTAssertFalse(seen.message.header.isResponse)
        XCTAssertEqual(seen.source, TwoStacks.addressA)
        XCTAssertTrue(UDPSocketTable.ephemeralPorts.contains(seen.sourcePort))

        sim.advance(.seconds(100))
        let again = sim.resolve("WWW.Skiff.Test")  // names compare case-insensitively
        let cached = try XCTUnwrap(again.answer)
        XCTAssertTrue(cached.fromCache)
        XCTAssertEqual(cached.ttl, 200)
        XCTAssertEqual(cached.server, S.first)
        XCTAssertEqual(cached.addresses, [address1, address2])
        XCTAssertEqual(sim.server.seen.count, 1, "answered from the cache")
        XCTAssertEqual(sim.resolver.statistics.cacheHits, 1)
        // The lookup's port is released when it ends.
        XCTAssertEqual(sim.net.a.udpSockets.count, 0)
    }

    func testRandomIDsAndPortsPerLookup() throws {
        let sim = try DNSSimulation()
        for index in 0..<8 { sim.resolve("host\(index).skiff.test") }
        let ids = Set(sim.server.seen.map { $0.message.header.id })
        let ports = Set(sim.server.seen.map { $0.sourcePort })
        XCTAssertEqual(sim.server.seen.count, 8)
        XCTAssertGreaterThan(ids.count, 6)
        XCTAssertGreaterThan(ports.count, 6, "not the next free port each time")
        XCTAssertTrue(ports.allSatisfy { UDPSocketTable.ephemeralPorts.contains($0) })
    }

    func testDifferentKeysGiveDifferentIDs() {
        var a = DNSRandom(k0: 1, k1: 2)
        var b = DNSRandom(k0: 1, k1: 3)
        let fromA = (0..<4).map { _ in a.next() }
        let fromB = (0..<4).map { _ in b.next() }
        XCTAssertNotEqual(fromA, fromB)
        XCTAssertEqual(Set(fromA).count, 4)
    }

    func testLiteralAddressIsReturnedWithoutAQuery() throws {
        let sim = try DNSSimulation()
        let query = sim.resolver.resolve("198.18.0.77", now: sim.now)
        XCTAssertEqual(query.answer?.addresses, [IPv4Address(198, 18, 0, 77)])
        XCTAssertNil(query.answer?.server)
        XCTAssertTrue(sim.server.seen.isEmpty)
    }

    func testInvalidNamesAndNoServers() throws {
        let sim = try DNSSimulation(servers: [])
        XCTAssertEqual(sim.resolver.resolve("a..b", now: sim.now).error, .invalidName)
        XCTAssertEqual(sim.resolver.resolve("", now: sim.now).error, .invalidName)
        XCTAssertEqual(sim.resolver.resolve(".", now: sim.now).error, .invalidName)
        XCTAssertEqual(sim.resolver.resolve(String(repeating: "x", count: 64) + ".test", now: sim.now).error, .invalidName)
        XCTAssertEqual(sim.resolver.resolve("www.skiff.test", now: sim.now).error, .noServers)
        XCTAssertEqual(sim.resolver.activeLookups, 0)
    }

    func testCompletionIsCalledFromStepNotFromResolve() throws {
        let sim = try DNSSimulation()
        var completed: [String] = []
        let literal = sim.resolver.resolve("198.18.0.9", now: sim.now) { completed.append($0.name) }
        XCTAssertTrue(literal.isFinished)
        XCTAssertEqual(completed, [])
        XCTAssertEqual(sim.resolver.nextDeadline(now: sim.now), sim.now)
        let query = sim.resolver.resolve("www.skiff.test", now: sim.now) { completed.append($0.name) }
        sim.run(until: query)
        XCTAssertEqual(completed, ["198.18.0.9", "www.skiff.test"])
    }

    func testCancelEndsTheLookupWithoutCompletion() throws {
        let sim = try DNSSimulation()
        sim.server.script = { _ in .drop }
        var called = false
        let query = sim.resolver.resolve("www.skiff.test", now: sim.now) { _ in called = true }
        sim.pump()
        sim.resolver.cancel(query)
        sim.pump()
        XCTAssertEqual(query.error, .cancelled)
        XCTAssertFalse(called)
        XCTAssertNil(sim.resolver.nextDeadline(now: sim.now))
    }

    func testTooManyLookups() throws {
        let sim = try DNSSimulation { $0.maximumLookups = 2 }
        sim.server.script = { _ in .drop }
        sim.resolver.resolve("a.test", now: sim.now)
        sim.resolver.resolve("b.test", now: sim.now)
        XCTAssertEqual(sim.resolver.resolve("c.test", now: sim.now).error, .tooManyLookups)
    }

    // MARK: CNAME

    func testCNAMEChainInsideTheAnswer() throws {
        let sim = try DNSSimulation()
        sim.server.script = { seen in
            var reply = S.response(to: seen.message)
            reply.answers = [
                S.cname(S.name("www.skiff.test"), S.name("web.skiff.test"), ttl: 600),
                S.a(S.name("other.skiff.test"), self.forged),  // not on the chain: ignored
                S.cname(S.name("web.skiff.test"), S.name("host.cdn.test"), ttl: 120),
                S.a(S.name("host.cdn.test"), self.address1, ttl: 3600),
            ]
            return .reply(reply)
        }
        let answer = try XCTUnwrap(sim.resolve("www.skiff.test").answer)
        XCTAssertEqual(answer.addresses, [address1])
        XCTAssertEqual(answer.canonicalName, S.name("host.cdn.test"))
        XCTAssertEqual(answer.ttl, 120, "the chain's lowest TTL")
        XCTAssertEqual(sim.server.seen.count, 1)
    }

    func testChainEndingWithoutAddressIsAskedAgain() throws {
        let sim = try DNSSimulation()
        sim.server.script = { seen in
            let name = seen.message.questions[0].name
            var reply = S.response(to: seen.message)
            if name == S.name("www.skiff.test") {
                reply.answers = [S.cname(name, S.name("lb.other.test"), ttl: 50)]
            } else if name == S.name("lb.other.test") {
                reply.answers = [S.a(name, self.address2, ttl: 400)]
            }
            return .reply(reply)
        }
        let answer = try XCTUnwrap(sim.resolve("www.skiff.test").answer)
        XCTAssertEqual(answer.addresses, [address2])
        XCTAssertEqual(answer.canonicalName, S.name("lb.other.test"))
        XCTAssertEqual(answer.name, S.name("www.skiff.test"))
        XCTAssertEqual(answer.ttl, 50)
        XCTAssertEqual(sim.server.seen.map { $0.message.questions[0].name },
                       [S.name("www.skiff.test"), S.name("lb.other.test")])
        // Both names are cached: the target for its own TTL.
        XCTAssertEqual(sim.resolve("lb.other.test").answer?.ttl, 400)
        XCTAssertEqual(sim.server.seen.count, 2)
    }

    func testCNAMELoopInOneReply() throws {
        let sim = try DNSSimulation()
        sim.server.script = { seen in
            var reply = S.response(to: seen.message)
            reply.answers = [S.cname(S.name("a.skiff.test"), S.name("b.skiff.test")),
                             S.cname(S.name("b.skiff.test"), S.name("a.skiff.test"))]
            return .reply(reply)
        }
        XCTAssertEqual(sim.resolve("a.skiff.test").error, .cnameLoop)
    }

    func testCNAMELoopAcrossQueries() throws {
        let sim = try DNSSimulation()
        sim.server.script = { seen in
            let name = seen.message.questions[0].name
            var reply = S.response(to: seen.message)
            reply.answers = [S.cname(name, name == S.name("a.skiff.test") ? S.name("b.skiff.test") : S.name("a.skiff.test"))]
            return .reply(reply)
        }
        XCTAssertEqual(sim.resolve("a.skiff.test").error, .cnameLoop)
        XCTAssertEqual(sim.server.seen.count, 2)
    }

    func testCNAMEChainTooLong() throws {
        let sim = try DNSSimulation { $0.maximumCNAMEChain = 3 }
        sim.server.script = { seen in
            var reply = S.response(to: seen.message)
            reply.answers = (0..<4).map { S.cname(S.name("n\($0).skiff.test"), S.name("n\($0 + 1).skiff.test")) }
                + [S.a(S.name("n4.skiff.test"), self.address1)]
            return .reply(reply)
        }
        XCTAssertEqual(sim.resolve("n0.skiff.test").error, .cnameChainTooLong)
        XCTAssertEqual(sim.resolve("n1.skiff.test").answer?.addresses, [address1], "three links are allowed")
    }

    // MARK: Negative answers

    func testNXDOMAINIsCachedForTheSOAMinimum() throws {
        let sim = try DNSSimulation()
        sim.server.script = { seen in .reply(S.nameError(seen.message, soaTTL: 300, minimum: 60)) }
        XCTAssertEqual(sim.resolve("nope.skiff.test").error, .nameError)
        XCTAssertEqual(sim.server.seen.count, 1)

        sim.advance(.seconds(59))
        XCTAssertEqual(sim.resolve("nope.skiff.test").error, .nameError)
        XCTAssertEqual(sim.server.seen.count, 1, "from the negative cache")
        XCTAssertEqual(sim.resolver.statistics.negativeCacheHits, 1)

        sim.advance(.seconds(2))  // RFC 2308 §5: min(SOA TTL 300, MINIMUM 60) has passed
        XCTAssertEqual(sim.resolve("nope.skiff.test").error, .nameError)
        XCTAssertEqual(sim.server.seen.count, 2)
    }

    func testNegativeTTLIsCapped() throws {
        let sim = try DNSSimulation { $0.maximumNegativeTTL = 100 }
        sim.server.script = { seen in .reply(S.nameError(seen.message, soaTTL: 86_400, minimum: 86_400)) }
        XCTAssertEqual(sim.resolve("nope.skiff.test").error, .nameError)
        sim.advance(.seconds(99))
        sim.resolve("nope.skiff.test")
        XCTAssertEqual(sim.server.seen.count, 1)
        sim.advance(.seconds(2))
        sim.resolve("nope.skiff.test")
        XCTAssertEqual(sim.server.seen.count, 2)
    }

    func testNXDOMAINWithoutSOAIsNotCached() throws {
        let sim = try DNSSimulation()
        sim.server.script = { seen in .reply(S.nameError(seen.message)) }
        XCTAssertEqual(sim.resolve("nope.skiff.test").error, .nameError)
        XCTAssertEqual(sim.resolve("nope.skiff.test").error, .nameError)
        XCTAssertEqual(sim.server.seen.count, 2)
    }

    func testNoDataIsNoAddress() throws {
        let sim = try DNSSimulation()
        sim.server.script = { seen in
            var reply = S.response(to: seen.message)
            reply.authorities = [S.soa(S.name("skiff.test"), ttl: 30, minimum: 300)]
            return .reply(reply)
        }
        XCTAssertEqual(sim.resolve("v6only.skiff.test").error, .noAddress)
        XCTAssertEqual(sim.resolve("v6only.skiff.test").error, .noAddress)
        XCTAssertEqual(sim.server.seen.count, 1, "NODATA cached for min(30, 300) s")
    }

    func testNXDOMAINAtTheEndOfAChain() throws {
        let sim = try DNSSimulation()
        sim.server.script = { seen in
            var reply = S.nameError(seen.message, soaTTL: 60)
            reply.answers = [S.cname(S.name("www.skiff.test"), S.name("gone.skiff.test"))]
            return .reply(reply)
        }
        XCTAssertEqual(sim.resolve("www.skiff.test").error, .nameError)
    }

    // MARK: Servers

    func testServerFailureMovesToTheNextServerAtOnce() throws {
        let sim = try DNSSimulation(servers: [S.first, S.second])
        sim.server.script = { seen in
            seen.server == S.first ? .reply(S.response(to: seen.message, rcode: .serverFailure))
                : .reply(S.answer(seen.message, [self.address2]))
        }
        let start = sim.now
        let answer = try XCTUnwrap(sim.resolve("www.skiff.test").answer)
        XCTAssertEqual(answer.server, S.second)
        XCTAssertEqual(answer.addresses, [address2])
        XCTAssertEqual(sim.server.seen.map { $0.server }, [S.first, S.second])
        XCTAssertEqual(sim.server.seen.last?.time, start, "no wait for a timeout")
        XCTAssertEqual(sim.resolver.statistics.serverFailures, 1)
    }

    func testEveryServerRefusing() throws {
        let sim = try DNSSimulation(servers: [S.first, S.second])
        sim.server.script = { seen in .reply(S.response(to: seen.message, rcode: .refused)) }
        XCTAssertEqual(sim.resolve("www.skiff.test").error, .serverFailure(.refused))
        XCTAssertEqual(sim.server.seen.count, 2)
    }

    func testTimeoutRetryThenNextServer() throws {
        let sim = try DNSSimulation(servers: [S.first, S.second])
        sim.server.script = { seen in seen.server == S.first ? .drop : .reply(S.answer(seen.message, [self.address1])) }
        let start = sim.now
        let answer = try XCTUnwrap(sim.resolve("www.skiff.test").answer)
        XCTAssertEqual(answer.server, S.second)
        // 1 s for the first transmission, 2 s for the second, then the next server.
        XCTAssertEqual(sim.server.seen.map { $0.server }, [S.first, S.first, S.second])
        XCTAssertEqual(sim.server.seen.map { ($0.time - start).milliseconds }, [0, 1000, 3000])
        XCTAssertNotEqual(sim.server.seen[0].message.header.id, sim.server.seen[1].message.header.id)
        XCTAssertEqual(sim.resolver.statistics.retries, 1)
        XCTAssertEqual(sim.resolver.statistics.serverSwitches, 1)
        XCTAssertTrue(sim.log.contains { $0.contains("198.18.0.2 did not answer") }, "\(sim.log)")
    }

    func testAllServersSilentIsATimeout() throws {
        let sim = try DNSSimulation(servers: [S.first, S.second, S.third])
        sim.server.script = { _ in .drop }
        let start = sim.now
        let query = sim.resolve("www.skiff.test")
        XCTAssertEqual(query.error, .timeout)
        XCTAssertEqual(sim.server.seen.count, 6)
        XCTAssertEqual((sim.now - start).milliseconds, 9000)
    }

    func testLookupTimeLimitBoundsTheTotal() throws {
        let sim = try DNSSimulation(servers: [S.first, S.second, S.third]) { $0.lookupTimeLimit = .seconds(4) }
        sim.server.script = { _ in .drop }
        let start = sim.now
        XCTAssertEqual(sim.resolve("www.skiff.test").error, .timeout)
        XCTAssertEqual((sim.now - start).milliseconds, 4000)
        XCTAssertEqual(sim.server.seen.count, 3)
    }

    func testDeadServerWithoutARPThenSecondAnswers() throws {
        // 198.18.0.9 does not exist: the query waits behind ARP and times out.
        let dead = IPv4Address(198, 18, 0, 9)
        let sim = try DNSSimulation(servers: [dead, S.first])
        let answer = try XCTUnwrap(sim.resolve("www.skiff.test").answer)
        XCTAssertEqual(answer.server, S.first)
    }

    func testLateReplyToAnEarlierTransmissionIsAccepted() throws {
        let sim = try DNSSimulation(servers: [S.first, S.second])
        var held: SeenDNSQuery? = nil
        sim.server.script = { seen in
            if held == nil { held = seen; return .drop }   // the first query's reply comes late
            return .custom { server, _ in
                // The answer to the first transmission, sent while the second is awaited.
                server.send(S.encode(S.answer(held!.message, [self.address1])), from: S.first, to: held!)
            }
        }
        let answer = try XCTUnwrap(sim.resolve("www.skiff.test").answer)
        XCTAssertEqual(answer.addresses, [address1])
        XCTAssertEqual(sim.server.seen.count, 2)
    }

    func testUnreachableServersAreSkipped() throws {
        let sim = try DNSSimulation(servers: [IPv4Address(192, 0, 2, 53), S.first])  // no route to 192.0.2.0/24
        let answer = try XCTUnwrap(sim.resolve("www.skiff.test").answer)
        XCTAssertEqual(answer.server, S.first)
        let none = try DNSSimulation(servers: [IPv4Address(192, 0, 2, 53)])
        XCTAssertEqual(none.resolve("www.skiff.test").error, .unreachable(.noRoute))
    }

    // MARK: Spoofing (RFC 5452 §9.1)

    func testForgedRepliesAreIgnored() throws {
        let sim = try DNSSimulation()
        sim.server.script = { seen in
            .custom { server, query in
                let message = query.message
                // Wrong ID.
                var wrongID = S.answer(message, [self.forged])
                wrongID.header.id = message.header.id &+ 1
                server.send(S.encode(wrongID), from: S.first, to: query)
                // Right reply from the wrong port.
                server.send(S.encode(S.answer(message, [self.forged])), from: S.first, port: 5353, to: query)
                // Right reply from another address.
                server.send(S.encode(S.answer(message, [self.forged])), from: S.third, to: query)
                // Another question.
                var other = S.answer(message, [self.forged])
                other.questions = [DNSQuestion(name: S.name("evil.skiff.test"), type: .a)]
                server.send(S.encode(other), from: S.first, to: query)
                // Another type.
                var aaaa = S.answer(message, [self.forged])
                aaaa.questions[0].type = .aaaa
                server.send(S.encode(aaaa), from: S.first, to: query)
                // Not a response.
                var notResponse = S.answer(message, [self.forged])
                notResponse.header.isResponse = false
                server.send(S.encode(notResponse), from: S.first, to: query)
                // Garbage.
                server.send([1, 2, 3], from: S.first, to: query)
                // Then the real one.
                server.send(S.encode(S.answer(message, [self.address1])), from: S.first, to: query)
            }
        }
        let answer = try XCTUnwrap(sim.resolve("www.skiff.test").answer)
        XCTAssertEqual(answer.addresses, [address1])
        XCTAssertEqual(sim.resolver.statistics.repliesIgnored, 7)
        XCTAssertEqual(sim.resolver.statistics.malformedReplies, 0)
    }

    // MARK: TTLs and the cache

    func testTTLExpiry() throws {
        let sim = try DNSSimulation()
        sim.server.script = { seen in .reply(S.answer(seen.message, [self.address1], ttl: 30)) }
        sim.resolve("www.skiff.test")
        sim.advance(.milliseconds(29_500))
        let cached = try XCTUnwrap(sim.resolve("www.skiff.test").answer)
        XCTAssertTrue(cached.fromCache)
        XCTAssertEqual(cached.ttl, 1, "half a second left rounds up")
        sim.advance(.milliseconds(500))
        let fresh = try XCTUnwrap(sim.resolve("www.skiff.test").answer)
        XCTAssertFalse(fresh.fromCache)
        XCTAssertEqual(sim.server.seen.count, 2)
    }

    func testTTLZeroIsNotCached() throws {
        let sim = try DNSSimulation()
        sim.server.script = { seen in .reply(S.answer(seen.message, [self.address1], ttl: 0)) }
        XCTAssertEqual(sim.resolve("www.skiff.test").answer?.ttl, 0)
        XCTAssertFalse(try XCTUnwrap(sim.resolve("www.skiff.test").answer).fromCache)
        XCTAssertEqual(sim.server.seen.count, 2)
        XCTAssertEqual(sim.resolver.cachedNames, 0)
    }

    func testTTLsAreCappedAndTopBitMeansZero() throws {
        let sim = try DNSSimulation()
        sim.server.script = { seen in
            let name = seen.message.questions[0].name
            return .reply(S.answer(seen.message, [self.address1], ttl: name == S.name("long.test") ? 30 * 86_400 : 0x8000_0001))
        }
        XCTAssertEqual(sim.resolve("long.test").answer?.ttl, 86_400)
        XCTAssertEqual(sim.resolve("odd.test").answer?.ttl, 0, "RFC 2181 §8")
    }

    func testCacheIsBoundedAndEvictsTheOldest() throws {
        let sim = try DNSSimulation { $0.cacheEntries = 4 }
        for index in 0..<6 { sim.resolve("h\(index).skiff.test") }
        XCTAssertEqual(sim.resolver.cachedNames, 4)
        XCTAssertEqual(sim.resolver.statistics.cacheEvictions, 2)
        XCTAssertFalse(try XCTUnwrap(sim.resolve("h0.skiff.test").answer).fromCache, "the oldest went first")
        XCTAssertTrue(try XCTUnwrap(sim.resolve("h5.skiff.test").answer).fromCache)
    }

    func testFullCacheDropsExpiredEntriesFirst() {
        var cache = DNSCache()
        let now = Instant(nanoseconds: 0)
        let content = DNSCacheContent.addresses([address1], canonicalName: S.name("x.test"))
        cache.insert(S.name("old.test"), content, ttl: 1000, server: nil, now: now, capacity: 3)
        cache.insert(S.name("short.test"), content, ttl: 5, server: nil, now: now, capacity: 3)
        cache.insert(S.name("mid.test"), content, ttl: 1000, server: nil, now: now, capacity: 3)
        cache.insert(S.name("new.test"), content, ttl: 1000, server: nil, now: now + .seconds(10), capacity: 3)
        XCTAssertNotNil(cache.lookup(S.name("old.test"), now: now + .seconds(10)), "the expired entry went, not the oldest")
        XCTAssertNil(cache.lookup(S.name("short.test"), now: now + .seconds(10)))
        XCTAssertEqual(cache.count, 3)
    }

    // MARK: Search list

    func testSearchListWithNdotsOne() throws {
        let sim = try DNSSimulation(search: ["corp.test", "skiff.test"])
        sim.server.script = { seen in
            let name = seen.message.questions[0].name
            return name == S.name("www.skiff.test") ? .reply(S.answer(seen.message, [self.address1]))
                : .reply(S.nameError(seen.message))
        }
        let answer = try XCTUnwrap(sim.resolve("www").answer)
        XCTAssertEqual(answer.name, S.name("www.skiff.test"))
        XCTAssertEqual(sim.server.seen.map { $0.message.questions[0].name.description },
                       ["www.corp.test", "www.skiff.test"])

        // A name with a dot is asked as given first, then with the search list.
        let other = sim.resolve("www.skiff")
        XCTAssertEqual(other.error, .nameError)
        XCTAssertEqual(sim.server.seen.suffix(3).map { $0.message.questions[0].name.description },
                       ["www.skiff", "www.skiff.corp.test", "www.skiff.skiff.test"])

        // An absolute name is asked alone.
        sim.resolve("www.")
        XCTAssertEqual(sim.server.seen.last?.message.questions[0].name.description, "www")
        XCTAssertEqual(sim.server.seen.count, 6)
    }

    func testSearchCandidates() {
        var configuration = DNSResolverConfiguration(searchDomains: ["a.test", "b.test", "c.test", "d.test", "e.test",
                                                                     "f.test", "g.test"].map { S.name($0) })
        XCTAssertEqual(DNSResolver.candidates(for: S.name("x"), absolute: false, configuration: configuration).count, 7,
                       "six search domains, then the name")
        configuration.ndots = 2
        XCTAssertEqual(DNSResolver.candidates(for: S.name("x.y"), absolute: false, configuration: configuration).last,
                       S.name("x.y"))
        XCTAssertEqual(DNSResolver.candidates(for: S.name("x.y.z"), absolute: false, configuration: configuration).first,
                       S.name("x.y.z"))
        XCTAssertTrue(DNSResolver.isAbsolute("www.test."))
        XCTAssertFalse(DNSResolver.isAbsolute("www.test"))
        XCTAssertFalse(DNSResolver.isAbsolute("www\\."))
        XCTAssertTrue(DNSResolver.isAbsolute("www\\\\."))
        // A name too long with a domain appended is left out.
        let long = S.name((0..<4).map { _ in String(repeating: "x", count: 62) }.joined(separator: "."))
        XCTAssertEqual(DNSResolver.candidates(for: long, absolute: false, configuration: configuration), [long])
    }

    func testSearchPrefersNoDataOverNXDOMAIN() throws {
        let sim = try DNSSimulation(search: ["corp.test", "skiff.test"])
        sim.server.script = { seen in
            seen.message.questions[0].name == S.name("db.corp.test") ? .reply(S.response(to: seen.message))
                : .reply(S.nameError(seen.message))
        }
        XCTAssertEqual(sim.resolve("db").error, .noAddress)
        XCTAssertEqual(sim.server.seen.count, 3)
    }

    // MARK: Malformed and truncated replies

    func testTruncatedReply() throws {
        let sim = try DNSSimulation(servers: [S.first, S.second])
        sim.server.script = { seen in
            var reply = S.answer(seen.message, [self.address1])
            reply.header.isTruncated = true
            var bytes = S.encode(reply)
            bytes.removeLast(6)  // cut inside the answer, as a server that truncates does
            return .raw(bytes)
        }
        XCTAssertEqual(sim.resolve("big.skiff.test").error, .truncated)
        XCTAssertEqual(sim.resolver.statistics.truncatedReplies, 1)
        XCTAssertEqual(sim.server.seen.count, 1)
    }

    func testMalformedReplyMovesOnAndIsReported() throws {
        let sim = try DNSSimulation(servers: [S.first, S.second])
        sim.server.script = { seen in
            var bytes = S.encode(S.answer(seen.message, [self.address1]))
            bytes.removeLast(2)  // the A record's data cut short, no TC
            return .raw(bytes)
        }
        XCTAssertEqual(sim.resolve("www.skiff.test").error, .malformedReply)
        XCTAssertEqual(sim.server.seen.count, 2)
        XCTAssertEqual(sim.resolver.statistics.malformedReplies, 2)
    }

    /// Seeded random damage to a valid reply: every outcome is a value, nothing traps.
    func testInterpretNeverTrapsOnDamagedReplies() {
        var random = SplitMix64(seed: 53)
        let question = S.name("www.skiff.test")
        var query = DNSMessage.query(id: 7, name: question, type: .a)
        var reply = DNSTestServer.response(to: query)
        reply.answers = [S.cname(question, S.name("web.skiff.test")), S.a(S.name("web.skiff.test"), address1)]
        reply.authorities = [S.soa(S.name("skiff.test"), ttl: 60, minimum: 30)]
        query.header.id = 7
        let clean = S.encode(reply)
        var outcomes = 0
        for _ in 0..<5000 {
            var bytes = clean
            for _ in 0..<(1 + random.next(below: 4)) {
                switch random.next(below: 3) {
                case 0: bytes[random.next(below: bytes.count)] = UInt8(truncatingIfNeeded: random.next())
                case 1: bytes.removeLast(random.next(below: min(8, bytes.count)))
                default: bytes.append(UInt8(truncatingIfNeeded: random.next()))
                }
                if bytes.isEmpty { bytes = [0] }
            }
            bytes.withUnsafeBytes { raw in
                _ = DNSReply.matches(raw, id: 7, question: question)
                switch DNSReply.interpret(raw, question: question, earlier: [], maximumChain: 8) {
                case .addresses, .alias, .nameError, .noAddress, .failure: outcomes += 1
                }
            }
        }
        XCTAssertEqual(outcomes, 5000)
    }

    func testInterpretRules() {
        let question = S.name("www.skiff.test")
        let query = DNSMessage.query(id: 1, name: question, type: .a)
        func outcome(_ build: (inout DNSMessage) -> Void) -> DNSReplyOutcome {
            var reply = S.response(to: query)
            build(&reply)
            return S.encode(reply).withUnsafeBytes {
                DNSReply.interpret($0, question: question, earlier: [], maximumChain: 8)
            }
        }
        // A record of another class is ignored.
        XCTAssertEqual(outcome { $0.answers = [DNSResourceRecord(name: question, type: .a, recordClass: .ch, ttl: 5,
                                                                 data: .other([1, 2, 3, 4]))] },
                       .noAddress(chain: [], negativeTTL: nil))
        // SOA of an unrelated zone gives no negative TTL.
        XCTAssertEqual(outcome { $0.header.rcode = .nameError; $0.authorities = [S.soa(S.name("other.test"), ttl: 60, minimum: 60)] },
                       .nameError(chain: [], negativeTTL: nil))
        XCTAssertEqual(outcome { $0.header.rcode = .notImplemented }, .failure(.serverFailure(.notImplemented)))
        XCTAssertEqual(outcome { $0.answers = [S.cname(question, S.name("x.test"), ttl: 9)] },
                       .alias(chain: [S.name("x.test")], ttl: 9))
        XCTAssertEqual(outcome { $0.answers = [S.cname(question, question)] }, .failure(.cnameLoop))
        // Duplicated addresses are given once.
        XCTAssertEqual(outcome { $0.answers = [S.a(question, self.address1, ttl: 20), S.a(question, self.address1, ttl: 10)] },
                       .addresses([address1], chain: [], ttl: 10))
    }
}
