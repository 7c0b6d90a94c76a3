import ArgumentParser
import Glibc
import SkiffDeploy

/// The connection options every `skiff ... vcenter` command takes, each with the environment
/// variable govc or LinuxKit users already set; a flag beats its variable. The placement options
/// (below) come with the commands that use them.
struct VCenterOptions: ParsableArguments {
    @Option(name: .customLong("url"), help: ArgumentHelp("The vCenter or ESXi SDK URL: https://HOST/sdk, HOST, or https://USER:PASSWORD@HOST/sdk (env GOVC_URL, else VCURL).", valueName: "url"))
    var url: String? = nil

    @Option(name: .customLong("username"), help: ArgumentHelp("The user (env GOVC_USERNAME, else the URL's user).", valueName: "user"))
    var username: String? = nil

    @Option(name: .customLong("password-file"), help: ArgumentHelp("Read the password from the first line of this file (else the URL's, or env GOVC_PASSWORD, VCPASSWORD; never a flag).", valueName: "file"))
    var passwordFile: String? = nil

    @Flag(name: .customLong("insecure"), help: "Do not verify the server's certificate (env GOVC_INSECURE=1).")
    var insecure = false

    @Option(name: .customLong("thumbprint"), help: ArgumentHelp("Accept only the certificate with this SHA-1 or SHA-256 thumbprint (AA:BB:...).", valueName: "hex"))
    var thumbprint: String? = nil

    @Option(name: .customLong("ca-file"), help: ArgumentHelp("Verify the certificate against the CAs in this PEM file, or these files separated by ':' (env GOVC_TLS_CA_CERTS).", valueName: "file"))
    var caFile: String? = nil

    @Option(name: .customLong("datacenter"), help: ArgumentHelp("The datacenter by name or path (env GOVC_DATACENTER, VCDATACENTER; default: the only one).", valueName: "name"))
    var datacenter: String? = nil

    var request: VCenterRequest {
        var request = VCenterRequest()
        request.url = url
        request.username = username
        request.passwordFile = passwordFile
        request.insecure = insecure
        request.thumbprint = thumbprint
        request.caFile = caFile
        request.datacenter = datacenter
        request.environment = VCenterRequest.processEnvironment()
        return request
    }

    /// Checks the options, connects, logs in and prints the `vcenter: connected` line.
    func connect(datastore: VCenterDatastoreOption? = nil, folder: VCenterFolderOption? = nil,
                 placement: VCenterPlacementOptions? = nil) throws(CLIError) -> VCenterConnection {
        var request = self.request
        request.datastore = datastore?.datastore
        request.vmFolder = folder?.vmFolder
        request.host = placement?.host
        request.pool = placement?.pool
        request.networks = placement?.networks ?? []
        let settings = try deployStep { () throws(DeployError) in try request.resolved() }
        let session = try deployStep { () throws(DeployError) in
            try VSphereSession(endpoint: settings.endpoint, verification: settings.verification)
        }
        do {
            try session.login(userName: settings.user, password: settings.password)
        } catch {
            throw CLIError.failure("\(error.message) (as \(settings.user) at \(settings.displayURL))")
        }
        writeStandardOutput("vcenter: connected to \(settings.displayURL) (\(session.content.summary)) as \(session.userName ?? settings.user)\n")
        return VCenterConnection(settings: settings, session: session)
    }
}

/// `--datastore` (push, run).
struct VCenterDatastoreOption: ParsableArguments {
    @Option(name: .customLong("datastore"), help: ArgumentHelp("The datastore (env GOVC_DATASTORE, VCDATASTORE; default: the datacenter's only one).", valueName: "name"))
    var datastore: String? = nil
}

/// `--vm-folder` (run, stop, rm).
struct VCenterFolderOption: ParsableArguments {
    @Option(name: .customLong("vm-folder"), help: ArgumentHelp("The VM folder below the datacenter's vm folder (env GOVC_FOLDER; default: the vm folder).", valueName: "path"))
    var vmFolder: String? = nil
}

