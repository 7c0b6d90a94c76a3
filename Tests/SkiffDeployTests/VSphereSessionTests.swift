import Foundation
import Glibc
import XCTest
@testable import SkiffDeploy

/// VSphereSession against a scripted SOAP server on 127.0.0.1 (plain HTTP): morefs from
/// ServiceContent, the cookie, SOAPAction, faults, continuation tokens, task polling.
final class VSphereSessionTests: XCTestCase {
    /// A ScriptedHTTPServer answering each request with `reply(SOAP method, body)`: status,
    /// extra header lines, body; status 0 closes the connection without an answer.
    static func soapServer(_ reply: @escaping @Sendable (String, String) -> (status: Int, headers: [String], body: String)) throws -> ScriptedHTTPServer {
        try ScriptedHTTPServer { request in
            let answer = reply(request.soapMethod, request.text)
            guard answer.status != 0 else { return nil }
            return .init(status: answer.status, headers: ["Content-Type: text/xml; charset=utf-8"] + answer.headers, body: answer.body)
        }
    }

    static func envelope(_ body: String) -> String {
        #"<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>"#
            + body + "</soapenv:Body></soapenv:Envelope>"
    }

    static let serviceContent = envelope("""
        <RetrieveServiceContentResponse xmlns="urn:vim25"><returnval><rootFolder type="Folder">ha-folder-root</rootFolder><propertyCollector type="PropertyCollector">ha-property-collector</propertyCollector><viewManager type="ViewManager">ViewManager</viewManager><about><name>VMware ESXi</name><version>7.0.3</version><apiType>HostAgent</apiType><apiVersion>7.0.3.0</apiVersion></about><sessionManager type="SessionManager">ha-sessionmgr</sessionManager><searchIndex type="SearchIndex">ha-searchindex</searchIndex></returnval></RetrieveServiceContentResponse>
        """)

    static func fault(_ type: String, _ text: String) -> (status: Int, headers: [String], body: String) {
        (500, [], envelope("<soapenv:Fault><faultcode>ServerFaultCode</faultcode><faultstring>\(text)</faultstring><detail><\(type)Fault xmlns=\"urn:vim25\" xsi:type=\"\(type)\"></\(type)Fault></detail></soapenv:Fault>"))
    }

    func session(_ server: ScriptedHTTPServer) throws -> VSphereSession {
        try VSphereSession(endpoint: server.endpoint, verification: .system, timeout: 10)
    }

