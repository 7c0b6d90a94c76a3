// fuzz-modules: SkiffWire SkiffPlatform SkiffStack SkiffServices
// libFuzzer target for the HTTP/1.1 request parser (Sources/SkiffServices/HTTP/), compiled as one
// module with the sources of the modules above by Scripts/fuzz.sh.
//
// The first 8 bytes seed the split points and pick small or default limits; the rest is the
// stream. Properties: nothing traps; the same bytes in random pieces, one byte at a time and all at
// once give the same requests and the same error; consume never takes more than offered nor
// anything while a request waits or after an error; every request respects the limits. Then the
// same bytes go through an HTTPServer on an in-memory stream with random partial reads and writes:
// it never traps, and what it writes starts with a status line.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 8 else { return 0 }
    // In bounds: libFuzzer hands over `size` readable bytes at `data`.
    let input = UnsafeRawBufferPointer(start: data, count: size)
    var seed: UInt64 = 0
    for i in 0..<8 { seed = seed << 8 | UInt64(input[i]) }
    // Half the inputs are read as a sequence of HTTP fragments (one byte picks one), so the
    // fuzzer reaches chunked bodies, trailers and pipelining without a seed corpus.
    let expanded: [UInt8] = seed & 2 == 0 ? Array(input[8...]) : fuzzExpand(UnsafeRawBufferPointer(rebasing: input[8...]))
    return expanded.withUnsafeBytes { fuzzOne($0, seed: seed) }
}

private let fuzzFragments: [[UInt8]] = [
    "GET ", "POST ", "HEAD ", "OPTIONS ", "/", "/index.html", "/echo", "?q=1", "*", "http://h", " HTTP/1.1", " HTTP/1.0",
    " HTTP/2.0", "\r\n", "\r", "\n", " ", "\t", ":", ",", ";", "=", "\"", "Host: h", "Host:", "Content-Length: ",
    "Transfer-Encoding: ", "chunked", "gzip", "Connection: ", "close", "keep-alive", "Expect: 100-continue",
    "If-None-Match: ", "W/", "0", "1", "3", "9", "a", "F", "ffffffffffffffffff", "abc", "X-A: b", "\u{0}", "\u{7F}", "\u{FF}",
].map { Array($0.utf8) }

private func fuzzExpand(_ choices: UnsafeRawBufferPointer) -> [UInt8] {
    var out: [UInt8] = []
    for choice in choices { out.append(contentsOf: fuzzFragments[Int(choice) % fuzzFragments.count]) }
    return out
}

private func fuzzOne(_ stream: UnsafeRawBufferPointer, seed: UInt64) -> CInt {
    let limits = seed & 1 == 0
        ? HTTPLimits()
        : HTTPLimits(maxRequestLineBytes: 48, maxTargetBytes: 24, maxHeaderBytes: 96, maxHeaderCount: 4,
                     maxBodyBytes: 40, maxChunkLineBytes: 12)

    var random = FuzzRandom(seed: seed)
    let whole = fuzzParse(stream, limits: limits) { _ in Int.max }
    let single = fuzzParse(stream, limits: limits) { _ in 1 }
    let pieces = fuzzParse(stream, limits: limits) { _ in 1 + random.below(17) }
    if !fuzzSame(whole, single) { fatalError("HTTP byte-at-a-time parse differs from all-at-once") }
    if !fuzzSame(whole, pieces) { fatalError("HTTP parse in random pieces differs from all-at-once") }
    for request in whole.requests {
        if request.body.count > limits.maxBodyBytes { fatalError("HTTP body over the limit") }
        if request.headers.count > limits.maxHeaderCount { fatalError("HTTP header count over the limit") }
        if request.trailers.count > limits.maxHeaderCount { fatalError("HTTP trailer count over the limit") }
        if request.target.count > limits.maxTargetBytes { fatalError("HTTP target over the limit") }
        if request.version.major != 1 { fatalError("HTTP version other than 1.x accepted") }
    }

    fuzzServe(stream, limits: limits, random: &random)
    return 0
}

private struct FuzzOutcome {
    var requests: [HTTPRequest] = []
    var error: HTTPRequestError? = nil
}

