import SkiffPlatform
import SkiffWire
import SkiffStack
import SkiffServices
import XCTest

/// An in-memory `StreamConnection`: the test puts bytes in `inbound` and reads what the server
/// wrote from `output`. `readPiece` bounds the bytes offered per read (partial reads);
/// `sendRoom` bounds what writes accept (backpressure).
final class FakeStream: StreamConnection {
    let localAddress = IPv4Address(10, 0, 0, 1)
    let localPort: UInt16 = 80
    let remoteAddress: IPv4Address
    let remotePort: UInt16

    var inbound: [UInt8] = []
    /// The most bytes offered to one read callback.
    var readPiece = Int.max
    /// After `inbound` is drained, read reports end of stream.
    var peerFinished = false
    /// The next read reports a reset.
    var resetPending = false
    /// Bytes the send buffer still takes; each write lowers it.
    var sendRoom = Int.max
    /// The most one write takes even when `sendRoom` is larger (short writes).
    var writeLimit = Int.max
    var output: [UInt8] = []
    var consumedBytes = 0
    private(set) var didShutdownWrite = false
    private(set) var didClose = false
    private(set) var didAbort = false
    private(set) var reads = 0

    init(port: UInt16 = 40000) {
        remoteAddress = IPv4Address(10, 0, 0, 2)
        remotePort = port
    }

    func send(_ text: String) { inbound.append(contentsOf: Array(text.utf8)) }
    var outputText: String { String(decoding: output, as: UTF8.self) }

    func read(_ body: (UnsafeRawBufferPointer) -> Int) -> StreamReadResult {
        reads += 1
        precondition(!didClose && !didAbort, "read after close")
        if resetPending { return .reset }
        if inbound.isEmpty { return peerFinished ? .endOfStream : .wouldBlock }
        let offered = min(readPiece, inbound.count)
        let consumed = inbound.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[0..<offered])) }
        precondition(consumed >= 0 && consumed <= offered, "consumed more than offered")
        inbound.removeFirst(consumed)
        consumedBytes += consumed
        return .consumed(consumed)
    }

    func write(_ bytes: UnsafeRawBufferPointer) -> Int {
        precondition(!didClose && !didAbort, "write after close")
        if didShutdownWrite || resetPending { return -1 }
        let n = min(bytes.count, sendRoom, writeLimit)
        output.append(contentsOf: bytes[0..<n])
        if sendRoom != Int.max { sendRoom -= n }
        return n
    }

    var writableBytes: Int { sendRoom }
    var unacknowledgedBytes: Int { 0 }
    func shutdownWrite() { didShutdownWrite = true }
    func close() { didClose = true }
    func abort() { didAbort = true }
    var isOpen: Bool { !didClose && !didAbort && !resetPending }
}

final class FakeListener: StreamListener {
    let localPort: UInt16 = 80
    var backlog: [FakeStream] = []
    private(set) var closed = false
    func accept() -> (any StreamConnection)? {
        backlog.isEmpty ? nil : backlog.removeFirst()
    }
    func close() { closed = true }
}

/// A response as the tests see it.
struct ParsedResponse: Equatable {
    var status: Int
    var headers: [(String, String)]
    var body: [UInt8]
    /// The content sizes of the chunks, for a chunked body.
    var chunkSizes: [Int] = []
    var bodyText: String { String(decoding: body, as: UTF8.self) }

    static func == (a: ParsedResponse, b: ParsedResponse) -> Bool {
        a.status == b.status && a.body == b.body && a.headers.map { $0.0 + ":" + $0.1 } == b.headers.map { $0.0 + ":" + $0.1 }
    }

    func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }
}

