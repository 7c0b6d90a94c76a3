import Foundation
import Glibc
import XCTest
@testable import SkiffDeploy

/// The pieces that undo or keep alive a half-done deploy: the NFC upload on a connection of its
/// own while lease progress goes on the session's, the HttpNfcLeaseAbort body, a POST not sent
/// twice, a progress callback that stops an upload or re-enters its client, the datastore
/// folder listing and what of it a failed run deletes. Servers: plain HTTP on 127.0.0.1, one
/// thread per connection.
final class VSphereRollbackTests: XCTestCase {
    typealias Request = ScriptedHTTPServer.Request

    /// A ScriptedHTTPServer answering each request with `reply(request)`: status and body (nil
    /// closes the connection without an answer); bodies to /nfc/ are read slowly.
    static func server(_ reply: @escaping @Sendable (Request) -> (status: Int, body: String)?) throws -> ScriptedHTTPServer {
        try ScriptedHTTPServer(slowBody: { $0.hasPrefix("/nfc/") }) { request in
            reply(request).map { .init(status: $0.status, headers: ["Content-Type: text/xml; charset=utf-8"], body: $0.body) }
        }
    }

    static func envelope(_ body: String) -> String {
        #"<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>"#
            + body + "</soapenv:Body></soapenv:Envelope>"
    }

