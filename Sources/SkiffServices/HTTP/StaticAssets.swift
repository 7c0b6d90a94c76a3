// Files compiled into the image, served with strong validators: an ETag from the content
// (64-bit FNV-1a, quoted hex) and If-None-Match → 304 (RFC 9110 §8.8.3, §13.1.2).
//
// `skiff build` packs an application's assets folder into a cpio newc archive linked into the
// kernel (`Kernel.assetArchive`); `add(archive:)` serves its files in place, without a copy.
import SkiffWire

/// One file: its path (percent-decoded, starting with "/"), type, bytes and entity tag.
public struct StaticAsset {
    public let path: [UInt8]
    public let contentType: [UInt8]
    public let body: HTTPBody
    /// The quoted strong entity-tag, e.g. `"9a3b…"`.
    public let entityTag: [UInt8]
}

/// A set of files to serve, e.g. a static site: added one by one, or all the files of an archive
/// that `skiff build` packed from a folder.
public struct StaticAssets {
    private var byPath: [[UInt8]: StaticAsset] = [:]
    /// A `Cache-Control` value for every asset (e.g. "no-cache" to always revalidate); none by default.
    public var cacheControl: String? = nil

    public init() {}

    public var count: Int { byPath.count }

    /// Adds (or replaces) the file at `path` ("/index.html"); the type comes from the extension
    /// unless given.
    public mutating func add(path: String, contentType: String? = nil, bytes: [UInt8]) {
        insert(path: path, contentType: contentType, body: .bytes(bytes))
    }

    /// Adds a text file from a string literal, without copying it.
    public mutating func add(path: String, contentType: String? = nil, text: StaticString) {
        insert(path: path, contentType: contentType, body: .literal(text))
    }

    /// Adds a file whose bytes live as long as the program (linked into the image), without a copy.
    public mutating func add(path: String, contentType: String? = nil, immortal: UnsafeRawBufferPointer) {
        insert(path: path, contentType: contentType, body: .immortal(immortal))
    }

    /// Adds every regular file of a cpio newc archive whose bytes live as long as the program
    /// (e.g. `Kernel.assetArchive`), served in place without a copy: `about/index.html` in the
    /// archive is served at `/about/index.html` (and `/about/`). Returns how many files were
    /// added; an archive that does not parse adds none.
    @discardableResult
    public mutating func add(archive: UnsafeRawBufferPointer) throws(CPIOError) -> Int {
        guard archive.count > 0 else { return 0 }
        let entries = try CPIOArchive.entries(in: archive)
        var added = 0
        for entry in entries where entry.isRegularFile {
            let name = CPIOArchive.normalize(Array(entry.name.utf8))
            guard !name.isEmpty else { continue }
            // In bounds: the walk checked every entry's data against the archive's length.
            let bytes = UnsafeRawBufferPointer(rebasing: archive[entry.dataOffset..<(entry.dataOffset + entry.dataLength)])
            insert(path: String(decoding: name, as: UTF8.self), contentType: nil, body: .immortal(bytes))
            added += 1
        }
        return added
    }

    /// The paths served, sorted (for logs and tests).
    public var paths: [String] {
        byPath.keys.sorted { $0.lexicographicallyPrecedes($1) }.map { String(decoding: $0, as: UTF8.self) }
    }

    /// The total size of the files' content.
    public var totalBytes: Int {
        var total = 0
        for asset in byPath.values { total += asset.body.count }
        return total
    }

    private mutating func insert(path: String, contentType: String?, body: HTTPBody) {
        var key = Array(path.utf8)
        if key.first != asciiSlash { key.insert(asciiSlash, at: 0) }
        let type = contentType.map { Array($0.utf8) } ?? StaticAssets.contentType(forPath: key)
        let tag = body.withBytes { StaticAssets.entityTag(for: $0) }
        byPath[key] = StaticAsset(path: key, contentType: type, body: body, entityTag: tag)
    }

    /// The asset at a percent-decoded path, with "index.html" for paths ending in "/".
    public func asset(at path: [UInt8]) -> StaticAsset? {
        if path.last == asciiSlash { return byPath[path + Array("index.html".utf8)] }
        return byPath[path]
    }

    /// The response for `request` to the asset at `path` (still percent-encoded): 200 with the
    /// content, 304 when If-None-Match matches, 301 to "path/" for a directory with an index,
    /// 404 when there is no such asset, 405 for methods other than GET and HEAD.
    public func response(to request: HTTPRequest, path: [UInt8]) -> HTTPResponse {
        guard request.method == .get || request.method == .head else {
            var response = HTTPResponse.status(.methodNotAllowed)
            response.headers.add("Allow", "GET, HEAD")
            return response
        }
        guard let decoded = percentDecoded(path), !decoded.contains(0) else {
            return HTTPResponse.status(.notFound)
        }
        guard let asset = asset(at: decoded) else {
            if decoded.last != asciiSlash, byPath[decoded + Array("/index.html".utf8)] != nil {
                // A directory without its slash: send the client to the slashed URL so relative
                // links resolve.
                var location = request.path
                location.append(asciiSlash)
                if let query = request.query {
                    location.append(0x3F)
                    location.append(contentsOf: query)
                }
                var response = HTTPResponse.status(.movedPermanently)
                response.headers.add(name: "Location".utf8, value: location)
                return response
            }
            return HTTPResponse.status(.notFound)
        }
        var headers = HTTPHeaders()
        headers.add(name: "ETag".utf8, value: asset.entityTag)
        if let cacheControl { headers.add("Cache-Control", cacheControl) }
        // RFC 9110 §13.2.2: If-None-Match is evaluated for GET/HEAD; a match is 304.
        let conditions = request.headers.indices(of: "if-none-match")
        if !conditions.isEmpty {
            var combined: [UInt8] = []
            for index in conditions {
                if !combined.isEmpty { combined.append(asciiComma) }
                combined.append(contentsOf: request.headers.value(at: index))
            }
            if ifNoneMatchMatches(combined[...], entityTag: asset.entityTag) {
                return HTTPResponse(status: .notModified, headers: headers)
            }
        }
        headers.add(name: "Content-Type".utf8, value: asset.contentType)
        return HTTPResponse(status: .ok, headers: headers, body: asset.body)
    }

