import Glibc

// A session with a vCenter Server or an ESXi host over vim25 SOAP at `/sdk`: ServiceContent (every
// managed object Skiff talks to comes from it, nothing is hard-coded: the vCenter and ESXi ids
// differ), Login/Logout with the `vmware_soap_session` cookie, one call per request, SOAP faults
// as one line (`vSphere: InvalidLogin: Login failure`), RetrievePropertiesEx, and tasks waited on by
// polling `info.state`.

/// What RetrieveServiceContent returns, as far as Skiff uses it.
public struct ServiceContent: Equatable, Sendable {
    public var rootFolder: ManagedObjectReference
    public var propertyCollector: ManagedObjectReference
    public var viewManager: ManagedObjectReference?
    public var sessionManager: ManagedObjectReference?
    public var searchIndex: ManagedObjectReference?
    public var fileManager: ManagedObjectReference?
    public var ovfManager: ManagedObjectReference?
    public var virtualDiskManager: ManagedObjectReference?
    /// about.name, e.g. "VMware vCenter Server" or "VMware ESXi".
    public var productName: String
    /// about.version, e.g. "6.5.0".
    public var version: String
    /// about.apiVersion, e.g. "6.5".
    public var apiVersion: String
    /// about.apiType: VirtualCenter or HostAgent.
    public var apiType: String

    public init(_ returnval: XML.Element) throws(DeployError) {
        func reference(_ name: String) -> ManagedObjectReference? {
            returnval.child(name).flatMap(ManagedObjectReference.init)
        }
        guard let root = reference("rootFolder"), let collector = reference("propertyCollector") else {
            throw .failure("vSphere: the service content has no rootFolder or propertyCollector (is this a vSphere /sdk endpoint?)")
        }
        rootFolder = root
        propertyCollector = collector
        viewManager = reference("viewManager")
        sessionManager = reference("sessionManager")
        searchIndex = reference("searchIndex")
        fileManager = reference("fileManager")
        ovfManager = reference("ovfManager")
        virtualDiskManager = reference("virtualDiskManager")
        let about = returnval.child("about")
        productName = about?.child("name")?.text.trimmingXMLSpace ?? "vSphere"
        version = about?.child("version")?.text.trimmingXMLSpace ?? ""
        apiVersion = about?.child("apiVersion")?.text.trimmingXMLSpace ?? ""
        apiType = about?.child("apiType")?.text.trimmingXMLSpace ?? ""
    }

    /// `VMware vCenter Server 6.5, API 6.5`.
    public var summary: String {
        var text = productName
        if !version.isEmpty { text += " " + Self.shortVersion(version) }
        if !apiVersion.isEmpty { text += ", API " + apiVersion }
        return VSphereFault.oneLine(text)
    }

    /// "6.5.0" → "6.5".
    static func shortVersion(_ version: String) -> String {
        let parts = version.split(separator: ".")
        return parts.count >= 3 && parts[2] == "0" ? parts[0...1].joined(separator: ".") : version
    }
}

/// One object of a RetrievePropertiesEx reply: the properties that were read, by path.
public struct ObjectContent: Sendable {
    public var object: ManagedObjectReference
    public var properties: [String: XML.Element]
    /// Paths that could not be read (missingSet), with the fault.
    public var missing: [String: VSphereFault]

    /// A property's text (e.g. `name`), trimmed.
    public func text(_ path: String) -> String? {
        properties[path].map { $0.text.trimmingXMLSpace }
    }

    public func reference(_ path: String) -> ManagedObjectReference? {
        properties[path].flatMap(ManagedObjectReference.init)
    }

    /// An array property (`ArrayOfManagedObjectReference`): its items.
    public func references(_ path: String) -> [ManagedObjectReference] {
        properties[path]?.children.compactMap(ManagedObjectReference.init) ?? []
    }
}

/// The HTTP side of a session: one connection, the cookie, the SOAPAction.
final class SOAPTransport {
    let endpoint: HTTPEndpoint
    let client: HTTPClient
    var cookie: String?
    /// The SOAPAction header: real servers pick the API version by it.
    var soapAction = "urn:vim25/6.5"

    init(endpoint: HTTPEndpoint, verification: TLSVerification, timeout: Double) {
        self.endpoint = endpoint
        client = HTTPClient(endpoint: endpoint, verification: verification, timeout: timeout)
    }

    deinit {
        client.close()
    }

    var cookieHeader: [(name: String, value: String)] {
        cookie.map { [(name: "Cookie", value: "vmware_soap_session=" + $0)] } ?? []
    }

    var target: String { endpoint.basePath.isEmpty ? "/sdk" : endpoint.basePath }

