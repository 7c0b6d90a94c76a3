// Serializes responses (RFC 9112 §4, §6) and queues them for a stream that may accept fewer bytes
// than offered: what the stream does not take stays queued for the next step. Bodies in memory
// are written from where they are; streamed bodies are pulled from their producer only as the
// stream has room, so what a connection holds stays bounded whatever the body's size.

/// How a response's content is delimited on the wire (RFC 9112 §6.3).
enum BodyFraming: Equatable {
    /// The status allows no content (1xx, 204, 304): neither Content-Length nor Transfer-Encoding.
    case none
    case contentLength(Int)
    /// `Transfer-Encoding: chunked` (RFC 9112 §7.1): HTTP/1.1 peers, length unknown.
    case chunked
    /// The content ends when the connection closes (RFC 9112 §6.3 rule 8): HTTP/1.0 peers, which
    /// do not understand chunked (RFC 9112 §6.1), and length unknown.
    case close

    init(status: HTTPStatus, body: HTTPBody, requestVersion: HTTPVersion) {
        if status.forbidsContent {
            self = .none
        } else if let length = body.length {
            self = .contentLength(length)
        } else if requestVersion.major == 1 && requestVersion.minor == 0 {
            self = .close
        } else {
            self = .chunked
        }
    }
}

/// The bytes of a response head. The server owns framing: `Content-Length` or
/// `Transfer-Encoding: chunked` (from `framing`), `Connection`, and `Date` when it has a clock
/// (`date`, an IMF-fixdate) come from here, and handler fields of those names are dropped (a
/// handler's `Date` is kept when the server has no clock), as are field lines that would break
/// the message (a name that is not a token, a value with CR, LF, NUL or DEL).
func encodeResponseHead(_ response: HTTPResponse, framing: BodyFraming, keepAlive: Bool,
                        requestVersion: HTTPVersion, date: [UInt8]? = nil) -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(160 + response.headers.storage.count)
    // RFC 9110 §6.2: a server sends its own highest conformant version, HTTP/1.1.
    appendStatic("HTTP/1.1 ", to: &out)
    httpAppendDecimal(response.status.code, to: &out)
    out.append(asciiSpace)
    appendStatic(response.status.reasonPhrase, to: &out)
    appendStatic("\r\n", to: &out)
    // RFC 9110 §6.6.1: Date in every final response when the server has a clock.
    let sendsDate = date != nil && response.status.statusClass != 1
    if sendsDate, let date {
        appendStatic("Date: ", to: &out)
        out.append(contentsOf: date)
        appendStatic("\r\n", to: &out)
    }
    let headers = response.headers
    for i in 0..<headers.count {
        let name = headers.name(at: i)
        let value = headers.value(at: i)
        if bytesEqualIgnoringCase(name, "content-length") || bytesEqualIgnoringCase(name, "connection")
            || bytesEqualIgnoringCase(name, "transfer-encoding") || (sendsDate && bytesEqualIgnoringCase(name, "date")) {
            continue
        }
        guard !name.isEmpty, name.allSatisfy(isTokenByte), value.allSatisfy(isFieldValueByte) else { continue }
        out.append(contentsOf: name)
        appendStatic(": ", to: &out)
        out.append(contentsOf: value)
        appendStatic("\r\n", to: &out)
    }
    switch framing {
    case .none:
        // RFC 9110 §8.6: no Content-Length in 1xx or 204; 304 omits it here (allowed, and simplest).
        break
    case .contentLength(let length):
        appendStatic("Content-Length: ", to: &out)
        httpAppendDecimal(length, to: &out)
        appendStatic("\r\n", to: &out)
    case .chunked:
        appendStatic("Transfer-Encoding: chunked\r\n", to: &out)
    case .close:
        break
    }
    if response.status.statusClass != 1 {
        if !keepAlive {
            appendStatic("Connection: close\r\n", to: &out) // RFC 9112 §9.6
        } else if requestVersion.minor == 0 {
            appendStatic("Connection: keep-alive\r\n", to: &out) // RFC 9112 §9.3 (HTTP/1.0 persistence)
        }
    }
    appendStatic("\r\n", to: &out)
    return out
}

/// Why a flush stopped the connection.
enum FlushFailure: Equatable {
    /// The stream refused a write (-1: closed for writing, reset).
    case refused
    /// A streamed body failed or ended before its Content-Length.
    case bodyFailed
}

