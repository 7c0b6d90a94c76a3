import XCTest
@testable import SkiffDeploy

final class HTTPEndpointTests: XCTestCase {
    func testURLFormsAndDefaultPorts() throws {
        XCTAssertEqual(try HTTPEndpoint(url: "https://vc.example/sdk"), HTTPEndpoint(scheme: "https", host: "vc.example", port: 443, basePath: "/sdk"))
        XCTAssertEqual(try HTTPEndpoint(url: "http://198.18.7.1:8989/sdk?x=1#f"), HTTPEndpoint(scheme: "http", host: "198.18.7.1", port: 8989, basePath: "/sdk"))
        XCTAssertEqual(try HTTPEndpoint(url: "HTTPS://[2001:db8::1]:8443/"), HTTPEndpoint(scheme: "https", host: "2001:db8::1", port: 8443, basePath: ""))
        XCTAssertEqual(try HTTPEndpoint(url: "https://[::1]"), HTTPEndpoint(scheme: "https", host: "::1", port: 443, basePath: ""))
        XCTAssertEqual(try HTTPEndpoint(url: "https://esx"), HTTPEndpoint(scheme: "https", host: "esx", port: 443, basePath: ""))
    }

    func testUserInformationIsSkippedAndNeverInErrors() throws {
        let endpoint = try HTTPEndpoint(url: "https://administrator@vsphere.local:p%40ss:w@rd@vc.example:444/sdk")
        XCTAssertEqual(endpoint.host, "vc.example")
        XCTAssertEqual(endpoint.port, 444)
        for bad in ["https://user:s3cret@vc.example:0/sdk", "https://user:s3cret@vc.example:99999", "https://user:s3cret@/sdk",
                    "https://user:s3cret@[::1/sdk", "https://user:s3cret@vc example/sdk", "ftp://user:s3cret@vc.example",
                    "https://user:s3cret@vc.example/a b"] {
            XCTAssertThrowsError(try HTTPEndpoint(url: bad), bad) { error in
                guard let error = error as? DeployError else { return XCTFail("\(error)") }
                XCTAssertEqual(error.kind, .usage)
                XCTAssertFalse(error.message.contains("s3cret"), error.message)
                XCTAssertFalse(error.message.contains("user"), error.message)
            }
        }
    }

    func testHostHeaderAndNames() throws {
        XCTAssertEqual(try HTTPEndpoint(url: "https://vc.example/sdk").hostHeader, "vc.example")
        XCTAssertEqual(try HTTPEndpoint(url: "https://vc.example:8443/sdk").hostHeader, "vc.example:8443")
        XCTAssertEqual(try HTTPEndpoint(url: "https://[2001:db8::1]/sdk").hostHeader, "[2001:db8::1]")
        XCTAssertEqual(try HTTPEndpoint(url: "https://[2001:db8::1]/sdk").hostAndPort, "[2001:db8::1]:443")
        XCTAssertEqual(try HTTPEndpoint(url: "http://vc.example/sdk").hostAndPort, "vc.example:80")
    }

    func testRequestHeadHasDefaultsUnlessGiven() throws {
        let endpoint = try HTTPEndpoint(url: "https://vc.example:8443/sdk")
        let head = HTTPClient.head(of: HTTPRequest(method: "POST", target: "/sdk", headers: [("SOAPAction", "urn:vim25/8.0")]), endpoint: endpoint, contentLength: 12)
        XCTAssertEqual(String(decoding: head, as: UTF8.self), "POST /sdk HTTP/1.1\r\nHost: vc.example:8443\r\nUser-Agent: skiff\r\nConnection: keep-alive\r\nContent-Length: 12\r\nSOAPAction: urn:vim25/8.0\r\n\r\n")
        let custom = HTTPClient.head(of: HTTPRequest(method: "GET", target: "/", headers: [("user-agent", "other"), ("Connection", "close")]), endpoint: endpoint, contentLength: nil)
        XCTAssertEqual(String(decoding: custom, as: UTF8.self), "GET / HTTP/1.1\r\nHost: vc.example:8443\r\nuser-agent: other\r\nConnection: close\r\n\r\n")
    }

    func testThumbprintsSHA1AndSHA256WithOrWithoutColonsAnyCase() throws {
        let sha1 = "3A:4b:5C:6D:7E:8F:90:01:12:23:34:45:56:67:78:89:9A:AB:BC:CD"
        let parsed = try CertificateThumbprint(sha1)
        XCTAssertEqual(parsed.algorithm, .sha1)
        XCTAssertEqual(parsed.bytes.count, 20)
        XCTAssertEqual(parsed.bytes.first, 0x3A)
        XCTAssertEqual(parsed.description, sha1.uppercased())
        XCTAssertEqual(try CertificateThumbprint(sha1.replacingOccurrences(of: ":", with: "").lowercased()), parsed)
        XCTAssertEqual(try CertificateThumbprint("  " + sha1 + "\n"), parsed)
        let sha256 = String(repeating: "ab", count: 32)
        let wide = try CertificateThumbprint(sha256)
        XCTAssertEqual(wide.algorithm, .sha256)
        XCTAssertEqual(wide.bytes, Array(repeating: 0xAB, count: 32))
        XCTAssertEqual(try CertificateThumbprint(wide.description), wide)
    }

    func testMalformedThumbprintsAreUsageErrors() {
        let sha1 = "3A:4B:5C:6D:7E:8F:90:01:12:23:34:45:56:67:78:89:9A:AB:BC:CD"
        for bad in ["", "garbage", String(sha1.dropLast(3)), sha1 + ":", ":" + sha1, sha1.replacingOccurrences(of: "3A:4B", with: "3A4B"),
                    sha1.replacingOccurrences(of: "3A:", with: "3A::"), sha1.replacingOccurrences(of: "CD", with: "CG"),
                    String(repeating: "a", count: 41), String(repeating: "a", count: 63), sha1 + sha1] {
            XCTAssertThrowsError(try CertificateThumbprint(bad), bad) { error in
                XCTAssertEqual((error as? DeployError)?.kind, .usage)
                XCTAssertTrue((error as? DeployError)?.message.hasPrefix("--thumbprint ") ?? false, "\(error)")
            }
        }
    }

    func testABadPinFailsBeforeConnecting() throws {
        // Port 9 on 127.0.0.1 has no listener here, but the pin is checked first: a usage error.
        let client = HTTPClient(endpoint: try HTTPEndpoint(url: "https://127.0.0.1:9/sdk"), verification: .thumbprint("nope"), timeout: 2)
        XCTAssertThrowsError(try client.send(HTTPRequest(method: "GET", target: "/"))) { error in
            XCTAssertEqual((error as? DeployError)?.kind, .usage)
        }
    }
}
