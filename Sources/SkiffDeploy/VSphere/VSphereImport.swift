import Glibc

// OVA import, the alternative to CreateVM_Task: OvfManager.CreateImportSpec turns the descriptor
// into an import spec, ResourcePool.ImportVApp creates the VM and an HttpNfcLease, the disks go to
// the lease's device URLs (POST of the streamOptimized VMDK, or PUT for files to create), progress
// and completion are reported on the lease. Then ReconfigVM_Task sets what the OVF cannot say:
// the serial port's file on the datastore, the vCPUs and memory asked for.

extension XML.Element {
    /// This element written back as vim25 XML under another name (the import spec goes back as
    /// `<spec xsi:type="VirtualMachineImportSpec">`): children in order, leaf text escaped, `xsi:type`
    /// re-prefixed for the request's bindings (`xsd:` for XML Schema types, no prefix for vim25's),
    /// `type` attributes (morefs) kept. Depth is bounded by the reader's limit.
    public func vim25XML(as name: String? = nil, schemaType: String? = nil) -> String {
        var out = "<" + (name ?? self.name)
        if let schemaType { out += " xsi:type=\"\(XML.escapeAttribute(schemaType))\"" }
        for attribute in attributes {
            if attribute.namespace == XML.schemaInstanceNamespace && attribute.name == "type" {
                if schemaType != nil { continue }
                out += " xsi:type=\"\(XML.escapeAttribute(requestQName(attribute.value)))\""
            } else if attribute.namespace.isEmpty {
                out += " \(attribute.name)=\"\(XML.escapeAttribute(attribute.value))\""
            }
        }
        out += ">"
        if children.isEmpty {
            out += XML.escapeText(text)
        } else {
            for child in children { out += child.vim25XML() }
        }
        return out + "</\(name ?? self.name)>"
    }

    /// A QName from the reply rewritten for the request's prefixes.
    func requestQName(_ value: String) -> String {
        let parts = value.split(separator: ":", maxSplits: 1)
        guard parts.count == 2 else { return value }
        let uri = bindings.last { $0.prefix == String(parts[0]) }?.uri
        return uri == "http://www.w3.org/2001/XMLSchema" ? "xsd:" + parts[1] : String(parts[1])
    }
}

/// What the OVF descriptor says that the import needs.
public struct OVFDescriptor: Sendable {
    /// The logical network names (NetworkSection), to map onto the datacenter's networks.
    public var networks: [String]

    public init(_ text: String) throws(DeployError) {
        let root: XML.Element
        do {
            root = try XML.parse(Array(text.utf8))
        } catch {
            throw .usage("the OVF descriptor is not XML: \(error)")
        }
        guard root.name == "Envelope" else { throw .usage("the OVF descriptor's root is <\(root.name)>, not <Envelope>") }
        networks = root.child("NetworkSection")?.children("Network").compactMap { network in
            network.attributes.first { $0.name == "name" }?.value
        } ?? []
    }
}

public struct OVFImportSpec: Sendable {
    public struct FileItem: Equatable, Sendable {
        public var deviceId: String
        public var path: String
        public var size: UInt64
        public var create: Bool
    }

    /// The import spec as the server wrote it, echoed back to ImportVApp.
    public var importSpec: XML.Element
    public var fileItems: [FileItem]
    public var warnings: [VSphereFault]
    /// Errors other than the serial port's, which Skiff configures itself.
    public var errors: [VSphereFault]
    /// Items the server could not map (e.g. a serial port with no backing in the simulator).
    public var unsupported: [VSphereFault]
}

public struct NFCLeaseInfo: Sendable {
    public struct DeviceURL: Equatable, Sendable {
        public var importKey: String
        public var url: String
        public var sslThumbprint: String
    }

    public var entity: ManagedObjectReference?
    public var deviceURLs: [DeviceURL]
}

