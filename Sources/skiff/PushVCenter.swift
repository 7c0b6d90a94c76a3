import ArgumentParser
import Glibc
import SkiffDeploy

/// `skiff push <target>`: puts an image where a hypervisor can use it.
struct Push: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Upload an image to a hypervisor's storage.",
        discussion: "`skiff push vcenter <image>` uploads an ISO or VMDK to a vSphere datastore.",
        subcommands: [PushVCenter.self]
    )
}

/// `skiff push vcenter <image>`: uploads an ISO or VMDK into `[DS] skiff/<file name>` through the
/// datastore HTTP interface.
struct PushVCenter: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vcenter",
        abstract: "Upload an ISO or VMDK image to a vCenter or ESXi datastore.",
        discussion: """
            Logs in (see the connection options), finds the datacenter and datastore, and uploads \
            the image with PUT /folder/<ds-folder>/<file name>?dcPath=..&dsName=.. (HTTPS, with \
            the session cookie), printing progress on standard error. A file of that name already \
            on the datastore is replaced only with --force. A failed upload, or one stopped by \
            SIGINT or SIGTERM (exit status 128 + the signal), deletes what arrived of a file that \
            was not there before. Prints the datastore path:

              pushed: [LocalDS_0] skiff/hello.iso (1048576 bytes)

            The password comes from --password-file, the URL (https://USER:PASSWORD@HOST/sdk), \
            GOVC_PASSWORD or VCPASSWORD; it is never printed.

            Examples:
              GOVC_URL=https://vc.example/sdk GOVC_USERNAME=admin GOVC_PASSWORD=... skiff push vcenter hello.iso
              skiff push vcenter ping.vmdk --url vc.example --username admin --password-file pw --datastore ds1 --force
            """
    )

    @Argument(help: ArgumentHelp("The image: an ISO (skiff build --format iso) or a VMDK (--format vmdk).", valueName: "image"))
    var image: String

    @OptionGroup(title: "Connection")
    var vcenter: VCenterOptions

    @OptionGroup(title: "Placement")
    var datastoreOption: VCenterDatastoreOption

    @Option(name: .customLong("ds-folder"), help: ArgumentHelp("The folder on the datastore.", valueName: "path"))
    var dsFolder: String = "skiff"

    @Flag(name: .customLong("force"), help: "Replace a file of the same name on the datastore.")
    var force = false

    func run() throws {
        _ = try checkImageForVCenter(image)
        StopSignal.block()
        let folder = try deployStep { () throws(DeployError) in try DatastoreFile.checkRelativePath(dsFolder, flag: "--ds-folder") }
        let connection = try vcenter.connect(datastore: datastoreOption)
        defer { connection.close() }
        let inventory = try connection.inventory()
        let datacenter = try deployStep { () throws(DeployError) in try inventory.datacenter(connection.settings.datacenter) }
        let datastore = try deployStep { () throws(DeployError) in try inventory.datastore(connection.settings.datastore, in: datacenter) }
        let file = DatastoreFile(datacenterPath: datacenter.path, datastore: datastore.name, path: folder + "/" + fileName(of: image))
        try StopSignal.checkpoint("before the upload")
        _ = try pushImage(image, to: file, session: connection.session, datacenter: datacenter.reference, replace: force, reuseSameSize: false)
    }
}

/// The last path component.
func fileName(of path: String) -> String {
    path.split(separator: "/", omittingEmptySubsequences: true).last.map(String.init) ?? path
}

/// What `skiff ... vcenter` takes.
enum VCenterImageKind {
    case iso
    /// monolithicSparse, from `skiff build --format vmdk`.
    case vmdk
    /// `skiff build --format ova`: imported through the OVF manager.
    case ova
}

