// The SOAP 1.1 layer of vim25: the envelope around each request, the XML Skiff writes, managed
// object references, and the reading of a reply into its result element or one fault line.

/// A managed object reference: its type and its id. Ids are opaque (a datastore's may contain
/// `/`, `@`, `[` and spaces; the ESX model's network is `HaNetwork-VM Network`): escaped, never
/// parsed.
public struct ManagedObjectReference: Hashable, Sendable, CustomStringConvertible {
    public var type: String
    public var value: String

    public init(type: String, value: String) {
        self.type = type
        self.value = value
    }

    /// From an element such as `<returnval type="Task">task-68</returnval>`; nil without a type or
    /// an id.
    public init?(_ element: XML.Element) {
        guard let type = element.attribute("type"), !type.isEmpty else { return nil }
        let value = element.text.trimmingXMLSpace
        guard !value.isEmpty else { return nil }
        self.init(type: type, value: value)
    }

    public var description: String { "\(type):\(value)" }
}

extension String {
    /// Without leading and trailing XML white space (space, tab, CR, LF).
    var trimmingXMLSpace: String {
        let bytes = Array(utf8)
        var start = 0, end = bytes.count
        while start < end, bytes[start] == 0x20 || bytes[start] == 0x09 || bytes[start] == 0x0A || bytes[start] == 0x0D { start += 1 }
        while end > start, bytes[end - 1] == 0x20 || bytes[end - 1] == 0x09 || bytes[end - 1] == 0x0A || bytes[end - 1] == 0x0D { end -= 1 }
        return String(decoding: bytes[start..<end], as: UTF8.self)
    }
}

/// Writes request bodies: elements in the order given (vim25's types are XML Schema sequences, so
/// the order is the WSDL's), text escaped.
public struct XMLWriter: Sendable {
    public private(set) var text = ""

    public init() {}

    /// `<name attributes...>`; attribute names are Skiff's own constants, values are escaped.
    public mutating func open(_ name: String, _ attributes: [(String, String)] = []) {
        text += "<" + name
        for (key, value) in attributes { text += " \(key)=\"\(XML.escapeAttribute(value))\"" }
        text += ">"
    }

    mutating func appendRaw(_ xml: String) {
        text += xml
    }

    public mutating func close(_ name: String) {
        text += "</\(name)>"
    }

    /// `<name>escaped text</name>`.
    public mutating func element(_ name: String, _ value: String, _ attributes: [(String, String)] = []) {
        open(name, attributes)
        text += XML.escapeText(value)
        close(name)
    }

    public mutating func element(_ name: String, _ value: Int) { element(name, String(value)) }
    public mutating func element(_ name: String, _ value: Int64) { element(name, String(value)) }
    public mutating func element(_ name: String, _ value: Bool) { element(name, value ? "true" : "false") }

    /// `<name type="Type">id</name>`.
    public mutating func reference(_ name: String, _ reference: ManagedObjectReference) {
        element(name, reference.value, [("type", reference.type)])
    }

    /// Nested content: `group("device", type: "VirtualDisk") { ... }` writes
    /// `<device xsi:type="VirtualDisk">...</device>`.
    public mutating func group(_ name: String, type: String? = nil, _ body: (inout XMLWriter) -> Void) {
        open(name, type.map { [("xsi:type", $0)] } ?? [])
        body(&self)
        close(name)
    }
}

/// A SOAP fault, or a failed task's `info.error`, as vSphere reports it.
public struct VSphereFault: Error, Equatable, Sendable, CustomStringConvertible {
    /// The fault type: the `xsi:type` of `<detail>`'s child (InvalidLogin, NotAuthenticated,
    /// ManagedObjectNotFound, ...), else the child's name without a `Fault` suffix, else the
    /// faultcode.
    public var name: String
    /// faultstring or localizedMessage; may be empty (NotAuthenticated).
    public var message: String
    /// What the detail says beyond its type, when it helps: the object for ManagedObjectNotFound,
    /// the name for DuplicateName, the file for FileNotFound...
    public var detail: String

    public init(name: String, message: String, detail: String = "") {
        self.name = name
        self.message = message
        self.detail = detail
    }

    /// `InvalidLogin: Login failure`, `NotAuthenticated`, `ManagedObjectNotFound: ... (obj: X)`.
    public var description: String {
        var line = name
        let text = message.trimmingXMLSpace
        // The simulator's task errors carry Go's type name as the message (`*types.InvalidPowerState`).
        if !text.isEmpty && text != name && text != "*types.\(name)" { line += ": " + text }
        if !detail.isEmpty && !line.contains(detail) { line += " (\(detail))" }
        return Self.oneLine(line)
    }