extension VSphereSession {
    /// OvfManager.CreateImportSpec.
    public func createImportSpec(descriptor: String, pool: ManagedObjectReference, datastore: ManagedObjectReference, name: String,
                                 networkMapping: [(ovfName: String, network: ManagedObjectReference)]) throws(DeployError) -> OVFImportSpec {
        guard let manager = content.ovfManager else { throw .failure("vSphere: the server has no OvfManager") }
        let reply = try invoke("CreateImportSpec", SOAP.call("CreateImportSpec", this: manager) { xml in
            xml.element("ovfDescriptor", descriptor)
            xml.reference("resourcePool", pool)
            xml.reference("datastore", datastore)
            xml.group("cisp") { xml in
                // OvfManagerCommonParams, then OvfCreateImportSpecParams, in WSDL order.
                xml.element("locale", "")
                xml.element("deploymentOption", "")
                xml.element("entityName", name)
                for mapping in networkMapping {
                    xml.group("networkMapping") { xml in
                        xml.element("name", mapping.ovfName)
                        xml.reference("network", mapping.network)
                    }
                }
                xml.element("diskProvisioning", "thin")
            }
        })
        guard let result = reply.child("returnval") else { throw .failure("vSphere: CreateImportSpec returned nothing") }
        var unsupported: [VSphereFault] = []
        var errors: [VSphereFault] = []
        for error in result.children("error") {
            let fault = VSphereFault.methodFault(error)
            // CIM resource type 21: a serial port (Skiff's OVAs have one; the simulator maps none).
            if fault.name == "OvfUnsupportedType", error.descendant("fault", "deviceType")?.text.trimmingXMLSpace == "21" {
                unsupported.append(fault)
            } else {
                errors.append(fault)
            }
        }
        guard let spec = result.child("importSpec") else {
            let first = errors.first.map { ": \($0)" } ?? ""
            throw .failure("vSphere: CreateImportSpec made no import spec\(first)")
        }
        let items = result.children("fileItem").map { item in
            OVFImportSpec.FileItem(
                deviceId: item.child("deviceId")?.text.trimmingXMLSpace ?? "",
                path: item.child("path")?.text.trimmingXMLSpace ?? "",
                size: UInt64(item.child("size")?.text.trimmingXMLSpace ?? "") ?? 0,
                create: item.child("create")?.text.trimmingXMLSpace == "true")
        }
        return OVFImportSpec(importSpec: spec, fileItems: items, warnings: result.children("warning").map(VSphereFault.methodFault),
                             errors: errors, unsupported: unsupported)
    }

    /// ResourcePool.ImportVApp: creates the VM and returns its HttpNfcLease.
    public func importVApp(_ spec: OVFImportSpec, pool: ManagedObjectReference, folder: ManagedObjectReference,
                           host: ManagedObjectReference?) throws(DeployError) -> ManagedObjectReference {
        let type = spec.importSpec.schemaType ?? "VirtualMachineImportSpec"
        let body = SOAP.call("ImportVApp", this: pool) { xml in
            xml.raw(spec.importSpec.vim25XML(as: "spec", schemaType: type))
            xml.reference("folder", folder)
            if let host { xml.reference("host", host) }
        }
        let reply = try invoke("ImportVApp", body)
        guard let lease = reply.child("returnval").flatMap(ManagedObjectReference.init) else {
            throw .failure("vSphere: ImportVApp returned no lease")
        }
        return lease
    }

    /// Waits until the lease is ready (or failed) and returns its info.
    public func waitForLease(_ lease: ManagedObjectReference, timeout: Double = 300) throws(DeployError) -> NFCLeaseInfo {
        let start = ChildProcess.monotonicSeconds()
        while true {
            guard let properties = try properties(of: lease, ["state", "error", "info"]) else {
                throw .failure("vSphere: the import lease \(lease.value) disappeared")
            }
            switch properties.text("state") {
            case "ready":
                let info = properties.properties["info"]
                return NFCLeaseInfo(
                    entity: info?.child("entity").flatMap(ManagedObjectReference.init),
                    deviceURLs: info?.children("deviceUrl").map { url in
                        NFCLeaseInfo.DeviceURL(importKey: url.child("importKey")?.text.trimmingXMLSpace ?? "",
                                               url: url.child("url")?.text.trimmingXMLSpace ?? "",
                                               sslThumbprint: url.child("sslThumbprint")?.text.trimmingXMLSpace ?? "")
                    } ?? [])
            case "error":
                let fault = properties.properties["error"].map(VSphereFault.methodFault) ?? VSphereFault(name: "LeaseError", message: "")
                throw .failure("vSphere: ImportVApp: \(fault)")
            case "done":
                throw .failure("vSphere: the import lease \(lease.value) ended before the upload")
            default:
                break
            }
            guard ChildProcess.monotonicSeconds() - start < timeout else {
                throw .failure("vSphere: the import lease \(lease.value) was not ready after \(Int(timeout)) s")
            }
            var pause = timespec(tv_sec: 0, tv_nsec: 500_000_000)
            nanosleep(&pause, nil)
        }
    }

    public func leaseProgress(_ lease: ManagedObjectReference, percent: Int) throws(DeployError) {
        try invoke("HttpNfcLeaseProgress", SOAP.call("HttpNfcLeaseProgress", this: lease) { xml in
            xml.element("percent", max(0, min(100, percent)))
        })
    }

    public func leaseComplete(_ lease: ManagedObjectReference) throws(DeployError) {
        try invoke("HttpNfcLeaseComplete", SOAP.call("HttpNfcLeaseComplete", this: lease))
    }