/// What one flush did.
struct FlushResult: Equatable {
    /// Bytes the stream took (heads, content and chunk framing).
    var written = 0
    var failure: FlushFailure? = nil
    /// The flush stopped at its byte budget with output left that the stream might take now.
    var budgetExhausted = false
}

/// Bytes waiting to be written, in order: bodies in memory without copying them, streamed bodies
/// pulled from their producer as the stream has room.
struct OutboundQueue {
    private enum Segment {
        /// `.empty`, `.bytes` or `.immortal`.
        case memory(HTTPBody)
        case stream(any HTTPBodyProducer, BodyFraming)
    }

    /// The most content bytes in one chunk (RFC 9112 §7.1). Chunks are assembled with their
    /// framing in `scratch`, so each goes to the stream in one write (one segment, not three).
    static let maxChunk = 16 * 1024
    /// Chunk-size line (at most 8 hex digits + CRLF) and the CRLF after the data.
    static let chunkOverhead = 12

    private var segments: [Segment] = []
    private var head = 0
    /// Bytes of `segments[head]` (in memory) already written.
    private var offset = 0
    /// Bytes in memory queued (heads and in-memory bodies; streamed bodies are not counted).
    private(set) var count = 0
    /// Streamed bodies queued, the one being sent included.
    private(set) var streams = 0
    /// The stream at `head`: content bytes sent, whether the producer has ended, and framing
    /// (with any part of a chunk the stream did not take) still to write. `pending` never holds
    /// more than one chunk with its framing.
    private var sent = 0
    private var ended = false
    private var pending: [UInt8] = []
    private var pendingOffset = 0

    var isEmpty: Bool { count == 0 && streams == 0 }

    /// Queues a body in memory (a stream body goes through `append(stream:framing:)`).
    mutating func append(_ body: HTTPBody) {
        if case .stream(let producer) = body {
            append(stream: producer, framing: producer.length.map { .contentLength($0) } ?? .chunked)
            return
        }
        let length = body.count
        guard length > 0 else { return }
        // Small byte bodies join the previous segment: fewer writes per response.
        if case .bytes(let more) = body, more.count <= 1024, segments.count > head,
           case .memory(.bytes(var last)) = segments[segments.count - 1] {
            segments[segments.count - 1] = .memory(.empty)
            last.append(contentsOf: more)
            segments[segments.count - 1] = .memory(.bytes(last))
        } else {
            segments.append(.memory(body))
        }
        count += length
    }

    /// Queues a streamed body, framed as given (`.none` queues nothing).
    mutating func append(stream producer: any HTTPBodyProducer, framing: BodyFraming) {
        guard framing != .none else { return }
        if case .contentLength(0) = framing { return }
        segments.append(.stream(producer, framing))
        streams += 1
    }

    /// Writes as much as `write` takes, up to about `budget` bytes. `room` is the stream's free
    /// send buffer (a producer is asked for no more than that); `scratch` is where chunks are
    /// assembled (shared by all connections: it holds nothing between calls).
    mutating func flush(budget: Int, scratch: inout [UInt8], room: () -> Int,
                        write: (UnsafeRawBufferPointer) -> Int) -> FlushResult {
        var result = FlushResult()
        loop: while head < segments.count && result.written < budget {
            switch segments[head] {
            case .memory(let body):
                let start = offset
                let n = body.withBytes { bytes -> Int in
                    // In bounds: offset < bytes.count while the segment is queued.
                    write(UnsafeRawBufferPointer(rebasing: bytes[start...]))
                }
                if n < 0 {
                    result.failure = .refused
                    return result
                }
                let accepted = min(n, body.count - start)
                result.written += accepted
                count -= accepted
                offset += accepted
                if offset < body.count { break loop }
                advance()
            case .stream(let producer, let framing):
                let step = flushStream(producer, framing: framing, budget: budget, result: &result,
                                       scratch: &scratch, room: room, write: write)
                if result.failure != nil { return result }
                guard step else { break loop }
                streams -= 1
                advance()
            }
        }
        if head == segments.count {
            segments.removeAll(keepingCapacity: true)
            head = 0
        } else if head > 32 {
            segments.removeFirst(head)
            head = 0
        }
        result.budgetExhausted = result.written >= budget && !isEmpty
        return result
    }

