// A small, namespace-aware XML reader for the SOAP replies of vSphere (and the simulator), and the
// escaping of what Skiff sends. The bytes come from the network: the reader never traps, refuses
// document type declarations (so no entity expansion beyond the five predefined entities and
// character references: XML 1.0 §4.6, §4.1), and bounds the depth, the number of elements and the
// attributes per element. Names are matched by namespace URI and local name (Namespaces in XML 1.0
// §5–6), never by prefix: the simulator writes the XMLSchema-instance namespace under the prefix
// `XMLSchema-instance` in property values and `xsi` in fault details.

public enum XML {
    public static let schemaInstanceNamespace = "http://www.w3.org/2001/XMLSchema-instance"
    public static let xmlNamespace = "http://www.w3.org/XML/1998/namespace"
    public static let xmlnsNamespace = "http://www.w3.org/2000/xmlns/"

    public struct Attribute: Equatable, Sendable {
        /// The namespace URI; empty for an unprefixed attribute (§6.3: it is in no namespace).
        public var namespace: String
        public var name: String
        public var value: String
    }

    /// One element: its expanded name, attributes, child elements and the character data directly
    /// inside it (all text pieces between its children, joined; CDATA sections included).
    public struct Element: Equatable, Sendable {
        public var namespace: String
        public var name: String
        public var attributes: [Attribute]
        public var children: [Element]
        public var text: String
        /// The innermost namespace declaration in scope where this element starts (shared with
        /// the elements around it, not copied), for QName-valued attributes such as
        /// `xsi:type="xsd:string"`.
        var scope: NamespaceScope?

        public init(namespace: String = "", name: String, attributes: [Attribute] = [], children: [Element] = [], text: String = "") {
            self.namespace = namespace
            self.name = name
            self.attributes = attributes
            self.children = children
            self.text = text
            self.scope = nil
        }

        /// The prefixes in scope where this element starts, innermost binding last (a shadowed
        /// prefix comes more than once). Built on each call: `namespace(forPrefix:)` looks one up.
        var bindings: [(prefix: String, uri: String)] {
            var list: [(prefix: String, uri: String)] = []
            var next = scope
            while let current = next {
                list.append((current.prefix, current.uri))
                next = current.outer
            }
            return list.reversed()
        }

        /// The namespace URI the prefix is bound to where this element starts ("" for the default
        /// namespace), or nil when it is not bound.
        public func namespace(forPrefix prefix: String) -> String? {
            var next = scope
            while let current = next {
                if current.prefix == prefix { return current.uri }
                next = current.outer
            }
            return nil
        }

        public static func == (a: Element, b: Element) -> Bool {
            a.namespace == b.namespace && a.name == b.name && a.attributes == b.attributes && a.children == b.children && a.text == b.text
        }

        /// The value of the attribute with this local name in this namespace (default: none).
        public func attribute(_ name: String, namespace: String = "") -> String? {
            attributes.first { $0.name == name && $0.namespace == namespace }?.value
        }

        /// The first child with this local name (in any namespace: vim25 replies put everything in
        /// `urn:vim25`, and the simulator sometimes leaves children in no namespace).
        public func child(_ name: String) -> Element? {
            children.first { $0.name == name }
        }

        public func children(_ name: String) -> [Element] {
            children.filter { $0.name == name }
        }

        /// Follows a path of child names: `element.descendant("info", "state")`.
        public func descendant(_ names: String...) -> Element? {
            var current = self
            for name in names {
                guard let next = current.child(name) else { return nil }
                current = next
            }
            return current
        }

        /// The local part of the `xsi:type` attribute (XMLSchema-instance namespace, whatever its
        /// prefix), e.g. `InvalidLogin`, `string` for `xsd:string`, `ManagedObjectReference`.
        public var schemaType: String? {
            guard let value = attribute("type", namespace: XML.schemaInstanceNamespace) else { return nil }
            return XML.localPart(value)
        }