    /// HttpNfcLeaseAbort, saying why: the lease ends and the server removes what the import made
    /// (a failed abort leaves the lease holding the VM until it times out).
    public func leaseAbort(_ lease: ManagedObjectReference, reason: String) throws(DeployError) {
        try invoke("HttpNfcLeaseAbort", Self.leaseAbortBody(lease, reason: reason))
    }

    /// The abort's `fault` is a LocalizedMethodFault (vim25: `fault`, a MethodFault, and
    /// `localizedMessage`), here wrapping a SystemError with the reason.
    static func leaseAbortBody(_ lease: ManagedObjectReference, reason: String) -> String {
        SOAP.call("HttpNfcLeaseAbort", this: lease) { xml in
            xml.group("fault") { xml in
                xml.group("fault", type: "SystemError") { xml in
                    xml.element("reason", reason)
                }
                xml.element("localizedMessage", reason)
            }
        }
    }
}

/// HttpNfcLeaseProgress while the disks go up: the lease times out (about five minutes) without
/// one. `report(done:)` sends one when `interval` seconds passed since the last, `reportNow`
/// always; both through the session's own connection, never the upload's. A failed report is kept
/// in `lastError` and does not stop the upload (HttpNfcLeaseComplete then says whether the lease
/// is still there).
public final class NFCLeaseProgress {
    public let session: VSphereSession
    public let lease: ManagedObjectReference
    public let total: UInt64
    public let interval: Double
    private let clock: () -> Double
    private var last: Double
    public private(set) var reports = 0
    public private(set) var lastError: DeployError?

    public init(session: VSphereSession, lease: ManagedObjectReference, total: UInt64, interval: Double = 30,
                clock: @escaping () -> Double = NFCLeaseProgress.monotonicSeconds) {
        self.session = session
        self.lease = lease
        self.total = max(total, 1)
        self.interval = interval
        self.clock = clock
        last = clock()
    }

    public static func monotonicSeconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    public func report(done: UInt64) {
        guard clock() - last >= interval else { return }
        reportNow(done: done)
    }

    public func reportNow(done: UInt64) {
        last = clock()
        reports += 1
        do {
            try session.leaseProgress(lease, percent: Int(min(done, total) * 100 / total))
        } catch {
            lastError = error
        }
    }
}

/// A device of a VM as `config.hardware.device` lists it.
public struct VSphereDevice: Equatable, Sendable {
    public var type: String
    public var key: Int
    public var controllerKey: Int?
    public var unitNumber: Int?

    public static func list(_ devices: XML.Element?) -> [VSphereDevice] {
        devices?.children.compactMap { device in
            guard let type = device.schemaType, let key = device.child("key").flatMap({ Int($0.text.trimmingXMLSpace) }) else { return nil }
            return VSphereDevice(type: type, key: key, controllerKey: device.child("controllerKey").flatMap { Int($0.text.trimmingXMLSpace) },
                                 unitNumber: device.child("unitNumber").flatMap { Int($0.text.trimmingXMLSpace) })
        } ?? []
    }

    public static let scsiControllers: Set<String> = [
        "VirtualLsiLogicController", "VirtualLsiLogicSASController", "ParaVirtualSCSIController", "VirtualBusLogicController",
    ]
}

/// The ReconfigVM_Task spec after an import: vCPUs, memory, the serial port's file (edited when the
/// import made a serial port, added otherwise) and an optional thin data disk on the first SCSI
/// controller.
public struct VSphereImportReconfiguration: Equatable, Sendable {
    public var cpus: Int
    public var memoryMiB: Int
    public var serialFile: String
    public var dataDiskKiB: UInt64?
    public var devices: [VSphereDevice]

    public init(cpus: Int, memoryMiB: Int, serialFile: String, dataDiskKiB: UInt64?, devices: [VSphereDevice]) {
        self.cpus = cpus
        self.memoryMiB = memoryMiB
        self.serialFile = serialFile
        self.dataDiskKiB = dataDiskKiB
        self.devices = devices
    }