    /// Newlines and other control characters from a server become spaces; very long texts are cut.
    static func oneLine(_ text: String) -> String {
        var out = ""
        var count = 0
        for scalar in text.unicodeScalars {
            count += 1
            if count > 400 {
                out += "..."
                break
            }
            if scalar.value < 0x20 || scalar.value == 0x7F {
                if !out.hasSuffix(" ") { out += " " }
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// From a `<soapenv:Fault>` element.
    public static func soapFault(_ fault: XML.Element) -> VSphereFault {
        let code = XML.localPart(fault.child("faultcode")?.text.trimmingXMLSpace ?? "")
        let message = fault.child("faultstring")?.text ?? ""
        guard let detail = fault.child("detail")?.children.first else {
            return VSphereFault(name: code.isEmpty ? "Fault" : code, message: message)
        }
        var name = detail.schemaType ?? ""
        if name.isEmpty {
            name = detail.name.hasSuffix("Fault") && detail.name.count > 5 ? String(detail.name.dropLast(5)) : detail.name
        }
        return VSphereFault(name: name, message: message, detail: details(of: detail))
    }

    /// From a `LocalizedMethodFault` (a task's `info.error`): `<fault xsi:type="X">` and
    /// `<localizedMessage>`.
    public static func methodFault(_ error: XML.Element) -> VSphereFault {
        let fault = error.child("fault")
        let name = fault?.schemaType ?? "MethodFault"
        let message = error.child("localizedMessage")?.text ?? ""
        var result = VSphereFault(name: name, message: message, detail: fault.map(details(of:)) ?? "")
        // A fault's nested faultMessage (LocalizableMessage) may say more than the summary.
        if result.message.trimmingXMLSpace.isEmpty, let text = fault?.descendant("faultMessage", "message")?.text {
            result.message = text
        }
        return result
    }

    /// The leaf values that name what the fault is about (`obj`, `name`, `file`, `datastore`...).
    static func details(of fault: XML.Element) -> String {
        var parts: [String] = []
        for child in fault.children where child.children.isEmpty {
            let value = child.text.trimmingXMLSpace
            guard !value.isEmpty, ["obj", "name", "file", "datastore", "object", "invalidProperty", "property", "state", "requestedState", "existingState", "userName"].contains(child.name) else { continue }
            parts.append("\(child.name): \(value)")
        }
        return parts.joined(separator: ", ")
    }
}

public enum SOAP {
    public static let envelopeNamespace = "http://schemas.xmlsoap.org/soap/envelope/"

    /// The request document around `body` (one method element in `urn:vim25`).
    public static func envelope(_ body: String) -> [UInt8] {
        Array(("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
            + "<soapenv:Envelope xmlns:soapenv=\"\(envelopeNamespace)\" xmlns:xsi=\"\(XML.schemaInstanceNamespace)\" xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\">"
            + "<soapenv:Body>" + body + "</soapenv:Body></soapenv:Envelope>").utf8)
    }

    /// A method call: `<Method xmlns="urn:vim25"><_this type="T">id</_this>...</Method>`.
    public static func call(_ method: String, this: ManagedObjectReference, _ arguments: (inout XMLWriter) -> Void = { _ in }) -> String {
        var writer = XMLWriter()
        writer.open(method, [("xmlns", "urn:vim25")])
        writer.reference("_this", this)
        arguments(&writer)
        writer.close(method)
        return writer.text
    }

    public enum Outcome: Equatable, Sendable {
        /// The method's response element (`<MethodResponse>`).
        case response(XML.Element)
        case fault(VSphereFault)
    }

    /// Reads a reply: the first element of the Body is either a Fault or the response.
    public static func read(_ bytes: [UInt8]) throws(XML.ParseError) -> Outcome {
        let root = try XML.parse(bytes)
        guard root.name == "Envelope", root.namespace == envelopeNamespace else {
            throw XML.ParseError(message: "the reply is <\(root.name)>, not a SOAP envelope", offset: 0)
        }
        guard let body = root.children.first(where: { $0.name == "Body" && $0.namespace == envelopeNamespace }) else {
            throw XML.ParseError(message: "the SOAP envelope has no Body", offset: 0)
        }
        guard let first = body.children.first else {
            throw XML.ParseError(message: "the SOAP Body is empty", offset: 0)
        }
        if first.name == "Fault" && first.namespace == envelopeNamespace {
            return .fault(VSphereFault.soapFault(first))
        }
        return .response(first)
    }
}