    func testLoginUsesServiceContentMorefsAndTheCookie() throws {
        let server = try Self.soapServer { method, body in
            switch method {
            case "RetrieveServiceContent": return (200, [], Self.serviceContent)
            case "Login":
                guard body.contains("<password>a&lt;b&amp;c</password>") else { return Self.fault("InvalidLogin", "Login failure") }
                return (200, ["Set-Cookie: vmware_soap_session=\"cookie-1\"; Path=/; HttpOnly"],
                        Self.envelope(#"<LoginResponse xmlns="urn:vim25"><returnval><key>k</key><userName>root</userName></returnval></LoginResponse>"#))
            case "Logout": return (200, [], Self.envelope(#"<LogoutResponse xmlns="urn:vim25"></LogoutResponse>"#))
            default: return Self.fault("NotAuthenticated", "")
            }
        }
        defer { server.stop() }
        let session = try session(server)
        XCTAssertEqual(session.content.summary, "VMware ESXi 7.0.3, API 7.0.3.0")
        try session.login(userName: "root", password: "a<b&c")
        XCTAssertEqual(session.userName, "root")
        session.logout()
        let requests = server.requests
        XCTAssertEqual(requests.map(\.soapMethod), ["RetrieveServiceContent", "Login", "Logout"])
        XCTAssertTrue(requests[1].text.contains(#"<_this type="SessionManager">ha-sessionmgr</_this>"#), "the moref from ServiceContent")
        XCTAssertEqual(requests[1].headers["soapaction"], "\"urn:vim25/7.0.3.0\"", "the API version the server reported")
        XCTAssertNil(requests[1].headers["cookie"])
        XCTAssertEqual(requests[2].headers["cookie"], "vmware_soap_session=\"cookie-1\"")
        XCTAssertEqual(requests[0].headers["content-type"], "text/xml; charset=utf-8")
    }

    func testFaultsAreOneLine() throws {
        let server = try Self.soapServer { method, _ in
            switch method {
            case "RetrieveServiceContent": return (200, [], Self.serviceContent)
            case "Login": return Self.fault("InvalidLogin", "Login failure")
            default: return Self.fault("NotAuthenticated", "")
            }
        }
        defer { server.stop() }
        let session = try session(server)
        XCTAssertThrowsError(try session.login(userName: "root", password: "pw")) { error in
            XCTAssertEqual((error as? DeployError)?.message, "vSphere: InvalidLogin: Login failure")
        }
        XCTAssertThrowsError(try session.find(inventoryPath: "ha-datacenter")) { error in
            XCTAssertEqual((error as? DeployError)?.message, "vSphere: NotAuthenticated")
        }
    }

    func testNonSOAPRepliesNameTheStatus() throws {
        let server = try Self.soapServer { method, _ in
            method == "RetrieveServiceContent" ? (200, [], Self.serviceContent) : (503, [], "<html>busy</html>")
        }
        defer { server.stop() }
        let session = try session(server)
        XCTAssertThrowsError(try session.find(inventoryPath: "x")) { error in
            let message = (error as? DeployError)?.message ?? ""
            XCTAssertTrue(message.hasPrefix("vSphere: FindByInventoryPath: HTTP 503"), message)
        }
    }

    func testOnlyRepeatableMethodsAreSentAgainAfterAConnectionDiesUnanswered() throws {
        final class Dropped: @unchecked Sendable { var methods: Set<String> = []; let lock = NSLock() }
        let dropped = Dropped()
        let server = try Self.soapServer { method, _ in
            if method == "RetrieveServiceContent" { return (200, [], Self.serviceContent) }
            dropped.lock.lock()
            defer { dropped.lock.unlock() }
            // The first request of each other method goes unanswered.
            if dropped.methods.insert(method).inserted { return (0, [], "") }
            switch method {
            case "FindByInventoryPath":
                return (200, [], Self.envelope(#"<FindByInventoryPathResponse xmlns="urn:vim25"><returnval type="Datacenter">ha-datacenter</returnval></FindByInventoryPathResponse>"#))
            case "PowerOnVM_Task":
                return (200, [], Self.envelope(#"<PowerOnVM_TaskResponse xmlns="urn:vim25"><returnval type="Task">task-1</returnval></PowerOnVM_TaskResponse>"#))
            default: return Self.fault("NotImplemented", method)
            }
        }
        defer { server.stop() }
        let session = try session(server)
        // A read is sent again on a new connection and answered.
        XCTAssertEqual(try session.find(inventoryPath: "ha-datacenter"), ManagedObjectReference(type: "Datacenter", value: "ha-datacenter"))
        // A task may have started before the connection died: an error, not a second power-on.
        XCTAssertThrowsError(try session.startTask("PowerOnVM_Task", #"<PowerOnVM_Task xmlns="urn:vim25"><_this type="VirtualMachine">vm-1</_this></PowerOnVM_Task>"#)) { error in
            let message = (error as? DeployError)?.message ?? ""
            XCTAssertTrue(message.contains("not sent again"), message)
        }
        XCTAssertEqual(server.requests.map(\.soapMethod), ["RetrieveServiceContent", "FindByInventoryPath", "FindByInventoryPath", "PowerOnVM_Task"])
    }

    func testRetrievePropertiesFollowsTheToken() throws {
        let server = try Self.soapServer { method, body in
            switch method {
            case "RetrieveServiceContent": return (200, [], Self.serviceContent)
            case "CreateContainerView": return (200, [], Self.envelope(#"<CreateContainerViewResponse xmlns="urn:vim25"><returnval type="ContainerView">session[1]view</returnval></CreateContainerViewResponse>"#))
            case "RetrievePropertiesEx":
                return (200, [], Self.envelope(#"<RetrievePropertiesExResponse xmlns="urn:vim25"><returnval><token>t1</token><objects><obj type="Datacenter">ha-datacenter</obj><propSet><name>name</name><val xsi:type="xsd:string">ha-datacenter</val></propSet><propSet><name>parent</name><val type="Folder" xsi:type="ManagedObjectReference">ha-folder-root</val></propSet></objects></returnval></RetrievePropertiesExResponse>"#))
            case "ContinueRetrievePropertiesEx":
                guard body.contains("<token>t1</token>") else { return Self.fault("InvalidArgument", "token") }
                return (200, [], Self.envelope(#"<ContinueRetrievePropertiesExResponse xmlns="urn:vim25"><returnval><objects><obj type="Datastore">ds 1@x</obj><propSet><name>name</name><val xsi:type="xsd:string">datastore1</val></propSet></objects></returnval></ContinueRetrievePropertiesExResponse>"#))
            case "DestroyView": return (200, [], Self.envelope(#"<DestroyViewResponse xmlns="urn:vim25"></DestroyViewResponse>"#))
            default: return Self.fault("NotImplemented", method)
            }
        }
        defer { server.stop() }
        let session = try session(server)
        let objects = try session.properties(ofAll: "ManagedEntity", in: session.content.rootFolder, ["name", "parent"])
        XCTAssertEqual(objects.map(\.object.value), ["ha-datacenter", "ds 1@x"])
        XCTAssertEqual(objects[0].reference("parent"), ManagedObjectReference(type: "Folder", value: "ha-folder-root"))
        XCTAssertEqual(objects[1].text("name"), "datastore1")
        XCTAssertEqual(server.requests.map(\.soapMethod), ["RetrieveServiceContent", "CreateContainerView", "RetrievePropertiesEx", "ContinueRetrievePropertiesEx", "DestroyView"])
        XCTAssertTrue(server.requests[2].text.contains(#"<obj type="ContainerView">session[1]view</obj>"#))
    }

    func testTasksArePolledUntilTheyEnd() throws {
        final class Counter: @unchecked Sendable { var polls = 0; let lock = NSLock() }
        let counter = Counter()
        let server = try Self.soapServer { method, body in
            switch method {
            case "RetrieveServiceContent": return (200, [], Self.serviceContent)
            case "PowerOnVM_Task": return (200, [], Self.envelope(#"<PowerOnVM_TaskResponse xmlns="urn:vim25"><returnval type="Task">task-1</returnval></PowerOnVM_TaskResponse>"#))
            case "Destroy_Task": return (200, [], Self.envelope(#"<Destroy_TaskResponse xmlns="urn:vim25"><returnval type="Task">task-2</returnval></Destroy_TaskResponse>"#))
            case "RetrievePropertiesEx":
                counter.lock.lock()
                counter.polls += 1
                let polls = counter.polls
                counter.lock.unlock()
                let task = body.contains(">task-1<") ? "task-1" : "task-2"
                let state: String
                if task == "task-1" {
                    state = polls < 3 ? "<propSet><name>info.state</name><val xsi:type=\"TaskInfoState\">running</val></propSet>"
                        : "<propSet><name>info.state</name><val xsi:type=\"TaskInfoState\">success</val></propSet>"
                } else {
                    state = "<propSet><name>info.error</name><val xsi:type=\"LocalizedMethodFault\"><fault xsi:type=\"InvalidPowerState\"><requestedState>poweredOff</requestedState><existingState>poweredOn</existingState></fault><localizedMessage>The attempted operation cannot be performed in the current state (Powered on).</localizedMessage></val></propSet><propSet><name>info.state</name><val xsi:type=\"TaskInfoState\">error</val></propSet>"
                }
                return (200, [], Self.envelope("<RetrievePropertiesExResponse xmlns=\"urn:vim25\"><returnval><objects><obj type=\"Task\">\(task)</obj>\(state)</objects></returnval></RetrievePropertiesExResponse>"))
            default: return Self.fault("NotImplemented", method)
            }
        }
        defer { server.stop() }
        let session = try session(server)
        let vm = ManagedObjectReference(type: "VirtualMachine", value: "1")
        try session.runTask("PowerOnVM_Task", SOAP.call("PowerOnVM_Task", this: vm))
        XCTAssertEqual(counter.polls, 3, "polled while running")
        XCTAssertThrowsError(try session.runTask("Destroy_Task", SOAP.call("Destroy_Task", this: vm))) { error in
            XCTAssertEqual((error as? DeployError)?.message,
                           "vSphere: Destroy_Task: InvalidPowerState: The attempted operation cannot be performed in the current state (Powered on). (requestedState: poweredOff, existingState: poweredOn)")
        }
    }
}