    public func body(vm: ManagedObjectReference) throws(DeployError) -> String {
        var dataDiskPlacement: (controller: Int, unit: Int)? = nil
        if dataDiskKiB != nil {
            guard let controller = devices.first(where: { VSphereDevice.scsiControllers.contains($0.type) }) else {
                throw .failure("--disk: the imported VM has no SCSI controller to put the data disk on")
            }
            let used = Set(devices.filter { $0.controllerKey == controller.key }.compactMap(\.unitNumber))
            // Unit 7 is the controller's own.
            guard let unit = (0..<16).first(where: { $0 != 7 && !used.contains($0) }) else {
                throw .failure("--disk: the imported VM's SCSI controller has no free unit")
            }
            dataDiskPlacement = (controller.key, unit)
        }
        let serial = devices.first { $0.type == "VirtualSerialPort" }
        return SOAP.call("ReconfigVM_Task", this: vm) { xml in
            xml.group("spec") { xml in
                xml.element("numCPUs", cpus)
                xml.element("memoryMB", memoryMiB)
                xml.group("deviceChange") { xml in
                    xml.element("operation", serial == nil ? "add" : "edit")
                    xml.group("device", type: "VirtualSerialPort") { xml in
                        xml.element("key", serial?.key ?? -200)
                        xml.group("backing", type: "VirtualSerialPortFileBackingInfo") { xml in
                            xml.element("fileName", serialFile)
                        }
                        xml.group("connectable") { xml in
                            xml.element("startConnected", true)
                            xml.element("allowGuestControl", false)
                            xml.element("connected", true)
                        }
                        xml.element("yieldOnPoll", true)
                    }
                }
                if let dataDiskKiB, let placement = dataDiskPlacement {
                    xml.group("deviceChange") { xml in
                        xml.element("operation", "add")
                        xml.element("fileOperation", "create")
                        xml.group("device", type: "VirtualDisk") { xml in
                            xml.element("key", -201)
                            xml.group("backing", type: "VirtualDiskFlatVer2BackingInfo") { xml in
                                xml.element("fileName", "")
                                xml.element("diskMode", "persistent")
                                xml.element("thinProvisioned", true)
                            }
                            xml.element("controllerKey", placement.controller)
                            xml.element("unitNumber", placement.unit)
                            xml.element("capacityInKB", Int64(clamping: dataDiskKiB))
                        }
                    }
                }
            }
        }
    }
}

extension XMLWriter {
    /// Appends XML that is already well-formed (an element written by `vim25XML`).
    public mutating func raw(_ xml: String) {
        appendRaw(xml)
    }
}

extension VSphereSession {
    /// Uploads a file to a lease's device URL: POST of a disk (`application/x-vnd.vmware-streamVmdk`)
    /// or PUT of a file the lease creates, always on a connection of its own, so that lease
    /// progress can be reported on the session's while the body goes. A `*` host means this
    /// server (the session cookie goes with it); another host (an ESXi host behind vCenter) is
    /// pinned to the lease's thumbprint when it gives one. An error thrown by `progress` stops
    /// the upload.
    public func nfcUpload(_ localPath: String, to deviceURL: NFCLeaseInfo.DeviceURL, create: Bool,
                          progress: ((UInt64, UInt64) throws(DeployError) -> Void)? = nil) throws(DeployError) {
        var url = deviceURL.url
        if let star = url.firstRange(of: "://*") {
            url = url[..<star.lowerBound] + "://" + endpoint.hostAndPort + url[star.upperBound...]
        }
        let target: HTTPEndpoint
        do {
            target = try HTTPEndpoint(url: url)
        } catch {
            throw .failure("vSphere: the lease's device URL \(VSphereFault.oneLine(deviceURL.url)) is not usable: \(error.message)")
        }
        var path = url
        if let schemeEnd = path.firstRange(of: "://") {
            let rest = path[schemeEnd.upperBound...]
            path = rest.firstIndex(of: "/").map { String(rest[$0...]) } ?? "/"
        }
        let sameServer = target.host == endpoint.host && target.port == endpoint.port && target.scheme == endpoint.scheme
        // The session cookie only to the server it belongs to (a host's NFC URL is authorized by the lease).
        var headers = sameServer ? cookieHeader : []
        headers.append(create ? (name: "Overwrite", value: "t") : (name: "Content-Type", value: "application/x-vnd.vmware-streamVmdk"))
        let request = HTTPRequest(method: create ? "PUT" : "POST", target: path, headers: headers, body: .file(path: localPath))
        let verification = sameServer || deviceURL.sslThumbprint.isEmpty ? client.verification : .thumbprint(deviceURL.sslThumbprint)
        let uploader = HTTPClient(endpoint: target, verification: verification, timeout: client.timeout)
        defer { uploader.close() }
        let response: HTTPResponse
        do {
            response = try uploader.send(request, maxBodyBytes: 1 << 20, progress: progress)
        } catch {
            throw .failure("vSphere: uploading to the import lease (\(target.hostAndPort)): \(error.message)")
        }
        guard (200...299).contains(response.status) else {
            throw .failure("vSphere: uploading to the import lease (\(target.hostAndPort)): HTTP \(response.status) \(VSphereFault.oneLine(response.reason))")
        }
    }
}

extension String {
    /// The first occurrence of `needle`, by bytes.
    func firstRange(of needle: String) -> Range<String.Index>? {
        let haystack = Array(utf8), target = Array(needle.utf8)
        guard let found = haystack.firstRange(of: target) else { return nil }
        let start = utf8.index(utf8.startIndex, offsetBy: found.lowerBound)
        let end = utf8.index(start, offsetBy: target.count)
        return start..<end
    }
}