    /// SOAP methods that change nothing on the server (or nothing a second call would change).
    static let repeatableMethods: Set<String> = [
        "RetrieveServiceContent", "RetrieveProperties", "RetrievePropertiesEx", "ContinueRetrievePropertiesEx",
        "FindByInventoryPath", "FindChild", "CreateImportSpec", "HttpNfcLeaseProgress", "CurrentTime",
    ]

    func invoke(_ method: String, _ body: String) throws(DeployError) -> XML.Element {
        var headers: [(name: String, value: String)] = [
            (name: "Content-Type", value: "text/xml; charset=utf-8"),
            (name: "SOAPAction", value: "\"\(soapAction)\""),
        ]
        headers += cookieHeader
        let request = HTTPRequest(method: "POST", target: target, headers: headers, body: .bytes(SOAP.envelope(body)))
        let response: HTTPResponse
        do {
            // A POST is not sent again after the connection died with no answer, except for the
            // methods that only read (or whose repetition is harmless), so that a kept-alive
            // connection the server closed between two polls does not end a long run.
            response = try client.send(request, resendAfterWritten: Self.repeatableMethods.contains(method))
        } catch {
            throw .failure("vSphere: \(method): \(error.message)")
        }
        for value in response.headers(named: "Set-Cookie") {
            if let session = VSphereSession.sessionCookie(value) { cookie = session }
        }
        return try Self.result(of: method, status: response.status, reason: response.reason, body: response.body,
                               where: "\(endpoint.hostAndPort)\(target)")
    }

    /// A reply's response element, or the one-line error for its fault, HTTP status or bytes.
    static func result(of method: String, status: Int, reason: String, body: [UInt8], where place: String) throws(DeployError) -> XML.Element {
        let outcome: SOAP.Outcome
        do {
            outcome = try SOAP.read(body)
        } catch {
            if status != 200 {
                throw .failure("vSphere: \(method): HTTP \(status) \(VSphereFault.oneLine(reason)) from \(place)")
            }
            throw .failure("vSphere: the reply to \(method) is not SOAP: \(error)")
        }
        switch outcome {
        case .fault(let fault):
            throw .failure("vSphere: \(fault)")
        case .response(let element):
            guard status == 200 else {
                throw .failure("vSphere: \(method): HTTP \(status) \(VSphereFault.oneLine(reason)) from \(place)")
            }
            return element
        }
    }
}

public final class VSphereSession {
    public let content: ServiceContent
    /// Who logged in (the name the server reports), once logged in.
    public private(set) var userName: String?
    let transport: SOAPTransport

    /// Connects and reads the ServiceContent (which needs no session).
    public init(endpoint: HTTPEndpoint, verification: TLSVerification, timeout: Double = 60) throws(DeployError) {
        let transport = SOAPTransport(endpoint: endpoint, verification: verification, timeout: timeout)
        let instance = ManagedObjectReference(type: "ServiceInstance", value: "ServiceInstance")
        let reply = try transport.invoke("RetrieveServiceContent", SOAP.call("RetrieveServiceContent", this: instance))
        guard let returnval = reply.child("returnval") else {
            throw .failure("vSphere: RetrieveServiceContent returned nothing (is \(endpoint.hostAndPort)\(transport.target) a vSphere /sdk endpoint?)")
        }
        content = try ServiceContent(returnval)
        if !content.apiVersion.isEmpty, content.apiVersion.utf8.allSatisfy({ $0 == 0x2E || ($0 >= 0x30 && $0 <= 0x39) }) {
            transport.soapAction = "urn:vim25/" + content.apiVersion
        }
        self.transport = transport
    }

    public var endpoint: HTTPEndpoint { transport.endpoint }
    var client: HTTPClient { transport.client }

    /// The server's certificate thumbprints (upper-case hex with colons), once connected over TLS.
    public var peerSHA1: String? { transport.client.peerSHA1 }
    public var peerSHA256: String? { transport.client.peerSHA256 }

    /// SessionManager.Login. The password goes into the request body only (XML-escaped).
    public func login(userName: String, password: String) throws(DeployError) {
        guard let manager = content.sessionManager else {
            throw .failure("vSphere: the server has no SessionManager")
        }
        let body = SOAP.call("Login", this: manager) { xml in
            xml.element("userName", userName)
            xml.element("password", password)
        }
        let reply = try invoke("Login", body)
        self.userName = reply.descendant("returnval", "userName")?.text.trimmingXMLSpace ?? userName
        guard transport.cookie != nil else {
            throw .failure("vSphere: Login succeeded but the server set no vmware_soap_session cookie")
        }
    }