    /// Sends the head stream as far as the stream and the budget allow. True when the whole body
    /// (with its last chunk) has been written; false when stalled or failed (`result.failure`).
    private mutating func flushStream(_ producer: any HTTPBodyProducer, framing: BodyFraming, budget: Int,
                                      result: inout FlushResult, scratch: inout [UInt8], room: () -> Int,
                                      write: (UnsafeRawBufferPointer) -> Int) -> Bool {
        while true {
            // What the stream did not take of the last chunk (or the last-chunk) goes first.
            if pendingOffset < pending.count {
                let start = pendingOffset
                let n = pending.withUnsafeBytes { bytes -> Int in
                    // In bounds: pendingOffset < pending.count.
                    write(UnsafeRawBufferPointer(rebasing: bytes[start...]))
                }
                if n < 0 {
                    result.failure = .refused
                    return false
                }
                let accepted = min(n, pending.count - start)
                result.written += accepted
                pendingOffset += accepted
                if pendingOffset < pending.count { return false }
                pending.removeAll()
                pendingOffset = 0
            }
            if ended { return true }
            guard result.written < budget else { return false }
            var limit = min(room(), budget - result.written)
            switch framing {
            case .contentLength(let total):
                if sent >= total {
                    ended = true
                    continue
                }
                limit = min(limit, total - sent)
            case .chunked:
                limit = min(limit - OutboundQueue.chunkOverhead, OutboundQueue.maxChunk)
            case .close, .none:
                break
            }
            guard limit > 0 else { return false }

            var took = 0
            var refused = false
            let production = producer.produce(limit: limit) { offered -> Int in
                // Never more than asked, whatever the producer offers.
                let piece = UnsafeRawBufferPointer(rebasing: offered.prefix(limit))
                guard !piece.isEmpty else { return 0 }
                guard framing == .chunked else {
                    let n = write(piece)
                    if n < 0 {
                        refused = true
                        return 0
                    }
                    took = min(n, piece.count)
                    return took
                }
                // One chunk: size line, data, CRLF, written at once; what the stream does not
                // take waits in `pending`, so the data counts as taken either way.
                scratch.removeAll(keepingCapacity: true)
                httpAppendHex(piece.count, to: &scratch)
                appendStatic("\r\n", to: &scratch)
                scratch.append(contentsOf: piece)
                appendStatic("\r\n", to: &scratch)
                let n = scratch.withUnsafeBytes { write($0) }
                if n < 0 {
                    refused = true
                    return 0
                }
                let accepted = min(n, scratch.count)
                result.written += accepted
                if accepted < scratch.count {
                    pending = Array(scratch[accepted...])
                    pendingOffset = 0
                }
                took = piece.count
                return took
            }
            if refused {
                result.failure = .refused
                return false
            }
            switch production {
            case .failed:
                result.failure = .bodyFailed
                return false
            case .end:
                switch framing {
                case .contentLength:
                    // Fewer bytes than announced: only a truncated message can follow.
                    result.failure = .bodyFailed
                    return false
                case .chunked:
                    // RFC 9112 §7.1: last-chunk, no trailers, the final CRLF.
                    pending.append(contentsOf: [0x30, asciiCR, asciiLF, asciiCR, asciiLF])
                    ended = true
                case .close, .none:
                    ended = true
                }
            case .offered:
                sent += took
                if framing != .chunked { result.written += took }
                if took == 0 { return false }
            }
        }
    }

    /// Moves to the next segment, forgetting the finished one's state.
    private mutating func advance() {
        segments[head] = .memory(.empty)
        head += 1
        offset = 0
        sent = 0
        ended = false
        pending.removeAll()
        pendingOffset = 0
    }

    mutating func removeAll() {
        segments.removeAll()
        head = 0
        offset = 0
        count = 0
        streams = 0
        sent = 0
        ended = false
        pending.removeAll()
        pendingOffset = 0
    }
}

/// Appends `value` (> 0) in lower-case hexadecimal, without leading zeros.
func httpAppendHex(_ value: Int, to out: inout [UInt8]) {
    var shift = 60
    while shift > 0 && (value >> shift) & 0xF == 0 { shift -= 4 }
    while shift >= 0 {
        let digit = UInt8((value >> shift) & 0xF)
        out.append(digit < 10 ? 0x30 + digit : 0x61 + digit - 10)
        shift -= 4
    }
}