/// Checks that the image is an ISO or a VMDK (what vSphere can attach), or with `allowOVA` an
/// OVA, and returns which, with its first bytes.
@discardableResult
func checkImageForVCenter(_ image: String, allowOVA: Bool = false) throws(CLIError) -> (kind: VCenterImageKind, header: [UInt8]) {
    var info = stat()
    guard stat(image, &info) == 0 else {
        throw CLIError.usage("\(image): \(String(cString: strerror(errno))) (build one with 'skiff build <app> --format iso' or '--format vmdk')")
    }
    guard (info.st_mode & S_IFMT) == S_IFREG else { throw CLIError.usage("\(image): not a regular file") }
    let descriptor = open(image, O_RDONLY | O_CLOEXEC)
    guard descriptor >= 0 else { throw CLIError.usage("\(image): cannot read: \(String(cString: strerror(errno)))") }
    defer { close(descriptor) }
    var header = [UInt8](repeating: 0, count: VMwareImageKind.headerBytes)
    var filled = 0
    while filled < header.count {
        // In bounds: at most header.count - filled bytes at offset filled.
        let n = header.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress! + filled, $0.count - filled, off_t(filled)) }
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { break }
        filled += n
    }
    header = Array(header[0..<filled])
    if OVAArchive.isTar(header) {
        guard allowOVA else {
            throw CLIError.usage("\(image): an OVA is imported, not pushed: run it with 'skiff run vcenter \(image)' (or push the ISO or VMDK)")
        }
        return (.ova, header)
    }
    do {
        return (try VMwareImageKind.detect(header, path: image) == .iso ? .iso : .vmdk, header)
    } catch {
        throw CLIError(message: error.message, status: 64)
    }
}

/// Uploads `image` to `file` unless it is there: with `reuseSameSize` a file of the same size is
/// taken as this image; otherwise an existing file is an error unless `replace`. Prints `pushed:`.
/// A failed or stopped (SIGINT, SIGTERM) upload deletes the partial file when there was none
/// before; a file it was replacing is left (it may be cut short now) and the error says so.
func pushImage(_ image: String, to file: DatastoreFile, session: VSphereSession, datacenter: ManagedObjectReference,
               replace: Bool, reuseSameSize: Bool, label: String? = nil) throws(CLIError) -> DatastoreFile {
    var info = stat()
    guard stat(image, &info) == 0 else { throw CLIError.usage("\(image): \(String(cString: strerror(errno)))") }
    let size = UInt64(info.st_size)
    let existing = try deployStep { () throws(DeployError) in try session.datastoreHead(file) }
    if existing.exists {
        if reuseSameSize && existing.size == size && !replace {
            writeStandardError("skiff: \(file.datastorePath) is already on the datastore with the same size (\(size) bytes); not uploading it again (--force replaces it)\n")
            return file
        }
        guard replace || reuseSameSize else {
            throw CLIError.failure("\(file.datastorePath): already on the datastore (\(existing.size.map { "\($0) bytes" } ?? "size unknown")); --force replaces it")
        }
        writeStandardError("skiff: replacing \(file.datastorePath) (\(existing.size.map { "\($0) bytes" } ?? "size unknown") on the datastore, \(size) here)\n")
    }
    let progress = UploadProgress(label: label ?? fileName(of: image))
    do throws(DeployError) {
        try session.datastorePut(image, to: file) { (sent, total) throws(DeployError) in
            progress.update(sent, total)
            try StopSignal.throwIfPending()
        }
        // What arrived, as the server sees it (when it says the size).
        let stored = try session.datastoreHead(file)
        guard stored.exists, stored.size == nil || stored.size == size else {
            throw DeployError.failure("\(file.datastorePath): the datastore has \(stored.exists ? "\(stored.size ?? 0) bytes" : "no file") after the upload, not \(size) bytes")
        }
    } catch {
        let left = existing.exists
            ? "; \(file.datastorePath) was there before and may be cut short now (not deleted; --force uploads it again)"
            : deletePartialUpload(file, session: session, datacenter: datacenter)
        throw CLIError(message: error.message + left, status: StopSignal.status(error.kind == .usage ? 64 : 1))
    }
    writeStandardOutput("pushed: \(file.datastorePath) (\(size) bytes)\n")
    return file
}

/// Deletes what a failed upload left of a file that was not there before; says what happened,
/// for the error line.
func deletePartialUpload(_ file: DatastoreFile, session: VSphereSession, datacenter: ManagedObjectReference) -> String {
    do {
        guard try session.datastoreSize(file) != nil else { return "" }
        try session.deleteDatastoreFile(file, datacenter: datacenter)
        return "; the partial upload was deleted"
    } catch {
        return "; the partial upload may be left at \(file.datastorePath): deleting it failed (\(error.message))"
    }
}