    /// SessionManager.Logout; failures are ignored (the session then expires on the server).
    public func logout() {
        guard transport.cookie != nil, let manager = content.sessionManager else { return }
        _ = try? invoke("Logout", SOAP.call("Logout", this: manager))
        transport.cookie = nil
        userName = nil
    }

    /// The session cookie as a request header (for the datastore HTTP interface too).
    public var cookieHeader: [(name: String, value: String)] { transport.cookieHeader }

    /// Sends one SOAP request (`body`: the method element) and returns the response element
    /// (`<MethodResponse>`); a SOAP fault becomes `vSphere: Name: faultstring`.
    @discardableResult
    public func invoke(_ method: String, _ body: String) throws(DeployError) -> XML.Element {
        try transport.invoke(method, body)
    }

    /// The value of a `vmware_soap_session` cookie in a Set-Cookie header (RFC 6265 §4.1: the
    /// first `name=value` pair), or nil for another cookie.
    static func sessionCookie(_ header: String) -> String? {
        let pair = header.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
        let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].trimmingXMLSpaceSubstring == "vmware_soap_session" else { return nil }
        let value = String(parts[1]).trimmingXMLSpace
        // A cookie value goes back verbatim; one with a line break or a semicolon could not.
        guard !value.isEmpty, !value.utf8.contains(where: { $0 < 0x20 || $0 == 0x3B || $0 == 0x7F }) else { return nil }
        return value
    }

    // MARK: Properties

    /// RetrievePropertiesEx (and ContinueRetrievePropertiesEx while there is a token) for a
    /// `<specSet>` written by `spec`.
    public func retrieve(_ spec: (inout XMLWriter) -> Void) throws(DeployError) -> [ObjectContent] {
        let body = SOAP.call("RetrievePropertiesEx", this: content.propertyCollector) { xml in
            xml.group("specSet", spec)
            xml.group("options") { _ in }
        }
        var reply = try invoke("RetrievePropertiesEx", body)
        var objects: [ObjectContent] = []
        var pages = 0
        while let result = reply.child("returnval") {
            objects += result.children("objects").compactMap(Self.objectContent)
            guard let token = result.child("token")?.text.trimmingXMLSpace, !token.isEmpty else { break }
            pages += 1
            guard pages < 10_000 else { throw .failure("vSphere: RetrievePropertiesEx: more than 10000 pages of results") }
            reply = try invoke("ContinueRetrievePropertiesEx", SOAP.call("ContinueRetrievePropertiesEx", this: content.propertyCollector) { xml in
                xml.element("token", token)
            })
        }
        return objects
    }

    static func objectContent(_ element: XML.Element) -> ObjectContent? {
        guard let object = element.child("obj").flatMap(ManagedObjectReference.init) else { return nil }
        var content = ObjectContent(object: object, properties: [:], missing: [:])
        for property in element.children("propSet") {
            guard let name = property.child("name")?.text.trimmingXMLSpace, let value = property.child("val") else { continue }
            content.properties[name] = value
        }
        for missing in element.children("missingSet") {
            guard let path = missing.child("path")?.text.trimmingXMLSpace else { continue }
            content.missing[path] = missing.child("fault").map(VSphereFault.methodFault) ?? VSphereFault(name: "MissingProperty", message: "")
        }
        return content
    }

    /// Some properties of one object (nil when the object does not exist any more).
    public func properties(of object: ManagedObjectReference, _ paths: [String]) throws(DeployError) -> ObjectContent? {
        let objects = try retrieve { xml in
            xml.group("propSet") { xml in
                xml.element("type", object.type)
                for path in paths { xml.element("pathSet", path) }
            }
            xml.group("objectSet") { xml in
                xml.reference("obj", object)
            }
        }
        return objects.first { $0.object == object }
    }

    /// Some properties of every object of `type` under `container` (recursively), through a
    /// ContainerView that is destroyed afterwards.
    public func properties(ofAll type: String, in container: ManagedObjectReference, _ paths: [String]) throws(DeployError) -> [ObjectContent] {
        guard let viewManager = content.viewManager else {
            throw .failure("vSphere: the server has no ViewManager")
        }
        let created = try invoke("CreateContainerView", SOAP.call("CreateContainerView", this: viewManager) { xml in
            xml.reference("container", container)
            xml.element("type", type)
            xml.element("recursive", true)
        })
        guard let view = created.child("returnval").flatMap(ManagedObjectReference.init) else {
            throw .failure("vSphere: CreateContainerView returned no view")
        }
        defer { _ = try? invoke("DestroyView", SOAP.call("DestroyView", this: view)) }
        return try retrieve { xml in
            xml.group("propSet") { xml in
                xml.element("type", type)
                for path in paths { xml.element("pathSet", path) }
            }
            xml.group("objectSet") { xml in
                xml.reference("obj", view)
                xml.element("skip", true)
                xml.group("selectSet", type: "TraversalSpec") { xml in
                    xml.element("type", "ContainerView")
                    xml.element("path", "view")
                    xml.element("skip", false)
                }
            }
        }
    }

    /// SearchIndex.FindByInventoryPath (`DC0/datastore/LocalDS_0`); nil when nothing is there.
    public func find(inventoryPath: String) throws(DeployError) -> ManagedObjectReference? {
        guard let index = content.searchIndex else { throw .failure("vSphere: the server has no SearchIndex") }
        let reply = try invoke("FindByInventoryPath", SOAP.call("FindByInventoryPath", this: index) { xml in
            xml.element("inventoryPath", inventoryPath)
        })
        return reply.child("returnval").flatMap(ManagedObjectReference.init)
    }

    /// SearchIndex.FindChild: the entity named `name` directly in `parent`.
    public func findChild(of parent: ManagedObjectReference, named name: String) throws(DeployError) -> ManagedObjectReference? {
        guard let index = content.searchIndex else { throw .failure("vSphere: the server has no SearchIndex") }
        let reply = try invoke("FindChild", SOAP.call("FindChild", this: index) { xml in
            xml.reference("entity", parent)
            xml.element("name", name)
        })
        return reply.child("returnval").flatMap(ManagedObjectReference.init)
    }

    /// FileManager.DeleteDatastoreFile_Task: a file or a folder with everything in it.
    public func deleteDatastoreFile(_ file: DatastoreFile, datacenter: ManagedObjectReference) throws(DeployError) {
        guard let manager = content.fileManager else { throw .failure("vSphere: the server has no FileManager") }
        try runTask("DeleteDatastoreFile_Task", SOAP.call("DeleteDatastoreFile_Task", this: manager) { xml in
            xml.element("name", file.datastorePath)
            xml.reference("datacenter", datacenter)
        })
    }

    // MARK: Tasks

    /// Calls a `..._Task` method and returns its Task.
    public func startTask(_ method: String, _ body: String) throws(DeployError) -> ManagedObjectReference {
        let reply = try invoke(method, body)
        guard let task = reply.child("returnval").flatMap(ManagedObjectReference.init) else {
            throw .failure("vSphere: \(method) returned no task")
        }
        return task
    }

    /// Polls the task's `info.state` until success or error, or until `timeout` seconds have
    /// passed. Returns `info.result` (nil when the task has none); a task error is thrown like a
    /// fault: `vSphere: CreateVM_Task: DuplicateName: ...`.
    @discardableResult
    public func wait(for task: ManagedObjectReference, _ what: String, timeout: Double = 600) throws(DeployError) -> XML.Element? {
        switch try outcome(of: task, what, timeout: timeout) {
        case .success(let result): return result
        case .failure(let fault): throw .failure("vSphere: \(what): \(fault)")
        }
    }

    /// Polls the task's `info.state` (every 0.1 s, doubling to 2 s) until success (`info.result`)
    /// or error (`info.error`'s fault, for a caller that expects some faults); a task that is gone
    /// or still running after `timeout` seconds is thrown.
    public func outcome(of task: ManagedObjectReference, _ what: String, timeout: Double) throws(DeployError) -> Result<XML.Element?, VSphereFault> {
        let start = ChildProcess.monotonicSeconds()
        var pause = 0.1
        while true {
            guard let info = try properties(of: task, ["info.state", "info.error", "info.result"]) else {
                throw .failure("vSphere: \(what): the task \(task.value) disappeared")
            }
            switch info.text("info.state") {
            case "success":
                return .success(info.properties["info.result"])
            case "error":
                return .failure(info.properties["info.error"].map(VSphereFault.methodFault) ?? VSphereFault(name: "TaskError", message: ""))
            default:
                break
            }
            if ChildProcess.monotonicSeconds() - start > timeout {
                throw .failure("vSphere: \(what): the task \(task.value) did not finish in \(Int(timeout)) s (it may still finish on the server)")
            }
            var interval = timespec(tv_sec: Int(pause), tv_nsec: Int((pause - Double(Int(pause))) * 1e9))
            nanosleep(&interval, nil)
            pause = min(pause * 2, 2)
        }
    }

    /// startTask and wait in one.
    @discardableResult
    public func runTask(_ method: String, _ body: String, _ what: String? = nil, timeout: Double = 600) throws(DeployError) -> XML.Element? {
        let task = try startTask(method, body)
        return try wait(for: task, what ?? method, timeout: timeout)
    }
}

extension Substring {
    var trimmingXMLSpaceSubstring: String { String(self).trimmingXMLSpace }
}