    /// A SOAP server: ServiceContent, empty answers to everything else; /nfc/ bodies get 200.
    static func soapReply(_ request: Request) -> (status: Int, body: String)? {
        if request.target.hasPrefix("/nfc/") { return (200, "") }
        if request.soapMethod == "RetrieveServiceContent" {
            return (200, envelope(#"<RetrieveServiceContentResponse xmlns="urn:vim25"><returnval><rootFolder type="Folder">ha-folder-root</rootFolder><propertyCollector type="PropertyCollector">ha-property-collector</propertyCollector><about><name>VMware ESXi</name><version>7.0.3</version><apiType>HostAgent</apiType><apiVersion>7.0.3.0</apiVersion></about></returnval></RetrieveServiceContentResponse>"#))
        }
        return (200, envelope("<\(request.soapMethod)Response xmlns=\"urn:vim25\"></\(request.soapMethod)Response>"))
    }

    func session(_ server: ScriptedHTTPServer) throws -> VSphereSession {
        try VSphereSession(endpoint: server.endpoint, verification: .system, timeout: 10)
    }

    func temporaryFile(_ bytes: [UInt8]) -> String {
        let path = NSTemporaryDirectory() + "skiff-rollback-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
        addTeardownBlock { unlink(path) }
        return path
    }

    // MARK: - NFC upload and lease progress (review findings 1 and 10)

    func testLeaseProgressGoesOnTheSessionsConnectionWhileTheNFCBodyArrivesWhole() throws {
        let server = try Self.server { Self.soapReply($0) }
        defer { server.stop() }
        let session = try session(server)
        var bytes = [UInt8](repeating: 0, count: 24 << 20)
        var state: UInt32 = 0x2545_F491
        for index in bytes.indices {
            state ^= state << 13; state ^= state >> 17; state ^= state << 5
            bytes[index] = UInt8(truncatingIfNeeded: state)
        }
        let path = temporaryFile(bytes)
        let lease = ManagedObjectReference(type: "HttpNfcLease", value: "52-lease")
        // interval 0: a report at every progress callback, i.e. while the body is under way.
        let progress = NFCLeaseProgress(session: session, lease: lease, total: UInt64(bytes.count), interval: 0)
        var callbacks = 0
        try session.nfcUpload(path, to: NFCLeaseInfo.DeviceURL(importKey: "/vm/key", url: "http://*/nfc/52-lease/disk-0.vmdk", sslThumbprint: ""),
                              create: false) { sent, _ in
            callbacks += 1
            progress.report(done: sent)
        }
        XCTAssertNil(progress.lastError, "\(String(describing: progress.lastError))")
        let uploads = server.requests.filter { $0.target.hasPrefix("/nfc/") }
        XCTAssertEqual(uploads.count, 1)
        XCTAssertEqual(uploads.first?.method, "POST")
        XCTAssertTrue(uploads.first?.body == bytes, "the NFC body did not arrive byte for byte")
        let reports = server.requests.filter { $0.soapMethod == "HttpNfcLeaseProgress" }
        XCTAssertGreaterThanOrEqual(callbacks, 3, "the upload was too quick to call back mid-body")
        XCTAssertEqual(reports.count, progress.reports)
        XCTAssertGreaterThanOrEqual(reports.count, 2)
        // Progress on the session's connection, the body on its own.
        let uploadConnection = uploads.first?.connection
        XCTAssertFalse(reports.contains { $0.connection == uploadConnection })
        XCTAssertTrue(reports.allSatisfy { String(decoding: $0.body, as: UTF8.self).contains("<_this type=\"HttpNfcLease\">52-lease</_this>") })
    }

    func testLeaseProgressIsReportedOnATimer() throws {
        let server = try Self.server { Self.soapReply($0) }
        defer { server.stop() }
        let session = try session(server)
        final class Clock: @unchecked Sendable { var now = 100.0 }
        let clock = Clock()
        let progress = NFCLeaseProgress(session: session, lease: ManagedObjectReference(type: "HttpNfcLease", value: "l"), total: 1000,
                                        interval: 30, clock: { clock.now })
        progress.report(done: 100)
        clock.now = 129
        progress.report(done: 200)
        XCTAssertEqual(progress.reports, 0)
        clock.now = 130
        progress.report(done: 250)
        XCTAssertEqual(progress.reports, 1)
        clock.now = 140
        progress.report(done: 300)
        progress.reportNow(done: 1000)
        XCTAssertEqual(progress.reports, 2)
        let percents = server.requests.filter { $0.soapMethod == "HttpNfcLeaseProgress" }.map { String(decoding: $0.body, as: UTF8.self) }
        XCTAssertEqual(percents.count, 2)
        XCTAssertTrue(percents.first?.contains("<percent>25</percent>") ?? false, "\(percents)")
        XCTAssertTrue(percents.last?.contains("<percent>100</percent>") ?? false, "\(percents)")
    }

    // MARK: - HttpNfcLeaseAbort (finding 2)

    func testLeaseAbortSendsALocalizedMethodFault() throws {
        let body = VSphereSession.leaseAbortBody(ManagedObjectReference(type: "HttpNfcLease", value: "52-x"), reason: "skiff: <upload> failed")
        let root = try XML.parse(SOAP.envelope(body))
        let call = root.descendant("Body", "HttpNfcLeaseAbort")
        XCTAssertEqual(call?.child("_this")?.text, "52-x")
        let fault = call?.child("fault")
        // LocalizedMethodFault: fault (a MethodFault) and localizedMessage, nothing else.
        XCTAssertEqual(fault?.children.map(\.name), ["fault", "localizedMessage"])
        XCTAssertNil(fault?.schemaType)
        XCTAssertEqual(fault?.child("fault")?.schemaType, "SystemError")
        XCTAssertEqual(fault?.child("fault")?.child("reason")?.text, "skiff: <upload> failed")
        XCTAssertEqual(fault?.child("localizedMessage")?.text, "skiff: <upload> failed")
    }

    // MARK: - The client (finding 14, and what the rollbacks rely on)

    /// A server that answers the first request on a connection, then reads the second whole and
    /// closes without an answer; on a later connection it answers everything.
    func closingServer() throws -> ScriptedHTTPServer {
        try Self.server { request in
            if request.connection == 1 && request.target != "/first" { return nil }
            return (200, "ok " + request.target)
        }
    }

    func testAPOSTWrittenWholeIsNotSentAgainWhenTheConnectionDiesBeforeTheAnswer() throws {
        let server = try closingServer()
        defer { server.stop() }
        let client = HTTPClient(endpoint: try HTTPEndpoint(url: "http://127.0.0.1:\(server.port)"), timeout: 5)
        XCTAssertEqual(try client.send(HTTPRequest(method: "GET", target: "/first")).status, 200)
        do {
            _ = try client.send(HTTPRequest(method: "POST", target: "/create", body: .bytes(Array("<CreateVM_Task/>".utf8))))
            XCTFail("a POST was sent again")
        } catch {
            XCTAssertTrue(error.message.contains("not sent again, as the server may have carried it out"), error.message)
        }
        XCTAssertEqual(server.requests.filter { $0.target == "/create" }.count, 1)
        // The client goes on, on a new connection.
        XCTAssertEqual(try client.send(HTTPRequest(method: "GET", target: "/after")).body, Array("ok /after".utf8))
    }

    func testIdempotentRequestsAndOptedInPOSTsAreSentAgain() throws {
        for (method, optIn) in [("PUT", nil), ("GET", nil), ("POST", true)] as [(String, Bool?)] {
            let server = try closingServer()
            defer { server.stop() }
            let client = HTTPClient(endpoint: try HTTPEndpoint(url: "http://127.0.0.1:\(server.port)"), timeout: 5)
            XCTAssertEqual(try client.send(HTTPRequest(method: "GET", target: "/first")).status, 200)
            let body: HTTPBody = method == "GET" ? .none : .bytes(Array("x".utf8))
            let response = try client.send(HTTPRequest(method: method, target: "/again", body: body), resendAfterWritten: optIn)
            XCTAssertEqual(response.body, Array("ok /again".utf8), method)
            XCTAssertEqual(server.requests.filter { $0.target == "/again" }.count, 2, method)
        }
    }

    func testAProgressCallbackThatThrowsStopsTheUpload() throws {
        let server = try Self.server { Self.soapReply($0) }
        defer { server.stop() }
        let path = temporaryFile([UInt8](repeating: 7, count: 32 << 20))
        let client = HTTPClient(endpoint: try HTTPEndpoint(url: "http://127.0.0.1:\(server.port)"), timeout: 5)
        var calls = 0
        do {
            _ = try client.send(HTTPRequest(method: "PUT", target: "/nfc/x/disk", body: .file(path: path))) { sent, total throws(DeployError) in
                calls += 1
                if sent < total { throw DeployError.failure("skiff got SIGTERM") }
            }
            XCTFail("the upload went on")
        } catch {
            XCTAssertEqual(error.message, "skiff got SIGTERM")
        }
        XCTAssertEqual(calls, 1)
        // Not sent again, and the connection is gone: the next request opens a new one.
        usleep(100_000)
        XCTAssertTrue(server.requests.isEmpty, "\(server.requests.map(\.target))")
        XCTAssertEqual(try client.send(HTTPRequest(method: "GET", target: "/next")).status, 200)
        XCTAssertEqual(client.connectionsOpened, 2)
    }

    func testAClientReenteredFromItsProgressCallbackRefuses() throws {
        let server = try Self.server { Self.soapReply($0) }
        defer { server.stop() }
        let path = temporaryFile([UInt8](repeating: 1, count: 1 << 20))
        let client = HTTPClient(endpoint: try HTTPEndpoint(url: "http://127.0.0.1:\(server.port)"), timeout: 5)
        var nested: DeployError?
        let response = try client.send(HTTPRequest(method: "PUT", target: "/nfc/x/disk", body: .file(path: path))) { _, _ in
            do throws(DeployError) {
                _ = try client.send(HTTPRequest(method: "GET", target: "/inside"))
            } catch {
                nested = error
            }
        }
        XCTAssertEqual(response.status, 200)
        XCTAssertTrue(nested?.message.contains("sent while another request is under way on the same connection") ?? false, "\(String(describing: nested))")
        XCTAssertEqual(server.requests.map(\.target), ["/nfc/x/disk"])
        XCTAssertEqual(server.requests.first?.body.count, 1 << 20)
    }

    // MARK: - Datastore folders (findings 4, 5, 7)

    func testLeftoversOfAFailedRun() {
        // A folder this run made: all of it, unless it keeps the image there.
        XCTAssertEqual(DatastoreLeftovers.decide(before: nil, now: ["vm.vmx", "vmware.log"]), .folder)
        XCTAssertEqual(DatastoreLeftovers.decide(before: nil, now: nil), .nothing)
        XCTAssertEqual(DatastoreLeftovers.decide(before: nil, now: ["hello.iso", "vm.vmx"], keep: ["hello.iso"]), .entries(["vm.vmx"]))
        // A folder that was there: only what is new.
        XCTAssertEqual(DatastoreLeftovers.decide(before: ["hello.iso", "notes.txt"], now: ["vm.nvram", "hello.iso", "notes.txt", "vm.vmx"]),
                       .entries(["vm.nvram", "vm.vmx"]))
        XCTAssertEqual(DatastoreLeftovers.decide(before: ["hello.iso"], now: ["hello.iso"]), .nothing)
        XCTAssertEqual(DatastoreLeftovers.decide(before: [], now: []), .nothing)
    }

    func testFolderListingThroughTheDatastoreBrowser() throws {
        final class Polls: @unchecked Sendable { var count = 0 }
        let polls = Polls()
        let server = try Self.server { request in
            switch request.soapMethod {
            case "RetrievePropertiesEx":
                let text = String(decoding: request.body, as: UTF8.self)
                if text.contains("<pathSet>browser</pathSet>") {
                    return (200, Self.envelope(#"<RetrievePropertiesExResponse xmlns="urn:vim25"><returnval><objects><obj type="Datastore">ds-1</obj><propSet><name>browser</name><val type="HostDatastoreBrowser">browser-1</val></propSet></objects></returnval></RetrievePropertiesExResponse>"#))
                }
                polls.count += 1
                let task = text.contains(">task-missing<") ? "task-missing" : "task-1"
                let info = task == "task-missing"
                    ? #"<propSet><name>info.state</name><val xsi:type="TaskInfoState">error</val></propSet><propSet><name>info.error</name><val xsi:type="LocalizedMethodFault"><fault xsi:type="FileNotFound"><file>vm</file></fault><localizedMessage>File vm was not found</localizedMessage></val></propSet>"#
                    : #"<propSet><name>info.state</name><val xsi:type="TaskInfoState">success</val></propSet><propSet><name>info.result</name><val xsi:type="HostDatastoreBrowserSearchResults"><datastore type="Datastore">ds-1</datastore><folderPath>[ds1] vm</folderPath><file xsi:type="FolderFileInfo"><path>sub</path></file><file xsi:type="VmConfigFileInfo"><path>vm.vmx</path></file></val></propSet>"#
                return (200, Self.envelope(#"<RetrievePropertiesExResponse xmlns="urn:vim25"><returnval><objects><obj type="Task">"# + task + "</obj>" + info + "</objects></returnval></RetrievePropertiesExResponse>"))
            case "SearchDatastore_Task":
                let text = String(decoding: request.body, as: UTF8.self)
                let task = text.contains("<datastorePath>[ds1] missing</datastorePath>") ? "task-missing" : "task-1"
                return (200, Self.envelope(#"<SearchDatastore_TaskResponse xmlns="urn:vim25"><returnval type="Task">"# + task + "</returnval></SearchDatastore_TaskResponse>"))
            default:
                return Self.soapReply(request)
            }
        }
        defer { server.stop() }
        let session = try session(server)
        let datastore = ManagedObjectReference(type: "Datastore", value: "ds-1")
        let entries = try session.datastoreFolderEntries(DatastoreFile(datacenterPath: "DC0", datastore: "ds1", path: "vm"), datastore: datastore)
        XCTAssertEqual(entries, ["sub", "vm.vmx"])
        XCTAssertNil(try session.datastoreFolderEntries(DatastoreFile(datacenterPath: "DC0", datastore: "ds1", path: "missing"), datastore: datastore))
        let search = server.requests.first { $0.soapMethod == "SearchDatastore_Task" }.map { String(decoding: $0.body, as: UTF8.self) } ?? ""
        XCTAssertTrue(search.contains(#"<_this type="HostDatastoreBrowser">browser-1</_this><datastorePath>[ds1] vm</datastorePath><searchSpec><query xsi:type="FolderFileQuery"></query><query xsi:type="FileQuery"></query><matchPattern>*</matchPattern></searchSpec>"#)
                      || search.contains(#"<_this type="HostDatastoreBrowser">browser-1</_this><datastorePath>[ds1] vm</datastorePath><searchSpec><query xsi:type="FolderFileQuery"/><query xsi:type="FileQuery"/><matchPattern>*</matchPattern></searchSpec>"#),
                      search)
        XCTAssertEqual(polls.count, 2)
    }
}