/// Where `run` puts a VM: `--host`, `--pool`, `--network`.
struct VCenterPlacementOptions: ParsableArguments {
    @Option(name: .customLong("host"), help: ArgumentHelp("The host or cluster to run on (env GOVC_HOST, VCHOST; default: the only one, else the first cluster).", valueName: "name"))
    var host: String? = nil

    @Option(name: .customLong("pool"), help: ArgumentHelp("The resource pool by path, e.g. DC0_C0/Resources/pool1 (env GOVC_RESOURCE_POOL; default: the host's or cluster's root pool).", valueName: "path"))
    var pool: String? = nil

    @Option(name: .customLong("network"), help: ArgumentHelp("Add a VMXNET3 NIC on this network or distributed port group (by name or path; repeat for more; none for no NIC; env GOVC_NETWORK, VCNETWORK give one; default: 'VM Network' or the only network).", valueName: "name"))
    var networks: [String] = []
}

/// A logged-in session and the settings it came from; `close` logs out.
final class VCenterConnection {
    let settings: VCenterSettings
    let session: VSphereSession
    private var cachedInventory: VSphereInventory?

    init(settings: VCenterSettings, session: VSphereSession) {
        self.settings = settings
        self.session = session
    }

    /// The inventory, read once.
    func inventory() throws(CLIError) -> VSphereInventory {
        if let cachedInventory { return cachedInventory }
        let inventory = try deployStep { () throws(DeployError) in try VSphereInventory(session: session) }
        cachedInventory = inventory
        return inventory
    }

    func close() {
        session.logout()
    }
}

/// Runs a SkiffDeploy step, turning its error into the CLI's one-line error (64 for usage).
@discardableResult
func deployStep<T>(_ body: () throws(DeployError) -> T) throws(CLIError) -> T {
    do {
        return try body()
    } catch {
        throw CLIError(message: error.message, status: error.kind == .usage ? 64 : 1)
    }
}

/// Result lines (`pushed: ...`, `ip: ...`) go to standard output, unbuffered, so they interleave
/// with the console in order.
func writeStandardOutput(_ text: String) {
    var bytes = Array(text.utf8)
    var offset = 0
    while offset < bytes.count {
        // In bounds: offset < bytes.count.
        let n = bytes.withUnsafeMutableBytes { write(1, $0.baseAddress! + offset, $0.count - offset) }
        if n <= 0 { return }
        offset += n
    }
}

/// Upload progress on standard error: a rewritten line on a terminal, else a line per 10%.
final class UploadProgress {
    let label: String
    let terminal = isatty(2) == 1
    var lastStep = -1
    var lastDraw = 0.0
    let start = monotonicNow()

    init(label: String) {
        self.label = label
    }

    func update(_ sent: UInt64, _ total: UInt64) {
        let percent = total == 0 ? 100 : Int(sent * 100 / max(total, 1))
        let elapsed = max(monotonicNow() - start, 0.001)
        let rate = Double(sent) / elapsed
        let line = "push: \(label) \(percent)% (\(Self.bytes(sent)) of \(Self.bytes(total)), \(Self.bytes(UInt64(rate)))/s)"
        if terminal {
            let now = monotonicNow()
            guard now - lastDraw >= 0.1 || sent == total else { return }
            lastDraw = now
            writeStandardError("\r\u{1B}[K" + line + (sent == total ? "\n" : ""))
        } else {
            let step = percent / 10
            guard step > lastStep else { return }
            lastStep = step
            writeStandardError(line + "\n")
        }
    }

    static func bytes(_ count: UInt64) -> String {
        if count < 1 << 10 { return "\(count) B" }
        if count < 1 << 20 { return "\(count >> 10) KiB" }
        let mib = Double(count) / Double(1 << 20)
        if mib < 1024 { return "\(Int(mib * 10) / 10).\(Int(mib * 10) % 10) MiB" }
        let gib = mib / 1024
        return "\(Int(gib * 10) / 10).\(Int(gib * 10) % 10) GiB"
    }
}

func monotonicNow() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
}