    /// A strong entity-tag from the content: 64-bit FNV-1a in 16 hex digits, quoted.
    public static func entityTag(for bytes: UnsafeRawBufferPointer) -> [UInt8] {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        var tag: [UInt8] = [asciiQuote]
        let digits: StaticString = "0123456789abcdef"
        digits.withUTF8Buffer { hex in
            var shift: UInt64 = 60
            for _ in 0..<16 {
                tag.append(hex[Int((hash >> shift) & 0xF)])
                shift &-= 4
            }
        }
        tag.append(asciiQuote)
        return tag
    }

    /// The media type for a path's extension (ASCII case ignored); application/octet-stream
    /// for unknown ones.
    public static func contentType(forPath path: [UInt8]) -> [UInt8] {
        var dot = path.count
        while dot > 0 && path[dot - 1] != 0x2E && path[dot - 1] != asciiSlash { dot -= 1 }
        guard dot > 0 && path[dot - 1] == 0x2E else { return Array("application/octet-stream".utf8) }
        let ext = path[dot...]
        let type: StaticString
        if bytesEqualIgnoringCase(ext, "html") || bytesEqualIgnoringCase(ext, "htm") {
            type = "text/html; charset=utf-8"
        } else if bytesEqualIgnoringCase(ext, "css") {
            type = "text/css; charset=utf-8"
        } else if bytesEqualIgnoringCase(ext, "js") || bytesEqualIgnoringCase(ext, "mjs") {
            type = "text/javascript; charset=utf-8"
        } else if bytesEqualIgnoringCase(ext, "json") || bytesEqualIgnoringCase(ext, "map") {
            type = "application/json"
        } else if bytesEqualIgnoringCase(ext, "txt") {
            type = "text/plain; charset=utf-8"
        } else if bytesEqualIgnoringCase(ext, "xml") {
            type = "application/xml"
        } else if bytesEqualIgnoringCase(ext, "svg") {
            type = "image/svg+xml"
        } else if bytesEqualIgnoringCase(ext, "png") {
            type = "image/png"
        } else if bytesEqualIgnoringCase(ext, "jpg") || bytesEqualIgnoringCase(ext, "jpeg") {
            type = "image/jpeg"
        } else if bytesEqualIgnoringCase(ext, "gif") {
            type = "image/gif"
        } else if bytesEqualIgnoringCase(ext, "webp") {
            type = "image/webp"
        } else if bytesEqualIgnoringCase(ext, "ico") {
            type = "image/x-icon"
        } else if bytesEqualIgnoringCase(ext, "wasm") {
            type = "application/wasm"
        } else if bytesEqualIgnoringCase(ext, "pdf") {
            type = "application/pdf"
        } else if bytesEqualIgnoringCase(ext, "woff") {
            type = "font/woff"
        } else if bytesEqualIgnoringCase(ext, "woff2") {
            type = "font/woff2"
        } else if bytesEqualIgnoringCase(ext, "webmanifest") {
            type = "application/manifest+json"
        } else {
            type = "application/octet-stream"
        }
        var out: [UInt8] = []
        appendStatic(type, to: &out)
        return out
    }
}

/// If-None-Match (RFC 9110 §13.1.2): "*" matches any current representation; otherwise a list of
/// entity-tags compared weakly (W/ ignored, opaque-tags equal). A malformed list matches nothing.
func ifNoneMatchMatches(_ value: ArraySlice<UInt8>, entityTag: [UInt8]) -> Bool {
    let trimmed = trimOWS(value)
    if trimmed.count == 1 && trimmed.first == 0x2A { return true }
    let ours = entityTag.starts(with: [0x57, asciiSlash]) ? entityTag[2...] : entityTag[...]
    var i = trimmed.startIndex
    let end = trimmed.endIndex
    while i < end {
        // Skip list separators and white space.
        while i < end && (isOWS(trimmed[i]) || trimmed[i] == asciiComma) { i += 1 }
        guard i < end else { break }
        if trimmed[i] == 0x57 { // W/
            guard i + 1 < end, trimmed[i + 1] == asciiSlash else { return false }
            i += 2
        }
        // entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE; etagc excludes DQUOTE (commas allowed).
        guard i < end, trimmed[i] == asciiQuote else { return false }
        var close = i + 1
        while close < end && trimmed[close] != asciiQuote { close += 1 }
        guard close < end else { return false }
        if trimmed[i...close].elementsEqual(ours) { return true }
        i = close + 1
    }
    return false
}
