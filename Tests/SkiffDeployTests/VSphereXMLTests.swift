import Glibc
import XCTest
@testable import SkiffDeploy

/// The XML reader and SOAP layer against replies as the simulator and vCenter write them.
final class VSphereXMLTests: XCTestCase {
    let xsiURI = "http://www.w3.org/2001/XMLSchema-instance"

    func testNamespacesResolveByURINotPrefix() throws {
        let element = try XML.parse("""
            <a:root xmlns:a="urn:one" xmlns="urn:default"><child b:x="1" xmlns:b="urn:two" y="2"/><a:other/></a:root>
            """)
        XCTAssertEqual(element.namespace, "urn:one")
        XCTAssertEqual(element.name, "root")
        XCTAssertEqual(element.children.count, 2)
        XCTAssertEqual(element.children[0].namespace, "urn:default", "the default namespace applies to unprefixed elements")
        XCTAssertEqual(element.children[0].attribute("x", namespace: "urn:two"), "1")
        XCTAssertNil(element.children[0].attribute("x"), "a prefixed attribute is not in no namespace")
        XCTAssertEqual(element.children[0].attribute("y"), "2", "unprefixed attributes are in no namespace")
        XCTAssertEqual(element.children[1].namespace, "urn:one")
    }

    /// The simulator writes property values with the prefix `XMLSchema-instance`, fault details
    /// with `xsi`: both are the same attribute.
    func testSchemaInstanceTypeUnderAnyPrefix() throws {
        let property = try XML.parse("""
            <propSet xmlns="urn:vim25"><name>name</name><val xmlns:XMLSchema-instance="\(xsiURI)" XMLSchema-instance:type="xsd:string">DC0</val></propSet>
            """)
        XCTAssertEqual(property.child("val")?.schemaType, "string")
        XCTAssertEqual(property.child("val")?.text, "DC0")
        let detail = try XML.parse("""
            <detail xmlns:xsi="\(xsiURI)"><InvalidLoginFault xmlns="urn:vim25" xsi:type="InvalidLogin"></InvalidLoginFault></detail>
            """)
        XCTAssertEqual(detail.children.first?.schemaType, "InvalidLogin")
        // A `type` attribute in another namespace (or none) is not xsi:type.
        let other = try XML.parse(#"<val xmlns:xsi="urn:not-xsi" xsi:type="Fake" type="Folder">group-d1</val>"#)
        XCTAssertNil(other.schemaType)
        XCTAssertEqual(other.attribute("type"), "Folder")
    }

    func testEntitiesCharacterReferencesAndCDATA() throws {
        let element = try XML.parse("<t a=\"&quot;x&apos; &#x41;&#66;\">a &amp; b &lt;c&gt; &#233;&#x1F600;<![CDATA[<raw & ]]]>tail</t>")
        XCTAssertEqual(element.text, "a & b <c> é😀<raw & ]tail")
        XCTAssertEqual(element.attribute("a"), "\"x' AB")
    }

    func testLineEndsAndAttributeWhiteSpaceAreNormalized() throws {
        let element = try XML.parse("<t a=\"1\r\n2\t3\">x\r\ny\rz&#13;</t>")
        XCTAssertEqual(element.text, "x\ny\nz\r")
        XCTAssertEqual(element.attribute("a"), "1 2 3")
    }

    func testPrologCommentsAndProcessingInstructions() throws {
        let bytes = [0xEF, 0xBB, 0xBF] + Array("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- c --><?pi x?><r><!-- in --><?pi?>t</r>\n<!-- after -->\n".utf8)
        let element = try XML.parse(bytes)
        XCTAssertEqual(element.name, "r")
        XCTAssertEqual(element.text, "t")
    }

    func testMalformedDocumentsAreErrorsWithOffsets() {
        let cases: [(String, String)] = [
            ("<a><b></a>", "closes"),
            ("<a>", "ends inside"),
            ("<a x='1' x='2'/>", "repeated attribute"),
            ("<p:a/>", "not bound"),
            ("<a>&unknown;</a>", "not defined"),
            ("<a>&#0;</a>", "does not allow"),
            ("<a>&#xD800;</a>", "does not allow"),
            ("<a>&#99999999999;</a>", "malformed"),
            ("<!DOCTYPE a [<!ENTITY x \"y\">]><a>&x;</a>", "document type"),
            ("<a/><b/>", "after the root"),
            ("text<a/>", "before the root"),
            ("", "no root"),
            ("<a x=\"<\"/>", "'<' in an attribute"),
            ("<a>]]></a>", "']]>'"),
            ("<a x=1/>", "quoted"),
            ("<a><![CDATA[x</a>", "unterminated CDATA"),
        ]
        for (text, expected) in cases {
            XCTAssertThrowsError(try XML.parse(text), text) { error in
                let message = (error as? XML.ParseError)?.description ?? ""
                XCTAssertTrue(message.contains(expected), "\(text): \(message)")
                XCTAssertTrue(message.contains("at byte"), message)
            }
        }
    }

    func testLimits() {
        var limits = XML.Limits()
        limits.maximumDepth = 8
        let deep = String(repeating: "<a>", count: 9) + String(repeating: "</a>", count: 9)
        XCTAssertThrowsError(try XML.parse(deep, limits: limits))
        XCTAssertNoThrow(try XML.parse(String(repeating: "<a>", count: 8) + String(repeating: "</a>", count: 8), limits: limits))
        limits = XML.Limits()
        limits.maximumElements = 10
        XCTAssertThrowsError(try XML.parse("<r>" + String(repeating: "<e/>", count: 10) + "</r>", limits: limits))
        limits = XML.Limits()
        limits.maximumBytes = 10
        XCTAssertThrowsError(try XML.parse("<r>0123456789</r>", limits: limits))
        // A million nested elements under the default limits: an error, not a stack overflow.
        XCTAssertThrowsError(try XML.parse(String(repeating: "<a>", count: 1_000_000)))
    }

    /// Namespace declarations are shared by the elements in their scope, not copied into each:
    /// 1000 declarations in scope (4 levels of 250) over 5000 small elements took about 160 MB
    /// when every element carried its own copy of the list; now a few MB.
    func testNamespaceDeclarationsInScopeCostNoMemoryPerElement() throws {
        var text = "<r>"
        for level in 0..<4 {
            text += "<l\(level)" + (0..<250).map { " xmlns:p\(level)_\($0)=\"urn:x:\(level):\($0)\"" }.joined() + ">"
        }
        text += String(repeating: "<p3_249:e p0_0:a=\"1\"/>", count: 5000)
        for level in (0..<4).reversed() { text += "</l\(level)>" }
        text += "</r>"
        let bytes = Array(text.utf8)
        let before = try XCTUnwrap(Self.heapInUse())
        let root = try XML.parse(bytes)
        let grown = try XCTUnwrap(Self.heapInUse()) - before
        let leaves = root.descendant("l0", "l1", "l2", "l3")?.children ?? []
        XCTAssertEqual(leaves.count, 5000)
        XCTAssertEqual(leaves.last?.namespace, "urn:x:3:249")
        XCTAssertEqual(leaves.last?.attribute("a", namespace: "urn:x:0:0"), "1")
        XCTAssertEqual(leaves.first?.namespace(forPrefix: "p2_7"), "urn:x:2:7")
        XCTAssertEqual(leaves.first?.bindings.count, 1001, "xml, then the 1000 declared")
        XCTAssertLessThan(grown, 16 << 20, "\(grown) bytes for a \(bytes.count)-byte document")

        // More than the limit in scope at once is an error; as many spread over siblings is not.
        var limits = XML.Limits()
        limits.maximumNamespaceDeclarations = 10
        let nested = (0..<10).map { "<a xmlns:n\($0)=\"urn:\($0)\">" }.joined() + (0..<10).map { _ in "</a>" }.joined()
        XCTAssertThrowsError(try XML.parse(nested, limits: limits)) { error in
            XCTAssertTrue("\(error)".hasPrefix("more than 10 namespace declarations in scope at byte "), "\(error)")
        }
        let siblings = "<r>" + (0..<50).map { "<a xmlns:n=\"urn:\($0)\"><n:b/></a>" }.joined() + "</r>"
        let parsed = try XML.parse(siblings, limits: limits)
        XCTAssertEqual(parsed.children.map { $0.children.first?.namespace }, (0..<50).map { "urn:\($0)" })
    }

    /// The bytes malloc has handed out and not got back, from glibc's malloc_info(3) (read with
    /// the XML reader): what the arenas hold minus their free chunks, plus the chunks mmap()ed on
    /// their own. malloc.h is not in Swift's Glibc module, so the function comes from dlsym.
    static func heapInUse() -> Int? {
        typealias MallocInfo = @convention(c) (Int32, UnsafeMutablePointer<FILE>?) -> Int32
        guard let symbol = dlsym(nil, "malloc_info") else { return nil }
        let mallocInfo = unsafeBitCast(symbol, to: MallocInfo.self)
        var buffer: UnsafeMutablePointer<CChar>?
        var length = 0
        guard let stream = open_memstream(&buffer, &length) else { return nil }
        let status = mallocInfo(0, stream)
        fclose(stream)
        defer { free(buffer) }
        // After fclose, buffer holds `length` bytes and a NUL (open_memstream(3)).
        guard status == 0, let buffer, let report = try? XML.parse(String(cString: buffer)) else { return nil }
        func bytes(_ element: String, _ type: String) -> Int? {
            report.children(element).first { $0.attribute("type") == type }?.attribute("size").flatMap { Int($0) }
        }
        guard let system = bytes("system", "current"), let fast = bytes("total", "fast"), let rest = bytes("total", "rest"),
              let mmapped = bytes("total", "mmap") else { return nil }
        return system - fast - rest + mmapped
    }

    /// A prefix declared again inside its scope shadows the outer binding there and only there;
    /// `xmlns=""` takes the default namespace away (Namespaces in XML 1.0 §6.1, §6.2).
    func testShadowedAndUndeclaredBindings() throws {
        let root = try XML.parse("""
            <p:r xmlns:p="urn:outer" xmlns="urn:default"><p:a xmlns:p="urn:inner" xmlns=""><p:b/><c/></p:a><p:d/><e/></p:r>
            """)
        XCTAssertEqual(root.namespace, "urn:outer")
        let a = try XCTUnwrap(root.child("a"))
        XCTAssertEqual(a.namespace, "urn:inner")
        XCTAssertEqual(a.child("b")?.namespace, "urn:inner")
        XCTAssertEqual(a.child("c")?.namespace, "")
        XCTAssertEqual(a.namespace(forPrefix: "p"), "urn:inner")
        XCTAssertEqual(a.namespace(forPrefix: ""), "")
        XCTAssertEqual(a.bindings.map(\.prefix), ["xml", "p", "", "p", ""], "outermost first, innermost last")
        XCTAssertEqual(root.child("d")?.namespace, "urn:outer", "the inner binding ended with its element")
        XCTAssertEqual(root.child("e")?.namespace, "urn:default")
        XCTAssertEqual(root.namespace(forPrefix: "xml"), XML.xmlNamespace)
        XCTAssertNil(root.namespace(forPrefix: "q"))
    }

    /// Random and mutated bytes: every outcome is an element or an error, never a trap.
    func testHostileBytesNeverTrap() {
        var generator = SplitMix(seed: 7)
        let seed = Array("""
            <?xml version="1.0"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="\(xsiURI)"><soapenv:Body><R xmlns="urn:vim25"><returnval type="Task">a&amp;b<![CDATA[x]]>&#x41;</returnval></R></soapenv:Body></soapenv:Envelope>
            """.utf8)
        let alphabet = Array("<>/=\"'&;#x:![]CDATA-? \r\n\tabc\u{0}".utf8) + [0xFF, 0xC3, 0xE2, 0x80]
        var parsed = 0
        for round in 0..<20_000 {
            var bytes = seed
            let edits = 1 + Int(generator.next() % 8)
            for _ in 0..<edits where !bytes.isEmpty {
                let position = Int(generator.next() % UInt64(bytes.count))
                switch generator.next() % 4 {
                case 0: bytes[position] = alphabet[Int(generator.next() % UInt64(alphabet.count))]
                case 1: bytes.remove(at: position)
                case 2: bytes.insert(alphabet[Int(generator.next() % UInt64(alphabet.count))], at: position)
                default: bytes = Array(bytes[0..<position])
                }
            }
            if round % 5 == 0 {
                bytes = (0..<Int(generator.next() % 200)).map { _ in alphabet[Int(generator.next() % UInt64(alphabet.count))] }
            }
            if (try? XML.parse(bytes)) != nil { parsed += 1 }
            _ = try? SOAP.read(bytes)
        }
        XCTAssertGreaterThan(parsed, 0, "some mutations stay well-formed")
    }

    // MARK: SOAP

    func testFaultNameFromDetailTypeWithFaultString() throws {
        let reply = Array("""
            <?xml version="1.0" encoding="UTF-8"?>
            <soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="\(xsiURI)"><soapenv:Body><soapenv:Fault><faultcode>ServerFaultCode</faultcode><faultstring>Login failure</faultstring><detail><InvalidLoginFault xmlns="urn:vim25" xsi:type="InvalidLogin"></InvalidLoginFault></detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>
            """.utf8)
        guard case .fault(let fault) = try SOAP.read(reply) else { return XCTFail("not a fault") }
        XCTAssertEqual(fault.description, "InvalidLogin: Login failure")
    }

    func testFaultWithEmptyFaultStringIsItsName() throws {
        let reply = Array("""
            <soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="\(xsiURI)"><soapenv:Body><soapenv:Fault><faultcode>ServerFaultCode</faultcode><faultstring></faultstring><detail><NotAuthenticatedFault xmlns="urn:vim25" xsi:type="NotAuthenticated"><object type="Folder">group-d1</object><privilegeId>System.View</privilegeId></NotAuthenticatedFault></detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>
            """.utf8)
        guard case .fault(let fault) = try SOAP.read(reply) else { return XCTFail("not a fault") }
        XCTAssertEqual(fault.name, "NotAuthenticated")
        XCTAssertEqual(fault.description, "NotAuthenticated (object: group-d1)")
    }

    func testFaultWithoutTypeFallsBackToElementNameThenFaultCode() throws {
        let envelope = { (inner: String) in
            Array("<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body><s:Fault>\(inner)</s:Fault></s:Body></s:Envelope>".utf8)
        }
        guard case .fault(let a) = try SOAP.read(envelope("<faultcode>s:Server</faultcode><faultstring>boom\nline</faultstring><detail><DuplicateNameFault xmlns=\"urn:vim25\"><name>x</name></DuplicateNameFault></detail>")) else { return XCTFail() }
        XCTAssertEqual(a.description, "DuplicateName: boom line (name: x)")
        guard case .fault(let b) = try SOAP.read(envelope("<faultcode>s:Client</faultcode><faultstring>bad</faultstring>")) else { return XCTFail() }
        XCTAssertEqual(b.description, "Client: bad")
    }

    func testTaskErrorAsMethodFault() throws {
        let value = try XML.parse("""
            <val xmlns:XMLSchema-instance="\(xsiURI)" XMLSchema-instance:type="LocalizedMethodFault"><fault XMLSchema-instance:type="InvalidPowerState"><requestedState>poweredOff</requestedState><existingState>poweredOn</existingState></fault><localizedMessage>*types.InvalidPowerState</localizedMessage></val>
            """)
        XCTAssertEqual(VSphereFault.methodFault(value).description, "InvalidPowerState (requestedState: poweredOff, existingState: poweredOn)")
    }

    func testResponseAndReferenceWithOpaqueId() throws {
        let reply = Array("""
            <soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><FindByInventoryPathResponse xmlns="urn:vim25"><returnval type="Datastore">/tmp/govcsim-DC0-LocalDS_0-1 [x]@folder-5</returnval></FindByInventoryPathResponse></soapenv:Body></soapenv:Envelope>
            """.utf8)
        guard case .response(let response) = try SOAP.read(reply) else { return XCTFail("not a response") }
        XCTAssertEqual(response.name, "FindByInventoryPathResponse")
        XCTAssertEqual(response.child("returnval").flatMap(ManagedObjectReference.init),
                       ManagedObjectReference(type: "Datastore", value: "/tmp/govcsim-DC0-LocalDS_0-1 [x]@folder-5"))
        XCTAssertThrowsError(try SOAP.read(Array("<Envelope/>".utf8)))
        XCTAssertThrowsError(try SOAP.read(Array("<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body/></s:Envelope>".utf8)))
    }

    func testRequestEscapingAndEnvelope() throws {
        let body = SOAP.call("Login", this: ManagedObjectReference(type: "SessionManager", value: "ha-sessionmgr")) { xml in
            xml.element("userName", "root")
            xml.element("password", "a<b&c>\"d]]>")
        }
        XCTAssertEqual(body, #"<Login xmlns="urn:vim25"><_this type="SessionManager">ha-sessionmgr</_this><userName>root</userName><password>a&lt;b&amp;c&gt;"d]]&gt;</password></Login>"#)
        // The envelope parses, and the password reads back as it was.
        guard case .response(let login) = try SOAP.read(SOAP.envelope(body)) else { return XCTFail() }
        XCTAssertEqual(login.child("password")?.text, "a<b&c>\"d]]>")
        XCTAssertEqual(XML.escapeAttribute("a\"b\n\tc&"), "a&quot;b&#10;&#9;c&amp;")
        XCTAssertEqual(XML.escapeText("x\u{1}y\rz"), "xy&#13;z", "control characters XML cannot carry are dropped")
        var writer = XMLWriter()
        writer.reference("obj", ManagedObjectReference(type: "Network", value: "HaNetwork-VM <Network>"))
        XCTAssertEqual(writer.text, #"<obj type="Network">HaNetwork-VM &lt;Network&gt;</obj>"#)
    }
}

/// SplitMix64: a small seeded generator for the mutation test.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
