// The datastore HTTP interface (`/folder/PATH?dcPath=DC&dsName=DS`): uploads with PUT, existence
// and sizes from a ranged GET of the first byte, and console files read with ranged GETs, all with
// the session cookie (the simulator needs none; real servers do).

/// A file on a datastore.
public struct DatastoreFile: Equatable, Sendable {
    /// The datacenter's inventory path (`DC0`, `Folder/DC1`).
    public var datacenterPath: String
    public var datastore: String
    /// The path inside the datastore, `/`-separated, no leading `/` (`skiff/hello.iso`).
    public var path: String

    public init(datacenterPath: String, datastore: String, path: String) {
        self.datacenterPath = datacenterPath
        self.datastore = datastore
        self.path = path
    }

    /// `[LocalDS_0] skiff/hello.iso`.
    public var datastorePath: String { SkiffDeploy.datastorePath(datastore, path) }

    /// The request target: `/folder/skiff/hello.iso?dcPath=DC0&dsName=LocalDS_0`.
    public var target: String {
        "/folder/" + Self.percentEncode(path, keepSlash: true)
            + "?dcPath=" + Self.percentEncode(datacenterPath, keepSlash: false)
            + "&dsName=" + Self.percentEncode(datastore, keepSlash: false)
    }

    /// RFC 3986 §2.3: everything but the unreserved characters (and `/` in a path) as %XX.
    public static func percentEncode(_ text: String, keepSlash: Bool) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        for byte in text.utf8 {
            let unreserved = (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x30 && byte <= 0x39)
                || byte == 0x2D || byte == 0x2E || byte == 0x5F || byte == 0x7E
            if unreserved || (keepSlash && byte == 0x2F) {
                out.append(byte)
            } else {
                out += [0x25, hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// A datastore folder or file name given by the user: relative, no `..`, no empty parts, no
    /// control characters.
    public static func checkRelativePath(_ path: String, flag: String) throws(DeployError) -> String {
        var text = path
        while text.hasPrefix("/") { text.removeFirst() }
        while text.hasSuffix("/") { text.removeLast() }
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard !text.isEmpty, parts.allSatisfy({ !$0.isEmpty && $0 != "." && $0 != ".." }) else {
            throw .usage("\(flag) \(path): not a folder path on the datastore (no empty parts, '.' or '..')")
        }
        guard !text.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F || $0 == 0x5B || $0 == 0x5D }) else {
            throw .usage("\(flag) \(path): control characters and [ ] cannot be in a datastore path")
        }
        return text
    }
}

/// What a ranged read of a file found.
public enum DatastoreRead: Equatable, Sendable {
    case notFound
    /// Bytes from the offset asked for (possibly none), and the file's size when the server said it.
    case bytes([UInt8], size: UInt64?)
    /// The file is now shorter than the offset asked for: it was replaced.
    case shrunk(size: UInt64)
}

extension VSphereSession {
    /// Whether the file exists, and its size when the server says it, from a GET of its first byte
    /// (`Range: bytes=0-0`, RFC 9110 §14.2) rather than HEAD: ranged GETs on `/folder` are what
    /// govmomi's DatastoreFile reads with and what `datastoreRead` (the console) needs anyway, so
    /// a server that answered HEAD with 405 or 501 would not stop every push and run.
    /// 206: the size from `Content-Range: bytes 0-0/SIZE`; 416: the file is empty (no byte 0);
    /// 200 (the server ignored Range): its Content-Length, with the body read and dropped (at most
    /// 64 MiB, else an error); 404: no such file.
    public func datastoreStat(_ file: DatastoreFile) throws(DeployError) -> (exists: Bool, size: UInt64?) {
        let headers = cookieHeader + [(name: "Range", value: "bytes=0-0")]
        let response = try datastoreRequest(HTTPRequest(method: "GET", target: file.target, headers: headers), file, maxBodyBytes: 64 << 20)
        switch response.status {
        case 206:
            return (true, response.header("Content-Range").flatMap(Self.rangeSize))
        case 416:
            // Only a file without byte 0 cannot satisfy bytes=0-0 (RFC 9110 §14.1.2).
            return (true, response.header("Content-Range").flatMap(Self.rangeSize) ?? 0)
        case 200:
            return (true, response.header("Content-Length").flatMap { UInt64($0.trimmingXMLSpace) } ?? UInt64(response.body.count))
        case 404:
            return (false, nil)
        default:
            throw Self.datastoreError("GET", file, response)
        }
    }