        /// The namespace URI of the `xsi:type` value's prefix (nil when there is no such attribute
        /// or its prefix is not bound).
        public var schemaTypeNamespace: String? {
            guard let value = attribute("type", namespace: XML.schemaInstanceNamespace) else { return nil }
            let prefix = value.split(separator: ":", maxSplits: 1).count == 2 ? String(value.split(separator: ":", maxSplits: 1)[0]) : ""
            return namespace(forPrefix: prefix)
        }
    }

    /// One namespace declaration and the ones in scope around it: a list shared by every element
    /// in its scope, so an element costs one reference however many declarations are in scope
    /// (copying the whole list into each element let 256 levels of 256 declarations, then many
    /// small elements, take gigabytes from a 64 MiB reply). Its length is bounded by
    /// `Limits.maximumNamespaceDeclarations`, which also bounds every lookup.
    final class NamespaceScope: Sendable {
        let prefix: String
        let uri: String
        let outer: NamespaceScope?

        init(prefix: String, uri: String, outer: NamespaceScope?) {
            self.prefix = prefix
            self.uri = uri
            self.outer = outer
        }
    }

    /// The part of a QName after its colon (the whole text when there is none).
    public static func localPart(_ qualified: String) -> String {
        if let colon = qualified.lastIndex(of: ":") { return String(qualified[qualified.index(after: colon)...]) }
        return qualified
    }

    public struct Limits: Sendable {
        public var maximumBytes = 64 << 20
        public var maximumDepth = 256
        public var maximumElements = 2_000_000
        public var maximumAttributes = 256
        /// Namespace declarations in scope at once (on an element and all its ancestors).
        public var maximumNamespaceDeclarations = 1024

        public init() {}
    }

    public struct ParseError: Error, Equatable, Sendable, CustomStringConvertible {
        public var message: String
        /// The byte offset where the problem was found.
        public var offset: Int
        public var description: String { "\(message) at byte \(offset)" }
    }

    /// Parses a whole document (an optional BOM, XML declaration, comments and processing
    /// instructions around exactly one root element) into its root element.
    public static func parse(_ bytes: [UInt8], limits: Limits = Limits()) throws(ParseError) -> Element {
        guard bytes.count <= limits.maximumBytes else {
            throw ParseError(message: "the document has \(bytes.count) bytes (limit \(limits.maximumBytes))", offset: 0)
        }
        var reader = Reader(bytes: bytes, limits: limits)
        return try reader.document()
    }

    public static func parse(_ text: String, limits: Limits = Limits()) throws(ParseError) -> Element {
        try parse(Array(text.utf8), limits: limits)
    }

    // MARK: Escaping (what Skiff writes)

