// Serializes responses (RFC 9112 §4, §6) and queues them for a stream that may accept fewer bytes
// than offered: what the stream does not take stays queued for the next step.

/// The bytes of a response head. The server owns framing: `Content-Length` (never
/// `Transfer-Encoding`) and `Connection` come from here, and handler fields of those names are
/// dropped, as are field lines that would break the message (a name that is not a token, a value
/// with CR, LF, NUL or DEL).
func encodeResponseHead(_ response: HTTPResponse, keepAlive: Bool, requestVersion: HTTPVersion) -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(128 + response.headers.storage.count)
    // RFC 9110 §6.2: a server sends its own highest conformant version, HTTP/1.1.
    appendStatic("HTTP/1.1 ", to: &out)
    httpAppendDecimal(response.status.code, to: &out)
    out.append(asciiSpace)
    appendStatic(response.status.reasonPhrase, to: &out)
    appendStatic("\r\n", to: &out)
    let headers = response.headers
    for i in 0..<headers.count {
        let name = headers.name(at: i)
        let value = headers.value(at: i)
        if bytesEqualIgnoringCase(name, "content-length") || bytesEqualIgnoringCase(name, "connection")
            || bytesEqualIgnoringCase(name, "transfer-encoding") {
            continue
        }
        guard !name.isEmpty, name.allSatisfy(isTokenByte), value.allSatisfy(isFieldValueByte) else { continue }
        out.append(contentsOf: name)
        appendStatic(": ", to: &out)
        out.append(contentsOf: value)
        appendStatic("\r\n", to: &out)
    }
    // RFC 9110 §8.6: no Content-Length in 1xx or 204; 304 omits it here (allowed, and simplest).
    if !response.status.forbidsContent {
        appendStatic("Content-Length: ", to: &out)
        httpAppendDecimal(response.body.count, to: &out)
        appendStatic("\r\n", to: &out)
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

/// Bytes waiting to be written, in order, without copying response bodies.
struct OutboundQueue {
    private var segments: [HTTPBody] = []
    private var head = 0
    /// Bytes of `segments[head]` already written.
    private var offset = 0
    private(set) var count = 0

    var isEmpty: Bool { count == 0 }

    mutating func append(_ body: HTTPBody) {
        let length = body.count
        guard length > 0 else { return }
        // Small byte bodies join the previous segment: fewer writes per response.
        if case .bytes(let more) = body, more.count <= 1024, segments.count > head,
           case .bytes(var last) = segments[segments.count - 1] {
            segments[segments.count - 1] = .empty
            last.append(contentsOf: more)
            segments[segments.count - 1] = .bytes(last)
        } else {
            segments.append(body)
        }
        count += length
    }

    /// Writes as much as `write` takes. Returns the bytes written, or nil when the stream
    /// refused (-1: it can no longer send).
    mutating func flush(_ write: (UnsafeRawBufferPointer) -> Int) -> Int? {
        var written = 0
        while head < segments.count {
            let segment = segments[head]
            let start = offset
            let n = segment.withBytes { bytes -> Int in
                // In bounds: offset < bytes.count while the segment is queued.
                write(UnsafeRawBufferPointer(rebasing: bytes[start...]))
            }
            if n < 0 { return nil }
            let accepted = min(n, segment.count - start)
            written += accepted
            count -= accepted
            offset += accepted
            if offset < segment.count { break }
            segments[head] = .empty
            head += 1
            offset = 0
        }
        if head == segments.count {
            segments.removeAll(keepingCapacity: true)
            head = 0
        } else if head > 32 {
            segments.removeFirst(head)
            head = 0
        }
        return written
    }

    mutating func removeAll() {
        segments.removeAll()
        head = 0
        offset = 0
        count = 0
    }
}