private func fuzzParse(_ bytes: UnsafeRawBufferPointer, limits: HTTPLimits, piece: (Int) -> Int) -> FuzzOutcome {
    var parser = HTTPRequestParser(limits: limits)
    var outcome = FuzzOutcome()
    var position = 0
    while position < bytes.count {
        let end = position + min(piece(position), bytes.count - position)
        var offset = position
        while offset < end {
            // In bounds: offset < end <= bytes.count.
            let offered = UnsafeRawBufferPointer(rebasing: bytes[offset..<end])
            let n = parser.consume(offered)
            if n < 0 || n > offered.count { fatalError("HTTP consume out of range") }
            offset += n
            if parser.isComplete {
                if parser.consume(offered) != 0 { fatalError("HTTP consumed while a request waits") }
                guard let request = parser.takeRequest() else { fatalError("HTTP complete without a request") }
                if parser.isMidRequest || parser.isComplete { fatalError("HTTP state not reset after takeRequest") }
                outcome.requests.append(request)
            } else if let error = parser.error {
                if !parser.hasFailed { fatalError("HTTP error without the failed state") }
                if parser.consume(offered) != 0 { fatalError("HTTP consumed after an error") }
                outcome.error = error
                return outcome
            } else if n != offered.count {
                fatalError("HTTP consumed part of a piece without completing or failing")
            }
        }
        position = end
    }
    return outcome
}

private func fuzzSame(_ a: FuzzOutcome, _ b: FuzzOutcome) -> Bool {
    guard a.error == b.error, a.requests.count == b.requests.count else { return false }
    for (x, y) in zip(a.requests, b.requests) {
        if x.method != y.method || x.target != y.target || x.path != y.path || x.query != y.query
            || x.version != y.version || x.headers != y.headers || x.body != y.body || x.trailers != y.trailers
            || x.keepAlive != y.keepAlive {
            return false
        }
    }
    return true
}

private struct FuzzRandom {
    var state: UInt64
    init(seed: UInt64) { state = seed | 1 }
    mutating func next() -> UInt64 {
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        return state &* 0x2545_F491_4F6C_DD1D
    }
    mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(max(bound, 1))) }
}

private final class FuzzStream: StreamConnection {
    let localAddress = IPv4Address(10, 0, 0, 1)
    let localPort: UInt16 = 80
    let remoteAddress = IPv4Address(10, 0, 0, 2)
    let remotePort: UInt16 = 40000
    var inbound: [UInt8]
    var readPiece = 1
    var sendRoom = 0
    var output: [UInt8] = []
    var finished = false
    var shut = false
    var closed = false

    init(_ bytes: UnsafeRawBufferPointer) { inbound = Array(bytes) }

    func read(_ body: (UnsafeRawBufferPointer) -> Int) -> StreamReadResult {
        if closed { fatalError("HTTP server read after close") }
        if inbound.isEmpty { return finished ? .endOfStream : .wouldBlock }
        let offered = min(readPiece, inbound.count)
        let n = inbound.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[0..<offered])) }
        if n < 0 || n > offered { fatalError("HTTP server consumed out of range") }
        inbound.removeFirst(n)
        return .consumed(n)
    }

    func write(_ bytes: UnsafeRawBufferPointer) -> Int {
        if closed { fatalError("HTTP server wrote after close") }
        if shut { return -1 }
        let n = min(bytes.count, sendRoom)
        output.append(contentsOf: bytes[0..<n])
        sendRoom -= n
        return n
    }

    var writableBytes: Int { sendRoom }
    var unacknowledgedBytes: Int { 0 }
    func shutdownWrite() { shut = true }
    func close() { closed = true }
    func abort() { closed = true }
    var isOpen: Bool { !closed }
}

private final class FuzzListener: StreamListener {
    let localPort: UInt16 = 80
    var waiting: FuzzStream?
    func accept() -> (any StreamConnection)? {
        defer { waiting = nil }
        return waiting
    }
    func close() {}
}

private func fuzzServe(_ bytes: UnsafeRawBufferPointer, limits: HTTPLimits, random: inout FuzzRandom) {
    var assets = StaticAssets()
    assets.add(path: "/index.html", text: "<p>hi</p>")
    let router = HTTPRouter()
    router.serve(assets)
    router.post("/echo") { request in HTTPResponse(body: .bytes(request.body)) }
    let listener = FuzzListener()
    let stream = FuzzStream(bytes)
    listener.waiting = stream
    let server = HTTPServer(listener: listener, router: router, configuration: HTTPServerConfiguration(limits: limits))
    var now = Instant(nanoseconds: 1_000_000_000)
    for round in 0..<64 {
        stream.readPiece = 1 + random.below(64)
        stream.sendRoom = random.below(4) == 0 ? 0 : random.below(4096)
        if round == 48 { stream.finished = true }
        _ = server.step(now: now)
        now = now + Interval.milliseconds(Int64(random.below(2000)))
    }
    let prefix: [UInt8] = Array("HTTP/1.1 ".utf8)
    if !stream.output.isEmpty && !stream.output.starts(with: prefix.prefix(stream.output.count)) {
        fatalError("HTTP server output does not start with a status line")
    }
    let statistics = server.statistics
    var responses = 0
    for count in statistics.responses { responses += count }
    if statistics.requests > responses { fatalError("HTTP request without a response") }
}
