import Glibc

// The connection settings of `skiff push|run|stop|rm vcenter`, from flags and the environment
// variables govc and LinuxKit users already have: flags beat the environment. The password comes
// only from --password-file, the URL's user information, GOVC_PASSWORD or VCPASSWORD, never from a
// flag's value (process arguments are visible to every user of the machine), and never appears in
// anything Skiff prints.

/// The flags as given (nil: not given), and the environment.
public struct VCenterRequest: Sendable {
    public var url: String? = nil
    public var username: String? = nil
    public var passwordFile: String? = nil
    public var insecure = false
    public var thumbprint: String? = nil
    public var caFile: String? = nil
    public var datacenter: String? = nil
    public var datastore: String? = nil
    public var host: String? = nil
    public var pool: String? = nil
    public var vmFolder: String? = nil
    public var networks: [String] = []
    public var environment: [String: String] = [:]

    public init() {}

    /// The process's environment.
    public static func processEnvironment() -> [String: String] {
        var result: [String: String] = [:]
        var pointer = environ
        while let entry = pointer.pointee {
            let text = String(cString: entry)
            if let equals = text.firstIndex(of: "=") {
                result[String(text[..<equals])] = String(text[text.index(after: equals)...])
            }
            pointer += 1
        }
        return result
    }

    func env(_ names: String...) -> String? {
        for name in names {
            if let value = environment[name], !value.isEmpty { return value }
        }
        return nil
    }

    /// Checks and resolves everything; reads the password file. Nothing is contacted.
    public func resolved() throws(DeployError) -> VCenterSettings {
        let urlFromFlag = url != nil
        guard let given = url ?? env("GOVC_URL", "VCURL") else {
            throw .usage("--url: no vCenter or ESXi URL (give --url https://HOST/sdk, or set GOVC_URL or VCURL)")
        }
        let source = urlFromFlag ? "--url" : (env("GOVC_URL") != nil ? "GOVC_URL" : "VCURL")
        let parsed = try VCenterURL(given, source: source)

        // Flags first, then the URL given as a flag, then the environment, then a URL from it.
        var user: String? = username
        if user == nil, urlFromFlag { user = parsed.user }
        if user == nil { user = env("GOVC_USERNAME") }
        if user == nil { user = parsed.user }
        guard let user, !user.isEmpty else {
            throw .usage("--username: no user name (give --username, set GOVC_USERNAME, or put user:password@ in \(source))")
        }

        var password: String? = nil
        if let passwordFile {
            password = try Self.readPasswordFile(passwordFile)
        }
        if password == nil, urlFromFlag { password = parsed.password }
        if password == nil { password = env("GOVC_PASSWORD", "VCPASSWORD") }
        if password == nil { password = parsed.password }
        guard let password else {
            throw .usage("no password for \(user) (set GOVC_PASSWORD or VCPASSWORD, give --password-file FILE, or put user:password@ in \(source))")
        }

        let insecureEnv = env("GOVC_INSECURE").map { ["1", "true", "yes"].contains($0.lowercased()) } ?? false
        let verification: TLSVerification
        if let thumbprint {
            if insecure { throw .usage("--insecure and --thumbprint exclude each other (the thumbprint pins the certificate)") }
            do {
                _ = try CertificateThumbprint(thumbprint)
            } catch {
                throw .usage("--thumbprint \(thumbprint): \(error.message)")
            }
            verification = .thumbprint(thumbprint)
        } else if insecure || (insecureEnv && caFile == nil) {
            verification = .insecure
        } else if let ca = caFile ?? env("GOVC_TLS_CA_CERTS") {
            // A list separated by ':' as govc reads it (filepath.SplitList); empty entries skipped.
            let files = ca.split(separator: ":", omittingEmptySubsequences: true).map(String.init)
            guard !files.isEmpty else {
                throw .usage("\(caFile != nil ? "--ca-file" : "GOVC_TLS_CA_CERTS") \"\(ca)\": no file named (PEM files separated by ':')")
            }
            verification = .caFiles(files)
        } else {
            verification = .system
        }

        var networkNames = networks
        if networkNames.isEmpty, let fromEnv = env("GOVC_NETWORK", "VCNETWORK") { networkNames = [fromEnv] }
        return VCenterSettings(
            endpoint: parsed.endpoint, displayURL: parsed.display, user: user, password: password, verification: verification,
            datacenter: datacenter ?? env("GOVC_DATACENTER", "VCDATACENTER"),
            datastore: datastore ?? env("GOVC_DATASTORE", "VCDATASTORE"),
            host: host ?? env("GOVC_HOST", "VCHOST"),
            pool: pool ?? env("GOVC_RESOURCE_POOL"),
            vmFolder: vmFolder ?? env("GOVC_FOLDER"),
            networks: networkNames)
    }