    /// Character data: `&`, `<` and `>` escaped (`>` for `]]>`, §2.4); control characters that
    /// XML 1.0 cannot carry at all (§2.2: below 0x20 except tab, LF, CR) are dropped.
    public static func escapeText(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\r": out += "&#13;"
            default:
                if scalar.value < 0x20 && scalar != "\t" && scalar != "\n" { continue }
                if scalar.value == 0xFFFE || scalar.value == 0xFFFF { continue }
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// An attribute value in double quotes: as text, plus `"`, and tab/LF as character references
    /// so attribute-value normalization (§3.3.3) keeps them.
    public static func escapeAttribute(_ text: String) -> String {
        var out = ""
        for scalar in escapeText(text).unicodeScalars {
            switch scalar {
            case "\"": out += "&quot;"
            case "\t": out += "&#9;"
            case "\n": out += "&#10;"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}

/// The parser proper: one pass over the bytes with an explicit stack of open elements (no
/// recursion, so hostile nesting costs no native stack).
private struct Reader {
    let bytes: [UInt8]
    let limits: XML.Limits
    var position = 0
    var elementCount = 0

    struct Open {
        var element: XML.Element
        var qualifiedName: [UInt8]
        var text: [UInt8]
        /// The scope outside this element, and the prefixes it declared: restored at its end.
        var outerScope: XML.NamespaceScope?
        var outerScopeSize: Int
        var declared: [String]
    }
    var stack: [Open] = []
    /// The innermost declaration in scope (§3: `xml` is always bound), and how many there are.
    var scope: XML.NamespaceScope? = XML.NamespaceScope(prefix: "xml", uri: XML.xmlNamespace, outer: nil)
    var scopeSize = 1
    /// Each prefix's bindings in scope, innermost last: resolves a name without walking `scope`.
    var inScope: [String: [String]] = ["xml": [XML.xmlNamespace]]

    init(bytes: [UInt8], limits: XML.Limits) {
        self.bytes = bytes
        self.limits = limits
    }

    func fail(_ message: String, at offset: Int? = nil) -> XML.ParseError {
        XML.ParseError(message: message, offset: offset ?? position)
    }

    var atEnd: Bool { position >= bytes.count }

    func peek(_ offset: Int = 0) -> UInt8? {
        let index = position + offset
        return index >= 0 && index < bytes.count ? bytes[index] : nil
    }

    func looking(at literal: String) -> Bool {
        var index = position
        for byte in literal.utf8 {
            guard index < bytes.count, bytes[index] == byte else { return false }
            index += 1
        }
        return true
    }

    static func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D }

    /// XML 1.0 §2.3 NameStartChar/NameChar, with every non-ASCII byte taken as a name byte (the
    /// names vSphere uses are ASCII; this only has to be safe, not a validator).
    static func isNameStart(_ byte: UInt8) -> Bool {
        (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || byte == 0x5F || byte == 0x3A || byte >= 0x80
    }

    static func isNameByte(_ byte: UInt8) -> Bool {
        isNameStart(byte) || (byte >= 0x30 && byte <= 0x39) || byte == 0x2D || byte == 0x2E
    }

    mutating func skipSpace() {
        while let byte = peek(), Reader.isSpace(byte) { position += 1 }
    }

    mutating func name() throws(XML.ParseError) -> [UInt8] {
        guard let first = peek(), Reader.isNameStart(first) else { throw fail("a name was expected") }
        let start = position
        while let byte = peek(), Reader.isNameByte(byte) { position += 1 }
        return Array(bytes[start..<position])
    }

    /// Skips to just after `terminator`, failing with `what` when the document ends first.
    mutating func skip(past terminator: String, what: String) throws(XML.ParseError) {
        let start = position
        while !atEnd {
            if looking(at: terminator) {
                position += terminator.utf8.count
                return
            }
            position += 1
        }
        throw fail("unterminated \(what)", at: start)
    }

    mutating func document() throws(XML.ParseError) -> XML.Element {
        if looking(at: "\u{FEFF}") { position += 3 }
        // Prolog: XML declaration, comments, PIs, white space (§2.8).
        while true {
            skipSpace()
            if looking(at: "<?") {
                try skip(past: "?>", what: "processing instruction")
            } else if looking(at: "<!--") {
                try skip(past: "-->", what: "comment")
            } else if looking(at: "<!DOCTYPE") || looking(at: "<!doctype") {
                throw fail("document type declarations are not accepted")
            } else if looking(at: "<") {
                break
            } else if atEnd {
                throw fail("no root element")
            } else {
                throw fail("text before the root element")
            }
        }
        let root = try elements()
        // Misc after the root (§2.1).
        while true {
            skipSpace()
            if atEnd { return root }
            if looking(at: "<?") {
                try skip(past: "?>", what: "processing instruction")
            } else if looking(at: "<!--") {
                try skip(past: "-->", what: "comment")
            } else {
                throw fail("content after the root element")
            }
        }
    }

    /// Reads from the root's start tag to its end tag.
    mutating func elements() throws(XML.ParseError) -> XML.Element {
        while true {
            if stack.isEmpty || looking(at: "<") && !looking(at: "</") && !looking(at: "<!") && !looking(at: "<?") {
                if let closed = try startTag() { return closed }
                continue
            }
            guard !atEnd else { throw fail("the document ends inside <\(String(decoding: stack[stack.count - 1].qualifiedName, as: UTF8.self))>") }
            if looking(at: "</") {
                if let root = try endTag() { return root }
            } else if looking(at: "<![CDATA[") {
                position += 9
                let start = position
                try skip(past: "]]>", what: "CDATA section")
                appendText(bytes[start..<(position - 3)], normalizeNewlines: true)
            } else if looking(at: "<!--") {
                try skip(past: "-->", what: "comment")
            } else if looking(at: "<?") {
                try skip(past: "?>", what: "processing instruction")
            } else if looking(at: "<!") {
                throw fail("markup declarations are not accepted in content")
            } else if looking(at: "&") {
                let decoded = try reference()
                appendText(decoded[...], normalizeNewlines: false)
            } else {
                let start = position
                while let byte = peek(), byte != 0x3C, byte != 0x26 { position += 1 }
                let run = bytes[start..<position]
                if looking(at: "]]>") || run.count >= 3 && containsCDATAEnd(run) {
                    throw fail("']]>' in character data", at: start)
                }
                appendText(run, normalizeNewlines: true)
            }
        }
    }

    func containsCDATAEnd(_ run: ArraySlice<UInt8>) -> Bool {
        var index = run.startIndex
        while index + 2 < run.endIndex {
            if run[index] == 0x5D && run[index + 1] == 0x5D && run[index + 2] == 0x3E { return true }
            index += 1
        }
        return false
    }

    /// §2.11: CR LF and lone CR become LF (character references to CR are kept).
    mutating func appendText(_ run: ArraySlice<UInt8>, normalizeNewlines: Bool) {
        guard !stack.isEmpty else { return }
        let top = stack.count - 1
        guard normalizeNewlines, run.contains(0x0D) else {
            stack[top].text.append(contentsOf: run)
            return
        }
        var index = run.startIndex
        while index < run.endIndex {
            let byte = run[index]
            if byte == 0x0D {
                stack[top].text.append(0x0A)
                if index + 1 < run.endIndex && run[index + 1] == 0x0A { index += 1 }
            } else {
                stack[top].text.append(byte)
            }
            index += 1
        }
    }

    /// `&name;` or `&#N;`/`&#xH;` (§4.1, §4.6), as UTF-8.
    mutating func reference() throws(XML.ParseError) -> [UInt8] {
        let start = position
        position += 1
        var body: [UInt8] = []
        while let byte = peek(), byte != 0x3B {
            guard body.count < 12 else { throw fail("an unterminated or unknown reference", at: start) }
            body.append(byte)
            position += 1
        }
        guard peek() == 0x3B else { throw fail("an unterminated reference", at: start) }
        position += 1
        switch String(decoding: body, as: UTF8.self) {
        case "amp": return [0x26]
        case "lt": return [0x3C]
        case "gt": return [0x3E]
        case "quot": return [0x22]
        case "apos": return [0x27]
        default:
            guard body.first == 0x23 else {
                throw fail("the entity '&\(String(decoding: body, as: UTF8.self));' is not defined (only amp, lt, gt, quot, apos)", at: start)
            }
            var digits = body.dropFirst()
            var radix: UInt32 = 10
            if digits.first == 0x78 {  // "x"
                radix = 16
                digits = digits.dropFirst()
            }
            guard !digits.isEmpty, digits.count <= 8 else { throw fail("a malformed character reference", at: start) }
            var value: UInt32 = 0
            for digit in digits {
                let d: UInt32
                switch digit {
                case 0x30...0x39: d = UInt32(digit - 0x30)
                case 0x61...0x66 where radix == 16: d = UInt32(digit - 0x61 + 10)
                case 0x41...0x46 where radix == 16: d = UInt32(digit - 0x41 + 10)
                default: throw fail("a malformed character reference", at: start)
                }
                value = value * radix + d  // at most 8 hex digits: fits in UInt32
            }
            // §2.2 Char.
            let allowed = value == 0x9 || value == 0xA || value == 0xD || (0x20...0xD7FF).contains(value)
                || (0xE000...0xFFFD).contains(value) || (0x10000...0x10FFFF).contains(value)
            guard allowed, let scalar = Unicode.Scalar(value) else {
                throw fail("a character reference to a character XML does not allow", at: start)
            }
            return Array(String(Character(scalar)).utf8)
        }
    }

    /// Reads a start tag (or an empty-element tag). Returns the root when the root is empty.
    mutating func startTag() throws(XML.ParseError) -> XML.Element? {
        let tagStart = position
        position += 1
        guard stack.count < limits.maximumDepth else { throw fail("elements nest deeper than \(limits.maximumDepth)", at: tagStart) }
        elementCount += 1
        guard elementCount <= limits.maximumElements else { throw fail("more than \(limits.maximumElements) elements", at: tagStart) }
        let qualified = try name()
        var raw: [(name: [UInt8], value: String, offset: Int)] = []
        var empty = false
        while true {
            let hadSpace = peek().map(Reader.isSpace) ?? false
            skipSpace()
            guard let byte = peek() else { throw fail("the document ends inside a tag", at: tagStart) }
            if byte == 0x3E {  // >
                position += 1
                break
            }
            if byte == 0x2F {  // />
                guard peek(1) == 0x3E else { throw fail("'/' not followed by '>' in a tag") }
                position += 2
                empty = true
                break
            }
            guard hadSpace else { throw fail("white space is needed between attributes") }
            let offset = position
            let attributeName = try name()
            skipSpace()
            guard peek() == 0x3D else { throw fail("'=' expected after an attribute name") }
            position += 1
            skipSpace()
            let value = try attributeValue()
            guard !raw.contains(where: { $0.name == attributeName }) else {
                throw fail("a repeated attribute", at: offset)
            }
            raw.append((attributeName, value, offset))
            guard raw.count <= limits.maximumAttributes else { throw fail("more than \(limits.maximumAttributes) attributes", at: offset) }
        }

        // Namespace declarations first (§3), then the names resolved against them.
        let outerScope = scope, outerScopeSize = scopeSize
        var declared: [String] = []
        for attribute in raw {
            let text = String(decoding: attribute.name, as: UTF8.self)
            var prefix = ""
            if text.hasPrefix("xmlns:") {
                prefix = String(text.dropFirst(6))
                guard !prefix.isEmpty, !prefix.contains(":") else { throw fail("a malformed namespace declaration", at: attribute.offset) }
                guard !attribute.value.isEmpty else { throw fail("the prefix '\(prefix)' is bound to an empty namespace name", at: attribute.offset) }
            } else if text != "xmlns" {
                continue
            }
            guard scopeSize < limits.maximumNamespaceDeclarations else {
                throw fail("more than \(limits.maximumNamespaceDeclarations) namespace declarations in scope", at: attribute.offset)
            }
            scope = XML.NamespaceScope(prefix: prefix, uri: attribute.value, outer: scope)
            scopeSize += 1
            inScope[prefix, default: []].append(attribute.value)
            declared.append(prefix)
        }
        var element = XML.Element(name: "")
        let (prefix, local) = try split(qualified, at: tagStart)
        element.name = local
        element.namespace = try resolve(prefix, element: true, at: tagStart)
        for attribute in raw {
            let text = String(decoding: attribute.name, as: UTF8.self)
            if text == "xmlns" || text.hasPrefix("xmlns:") {
                element.attributes.append(XML.Attribute(namespace: XML.xmlnsNamespace, name: text == "xmlns" ? "xmlns" : String(text.dropFirst(6)), value: attribute.value))
                continue
            }
            let (attributePrefix, attributeLocal) = try split(attribute.name, at: attribute.offset)
            let namespace = attributePrefix.isEmpty ? "" : try resolve(attributePrefix, element: false, at: attribute.offset)
            guard !element.attributes.contains(where: { $0.name == attributeLocal && $0.namespace == namespace }) else {
                throw fail("a repeated attribute (same namespace and name)", at: attribute.offset)
            }
            element.attributes.append(XML.Attribute(namespace: namespace, name: attributeLocal, value: attribute.value))
        }
        element.scope = scope
        let open = Open(element: element, qualifiedName: qualified, text: [], outerScope: outerScope, outerScopeSize: outerScopeSize, declared: declared)
        if empty {
            leaveScope(of: open)
            return attach(open)
        }
        stack.append(open)
        return nil
    }

    /// Reads an end tag; returns the root when it closes it.
    mutating func endTag() throws(XML.ParseError) -> XML.Element? {
        let tagStart = position
        position += 2
        let qualified = try name()
        skipSpace()
        guard peek() == 0x3E else { throw fail("'>' expected to end an end tag") }
        position += 1
        guard let open = stack.popLast() else { throw fail("an end tag without a start tag", at: tagStart) }
        guard open.qualifiedName == qualified else {
            throw fail("</\(String(decoding: qualified, as: UTF8.self))> closes <\(String(decoding: open.qualifiedName, as: UTF8.self))>", at: tagStart)
        }
        leaveScope(of: open)
        return attach(open)
    }

    /// Drops the declarations of an element that has ended.
    mutating func leaveScope(of open: Open) {
        scope = open.outerScope
        scopeSize = open.outerScopeSize
        for prefix in open.declared {
            _ = inScope[prefix]?.popLast()
            if inScope[prefix]?.isEmpty == true { inScope[prefix] = nil }
        }
    }

    /// Finishes an element: into its parent, or returned when it is the root.
    mutating func attach(_ open: Open) -> XML.Element? {
        var element = open.element
        element.text = String(decoding: open.text, as: UTF8.self)
        if stack.isEmpty { return element }
        stack[stack.count - 1].element.children.append(element)
        return nil
    }

    func split(_ qualified: [UInt8], at offset: Int) throws(XML.ParseError) -> (String, String) {
        guard let colon = qualified.firstIndex(of: 0x3A) else { return ("", String(decoding: qualified, as: UTF8.self)) }
        let prefix = qualified[..<colon], local = qualified[(colon + 1)...]
        guard !prefix.isEmpty, !local.isEmpty, !local.contains(0x3A), let first = local.first, Reader.isNameStart(first) else {
            throw fail("a malformed qualified name '\(String(decoding: qualified, as: UTF8.self))'", at: offset)
        }
        return (String(decoding: prefix, as: UTF8.self), String(decoding: local, as: UTF8.self))
    }

    func resolve(_ prefix: String, element: Bool, at offset: Int) throws(XML.ParseError) -> String {
        if prefix.isEmpty {
            // §6.2: the default namespace applies to elements only.
            return element ? (inScope[""]?.last ?? "") : ""
        }
        guard let uri = inScope[prefix]?.last else {
            throw fail("the prefix '\(prefix)' is not bound to a namespace", at: offset)
        }
        return uri
    }

    /// A quoted attribute value with references replaced and white space normalized (§3.3.3).
    mutating func attributeValue() throws(XML.ParseError) -> String {
        guard let quote = peek(), quote == 0x22 || quote == 0x27 else { throw fail("a quoted attribute value was expected") }
        let start = position
        position += 1
        var value: [UInt8] = []
        while true {
            guard let byte = peek() else { throw fail("an unterminated attribute value", at: start) }
            if byte == quote {
                position += 1
                return String(decoding: value, as: UTF8.self)
            }
            switch byte {
            case 0x3C:
                throw fail("'<' in an attribute value")
            case 0x26:
                value.append(contentsOf: try reference())
            case 0x09, 0x0A:
                value.append(0x20)
                position += 1
            case 0x0D:
                value.append(0x20)
                position += 1
                if peek() == 0x0A { position += 1 }
            default:
                value.append(byte)
                position += 1
            }
        }
    }
}