    /// `datastoreStat` under its first name (it no longer sends HEAD).
    public func datastoreHead(_ file: DatastoreFile) throws(DeployError) -> (exists: Bool, size: UInt64?) {
        try datastoreStat(file)
    }

    /// The file's size (0 when the server does not say), or nil when it does not exist.
    public func datastoreSize(_ file: DatastoreFile) throws(DeployError) -> UInt64? {
        let stat = try datastoreStat(file)
        return stat.exists ? stat.size ?? 0 : nil
    }

    /// Uploads a local file (streamed), calling `progress(sent, total)` as it goes.
    public func datastoreUpload(_ localPath: String, to file: DatastoreFile, progress: ((UInt64, UInt64) -> Void)? = nil) throws(DeployError) {
        let headers = cookieHeader + [(name: "Content-Type", value: "application/octet-stream")]
        let request = HTTPRequest(method: "PUT", target: file.target, headers: headers, body: .file(path: localPath))
        let response = try datastoreRequest(request, file, progress: progress)
        // 201 for a new file, 200 for a replaced one (the simulator: 200 for both).
        guard response.status == 200 || response.status == 201 || response.status == 204 else {
            throw Self.datastoreError("PUT", file, response)
        }
    }

    /// Reads at most `limit` bytes from `offset` (RFC 9110 §14.1.2: `bytes=FIRST-LAST`).
    public func datastoreRead(_ file: DatastoreFile, from offset: UInt64, limit: Int = 1 << 20) throws(DeployError) -> DatastoreRead {
        let headers = cookieHeader + [(name: "Range", value: "bytes=\(offset)-\(offset + UInt64(max(limit, 1)) - 1)")]
        // A server that ignores Range sends the whole file: room for it up to 64 MiB.
        let response = try datastoreRequest(HTTPRequest(method: "GET", target: file.target, headers: headers), file,
                                            maxBodyBytes: max(limit, 64 << 20))
        switch response.status {
        case 404:
            return .notFound
        case 206:
            // Content-Range: bytes FIRST-LAST/SIZE (RFC 9110 §14.4).
            let size = response.header("Content-Range").flatMap(Self.rangeSize)
            return .bytes(response.body, size: size)
        case 200:
            // The whole file (the server ignored Range).
            let size = UInt64(response.body.count)
            if size < offset { return .shrunk(size: size) }
            return .bytes(Array(response.body.dropFirst(Int(offset)).prefix(limit)), size: size)
        case 416:
            // Nothing at or after offset: `Content-Range: bytes */SIZE`.
            if let size = response.header("Content-Range").flatMap(Self.rangeSize), size < offset { return .shrunk(size: size) }
            return .bytes([], size: nil)
        default:
            throw Self.datastoreError("GET", file, response)
        }
    }

    static func rangeSize(_ header: String) -> UInt64? {
        guard let slash = header.lastIndex(of: "/") else { return nil }
        return UInt64(header[header.index(after: slash)...].trimmingCharacters(" "))
    }

    func datastoreRequest(_ request: HTTPRequest, _ file: DatastoreFile, maxBodyBytes: Int = 1 << 20,
                          progress: ((UInt64, UInt64) -> Void)? = nil) throws(DeployError) -> HTTPResponse {
        do {
            return try client.send(request, maxBodyBytes: maxBodyBytes, progress: progress)
        } catch {
            throw .failure("datastore \(request.method) \(file.datastorePath): \(error.message)")
        }
    }

    static func datastoreError(_ method: String, _ file: DatastoreFile, _ response: HTTPResponse) -> DeployError {
        var reason = "HTTP \(response.status) \(VSphereFault.oneLine(response.reason))"
        switch response.status {
        case 401, 403: reason += " (the session has no access to it)"
        case 404: reason += " (no datacenter \(file.datacenterPath) or datastore \(file.datastore) there)"
        default: break
        }
        return .failure("datastore \(method) \(file.datastorePath): \(reason)")
    }
}

extension Substring {
    func trimmingCharacters(_ character: Character) -> String {
        var text = self
        while text.first == character { text.removeFirst() }
        while text.last == character { text.removeLast() }
        return String(text)
    }
}