    /// The first line of the file, without its line end; at most 4 KiB.
    static func readPasswordFile(_ path: String) throws(DeployError) -> String {
        guard let text = HostFile.readText(path, limit: 4096) else {
            throw .usage("--password-file \(path): cannot read it (\(HostFile.errnoText(errno)))")
        }
        var line = Substring(text)
        if let newline = line.firstIndex(where: { $0 == "\n" || $0 == "\r\n" }) { line = line[..<newline] }
        if line.hasSuffix("\r") { line = line.dropLast() }
        guard !line.isEmpty else { throw .usage("--password-file \(path): the first line is empty") }
        return String(line)
    }
}

/// Where and how to connect, checked.
public struct VCenterSettings: Sendable {
    public var endpoint: HTTPEndpoint
    /// The URL without user information: the only form printed.
    public var displayURL: String
    public var user: String
    public var password: String
    public var verification: TLSVerification
    public var datacenter: String?
    public var datastore: String?
    public var host: String?
    public var pool: String?
    public var vmFolder: String?
    public var networks: [String]
}

/// A vCenter URL as LinuxKit and govc take it: `https://user:pass@host/sdk`, `host`, `host:port`,
/// `https://host` (then `/sdk`).
public struct VCenterURL: Sendable {
    public var endpoint: HTTPEndpoint
    public var user: String?
    public var password: String?
    public var display: String

    public init(_ text: String) throws(DeployError) {
        try self.init(text, source: "--url")
    }

    /// `source` names where the URL came from (`--url`, `GOVC_URL`, `VCURL`) in error messages,
    /// which show the URL without its user information.
    public init(_ text: String, source: String) throws(DeployError) {
        var bytes = Array(text.trimmingXMLSpace.utf8)
        if schemeSeparator(in: bytes) == nil { bytes = Array("https://".utf8) + bytes }
        let start = (schemeSeparator(in: bytes) ?? 5) + 3
        // User information: from "://" to the LAST "@". RFC 3986 §3.2 ends the authority at the
        // first "/", "?" or "#", but a password typed without percent-encoding may hold them (and
        // "@" and ":"): taking them as the path would put the password into the host, the port or
        // an error message. The user name ends at the first ":".
        var rest = bytes[start...]
        if let at = rest.lastIndex(of: UInt8(ascii: "@")) {
            let info = bytes[start..<at]
            if let colon = info.firstIndex(of: UInt8(ascii: ":")) {
                user = Self.percentDecode(String(decoding: info[..<colon], as: UTF8.self))
                password = Self.percentDecode(String(decoding: info[(colon + 1)...], as: UTF8.self))
            } else {
                user = Self.percentDecode(String(decoding: info, as: UTF8.self))
            }
            if user == "" { user = nil }
            rest = bytes[(at + 1)...]
        }
        // HTTPEndpoint sees the URL without the user information: nothing it says can hold it.
        let withoutUserInfo = String(decoding: bytes[0..<start] + rest, as: UTF8.self)
        var endpoint: HTTPEndpoint
        do {
            endpoint = try HTTPEndpoint(url: withoutUserInfo)
        } catch {
            throw .usage("\(source): \(error.message)")
        }
        if endpoint.basePath.isEmpty { endpoint.basePath = "/sdk" }
        self.endpoint = endpoint
        let defaultPort = endpoint.scheme == "https" ? 443 : 80
        display = "\(endpoint.scheme)://\(endpoint.hostForURL)\(endpoint.port == defaultPort ? "" : ":\(endpoint.port)")\(endpoint.basePath)"
    }

    /// %XX sequences decoded (invalid ones kept as they are).
    static func percentDecode(_ text: String) -> String {
        let bytes = Array(text.utf8)
        var out: [UInt8] = []
        var index = 0
        while index < bytes.count {
            if bytes[index] == 0x25, index + 2 < bytes.count, let high = hexValue(bytes[index + 1]), let low = hexValue(bytes[index + 2]) {
                out.append(high << 4 | low)
                index += 3
            } else {
                out.append(bytes[index])
                index += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// `--wait-ip` takes an optional number of seconds, which ArgumentParser cannot express: a bare
/// `--wait-ip` (not followed by a number) becomes `--wait-ip=300` before parsing.
public enum VCenterArguments {
    public static let defaultWaitSeconds = 300

    public static func normalize(_ arguments: [String]) -> [String] {
        guard arguments.count >= 2, arguments[0] == "run", arguments[1] == "vcenter" else { return arguments }
        var out: [String] = []
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            if argument == "--" {
                out += arguments[index...]
                break
            }
            if argument == "--wait-ip" {
                let next = index + 1 < arguments.count ? arguments[index + 1] : ""
                if !next.isEmpty, next.allSatisfy({ $0.isASCII && $0.isNumber }) {
                    out.append("--wait-ip=\(next)")
                    index += 2
                    continue
                }
                out.append("--wait-ip=\(defaultWaitSeconds)")
                index += 1
                continue
            }
            out.append(argument)
            index += 1
        }
        return out
    }
}