/// Splits a server's output into responses. `noBody` says which responses (by index) answer
/// HEAD; 1xx, 204 and 304 never have a body. Bodies are framed by Content-Length, chunked
/// transfer coding (de-chunked here, strictly: sizes in hex, CRLF after each chunk, an empty
/// trailer section) or, without either, the end of the output. Fails the test on malformed output.
func parseResponses(_ bytes: [UInt8], noBody: Set<Int> = [], file: StaticString = #filePath, line: UInt = #line) -> [ParsedResponse] {
    var responses: [ParsedResponse] = []
    var i = 0
    func readLine() -> String? {
        var j = i
        while j + 1 < bytes.count && !(bytes[j] == 13 && bytes[j + 1] == 10) { j += 1 }
        guard j + 1 < bytes.count else { return nil }
        let text = String(decoding: bytes[i..<j], as: UTF8.self)
        i = j + 2
        return text
    }
    while i < bytes.count {
        guard let statusLine = readLine(), statusLine.hasPrefix("HTTP/1.1 "), statusLine.count >= 12,
              let status = Int(statusLine.dropFirst(9).prefix(3)) else {
            XCTFail("malformed status line at byte \(i)", file: file, line: line)
            return responses
        }
        var headers: [(String, String)] = []
        while let fieldLine = readLine(), !fieldLine.isEmpty {
            guard let colon = fieldLine.firstIndex(of: ":") else {
                XCTFail("malformed field line \(fieldLine)", file: file, line: line)
                return responses
            }
            let value = fieldLine[fieldLine.index(after: colon)...].drop { $0 == " " || $0 == "\t" }
            headers.append((String(fieldLine[..<colon]), String(value)))
        }
        var response = ParsedResponse(status: status, headers: headers, body: [])
        let index = responses.count
        if status >= 200 && status != 204 && status != 304 && !noBody.contains(index) {
            if response.header("Transfer-Encoding") == "chunked" {
                while true {
                    guard let sizeLine = readLine(), let size = Int(sizeLine, radix: 16), size >= 0,
                          sizeLine.allSatisfy({ $0.isHexDigit }) else {
                        XCTFail("malformed chunk size at byte \(i)", file: file, line: line)
                        return responses
                    }
                    if size == 0 {
                        guard readLine() == "" else {
                            XCTFail("no empty line after the last chunk", file: file, line: line)
                            return responses
                        }
                        break
                    }
                    guard i + size + 2 <= bytes.count, bytes[i + size] == 13, bytes[i + size + 1] == 10 else {
                        XCTFail("truncated chunk or no CRLF after it at byte \(i)", file: file, line: line)
                        return responses
                    }
                    response.body.append(contentsOf: bytes[i..<(i + size)])
                    response.chunkSizes.append(size)
                    i += size + 2
                }
            } else if let lengthText = response.header("Content-Length") {
                let length = Int(lengthText) ?? 0
                guard i + length <= bytes.count else {
                    XCTFail("truncated body", file: file, line: line)
                    return responses
                }
                response.body = Array(bytes[i..<(i + length)])
                i += length
            } else {
                // Close-delimited (RFC 9112 §6.3 rule 8): the rest of the output.
                response.body = Array(bytes[i...])
                i = bytes.count
            }
        }
        responses.append(response)
    }
    return responses
}

/// A server on a fake listener, stepped on a manual clock.
final class HTTPHarness {
    let listener = FakeListener()
    let server: HTTPServer
    var now = Instant(nanoseconds: 1_000_000_000)
    /// The wall clock handed to the server (nil: no clock).
    var date: UnixTime? = nil
    var logLines: [String] = []

    init(configuration: HTTPServerConfiguration = HTTPServerConfiguration(), handler: @escaping HTTPHandler) {
        server = HTTPServer(listener: listener, configuration: configuration, handler: handler)
        server.log = { [unowned self] in self.logLines.append($0) }
    }

    convenience init(configuration: HTTPServerConfiguration = HTTPServerConfiguration(), router: HTTPRouter) {
        self.init(configuration: configuration) { router.respond(to: $0) }
    }

    @discardableResult
    func connect(port: UInt16 = 40000) -> FakeStream {
        let stream = FakeStream(port: port)
        listener.backlog.append(stream)
        return stream
    }

    /// Steps until the server has no immediate work (bounded), without advancing time.
    @discardableResult
    func run(steps: Int = 50) -> Instant? {
        var deadline: Instant? = nil
        for _ in 0..<steps {
            deadline = server.step(now: now, date: date)
            if deadline != now { break }
        }
        return deadline
    }

    func advance(_ interval: Interval) {
        now = now + interval
        run()
    }
}

/// A deterministic generator for test inputs (xorshift64*).
struct SeededRandom {
    var state: UInt64
    init(seed: UInt64) { state = seed == 0 ? 0x9E37_79B9_7F4A_7C15 : seed }
    mutating func next() -> UInt64 {
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        return state &* 0x2545_F491_4F6C_DD1D
    }
    mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(max(bound, 1))) }
}
