import Glibc
import XCTest
@testable import SkiffDeploy

/// The CreateVM_Task body, the connection settings, inventory paths, the sparse VMDK reader and the
/// guest address sources of `skiff ... vcenter`.
final class VSphereTests: XCTestCase {
    let network = VSphereNetwork.standard(reference: ManagedObjectReference(type: "Network", value: "network-7"), name: "VM Network")
    let portgroup = VSphereNetwork.distributed(reference: ManagedObjectReference(type: "DistributedVirtualPortgroup", value: "dvportgroup-13"),
                                               name: "DC0_DVPG0", switchUUID: "50 2a 7f", portgroupKey: "dvportgroup-13")

    func spec(_ boot: VSphereBootMedium, disk: UInt64? = nil, name: String = "hello") -> VSphereVMSpec {
        VSphereVMSpec(name: name, datastore: "LocalDS_0", memoryMiB: 256, cpus: 2, hardwareVersion: 14, boot: boot,
                      networks: [network, portgroup], dataDiskKiB: disk)
    }

    func parsedBody(_ spec: VSphereVMSpec, host: ManagedObjectReference? = nil) throws -> XML.Element {
        let body = spec.createVMBody(folder: ManagedObjectReference(type: "Folder", value: "folder-3"),
                                     pool: ManagedObjectReference(type: "ResourcePool", value: "resgroup-26"), host: host)
        guard case .response(let element) = try SOAP.read(SOAP.envelope(body)) else {
            XCTFail("the body does not read back")
            return XML.Element(name: "")
        }
        return element
    }

    /// VirtualMachineConfigSpec is an XML Schema sequence: vCenter rejects elements out of order.
    func testCreateVMElementsInWSDLOrder() throws {
        let call = try parsedBody(spec(.iso("[LocalDS_0] skiff/hello.iso"), disk: 1_048_576),
                                  host: ManagedObjectReference(type: "HostSystem", value: "host-21"))
        XCTAssertEqual(call.name, "CreateVM_Task")
        XCTAssertEqual(call.namespace, "urn:vim25")
        XCTAssertEqual(call.children.map(\.name), ["_this", "config", "pool", "host"])
        let config = try XCTUnwrap(call.child("config"))
        let order = ["name", "version", "guestId", "files", "numCPUs", "memoryMB", "deviceChange", "bootOptions", "firmware"]
        var names: [String] = []
        for child in config.children where names.last != child.name { names.append(child.name) }
        XCTAssertEqual(names, order)
        XCTAssertEqual(config.child("version")?.text, "vmx-14")
        XCTAssertEqual(config.child("guestId")?.text, "other3xLinux64Guest")
        XCTAssertEqual(config.descendant("files", "vmPathName")?.text, "[LocalDS_0]")

        let devices = config.children("deviceChange")
        XCTAssertEqual(devices.compactMap { $0.child("device")?.schemaType },
                       ["VirtualLsiLogicController", "VirtualDisk", "VirtualVmxnet3", "VirtualVmxnet3", "VirtualIDEController", "VirtualCdrom", "VirtualSerialPort"])
        for change in devices {
            XCTAssertEqual(change.children.first?.name, "operation")
            // VirtualDevice: key, deviceInfo, backing, connectable, slotInfo, controllerKey, unitNumber, then the subtype's.
            let fields = change.child("device")?.children.map(\.name) ?? []
            let rank = ["key": 0, "backing": 2, "connectable": 3, "controllerKey": 5, "unitNumber": 6]
            let ranks = fields.compactMap { rank[$0] }
            XCTAssertEqual(ranks, ranks.sorted(), "\(fields)")
            XCTAssertEqual(fields.first, "key")
        }
        let disk = devices[1]
        XCTAssertEqual(disk.child("fileOperation")?.text, "create")
        XCTAssertEqual(disk.child("device")?.children.map(\.name), ["key", "backing", "controllerKey", "unitNumber", "capacityInKB"])
        XCTAssertEqual(disk.descendant("device", "backing")?.children.map(\.name), ["fileName", "diskMode", "thinProvisioned"])
        XCTAssertEqual(disk.descendant("device", "capacityInKB")?.text, "1048576")
        XCTAssertEqual(disk.descendant("device", "controllerKey")?.text, devices[0].descendant("device", "key")?.text)

        let nic = try XCTUnwrap(devices[2].child("device"))
        XCTAssertEqual(nic.children.map(\.name), ["key", "backing", "connectable", "addressType"])
        XCTAssertEqual(nic.child("backing")?.children.map(\.name), ["deviceName", "network"])
        XCTAssertEqual(nic.descendant("backing", "network").flatMap(ManagedObjectReference.init), ManagedObjectReference(type: "Network", value: "network-7"))
        let dvPort = try XCTUnwrap(devices[3].descendant("device", "backing"))
        XCTAssertEqual(dvPort.schemaType, "VirtualEthernetCardDistributedVirtualPortBackingInfo")
        XCTAssertEqual(dvPort.descendant("port")?.children.map(\.name), ["switchUuid", "portgroupKey"])
        XCTAssertEqual(dvPort.descendant("port", "switchUuid")?.text, "50 2a 7f")

        // The CD-ROM's IDE controller is in the spec (bus 0, a temporary key), as govc vm.create
        // -iso writes it: the CD-ROM names no key the server has not made yet.
        let ide = try XCTUnwrap(devices[4].child("device"))
        XCTAssertEqual(ide.children.map(\.name), ["key", "busNumber"], "VirtualController: VirtualDevice's fields, then busNumber")
        XCTAssertEqual(ide.child("busNumber")?.text, "0")
        XCTAssertNil(devices[4].child("fileOperation"))
        let cdrom = try XCTUnwrap(devices[5].child("device"))
        XCTAssertEqual(cdrom.children.map(\.name), ["key", "backing", "connectable", "controllerKey", "unitNumber"])
        XCTAssertEqual(cdrom.descendant("backing", "fileName")?.text, "[LocalDS_0] skiff/hello.iso")
        XCTAssertEqual(cdrom.child("controllerKey")?.text, ide.child("key")?.text)
        XCTAssertEqual(cdrom.child("unitNumber")?.text, "0")
        XCTAssertEqual(cdrom.descendant("connectable", "startConnected")?.text, "true")

        let serial = try XCTUnwrap(devices[6].child("device"))
        XCTAssertEqual(serial.children.map(\.name), ["key", "backing", "connectable", "yieldOnPoll"])
        XCTAssertEqual(serial.descendant("backing", "fileName")?.text, "[LocalDS_0] hello/hello.serial.log")
        XCTAssertEqual(config.descendant("bootOptions", "bootOrder")?.schemaType, "VirtualMachineBootOptionsBootableCdromDevice")

        // Temporary keys are negative and distinct.
        let keys = devices.compactMap { $0.descendant("device", "key")?.text }.compactMap(Int.init)
        XCTAssertEqual(Set(keys).count, keys.count)
        XCTAssertTrue(keys.allSatisfy { $0 < 0 })
    }

    func testCreateVMWithBootDiskAndNoDataDisk() throws {
        var vmdk = spec(.disk("[LocalDS_0] hello/hello-boot.vmdk", capacityKiB: 8192))
        vmdk.networks = []
        vmdk.vmxPath = "hello/hello.vmx"
        vmdk.hardwareVersion = 8
        let call = try parsedBody(vmdk)
        XCTAssertEqual(call.children.map(\.name), ["_this", "config", "pool"], "no host element without --host")
        let config = try XCTUnwrap(call.child("config"))
        XCTAssertEqual(config.child("version")?.text, "vmx-08")
        XCTAssertEqual(config.child("guestId")?.text, "otherGuest64", "other3xLinux64Guest needs hardware 10")
        XCTAssertEqual(config.descendant("files", "vmPathName")?.text, "[LocalDS_0] hello/hello.vmx")
        XCTAssertNil(config.child("bootOptions"))
        let devices = config.children("deviceChange")
        XCTAssertEqual(devices.compactMap { $0.child("device")?.schemaType }, ["VirtualLsiLogicController", "VirtualDisk", "VirtualSerialPort"])
        XCTAssertNil(devices[1].child("fileOperation"), "the boot disk exists: no create")
        XCTAssertEqual(devices[1].descendant("device", "backing", "fileName")?.text, "[LocalDS_0] hello/hello-boot.vmdk")
        XCTAssertEqual(devices[1].descendant("device", "capacityInKB")?.text, "8192")
        XCTAssertEqual(devices[1].descendant("device", "unitNumber")?.text, "0")
    }

    func testNamesAreEscapedInTheBody() throws {
        let tricky = "a<b>&\"c'"
        let body = spec(.iso("[LocalDS_0] skiff/x&y.iso"), name: tricky)
            .createVMBody(folder: ManagedObjectReference(type: "Folder", value: "folder-3"),
                          pool: ManagedObjectReference(type: "ResourcePool", value: "pool <1>"), host: nil)
        XCTAssertFalse(body.contains("<b>"))
        XCTAssertTrue(body.contains("<name>a&lt;b&gt;&amp;\"c'</name>"))
        let call = try parsedBody(spec(.iso("[LocalDS_0] skiff/x&y.iso"), name: tricky))
        XCTAssertEqual(call.descendant("config", "name")?.text, tricky)
        XCTAssertEqual(call.descendant("config")?.children("deviceChange").last?.descendant("device", "backing", "fileName")?.text,
                       "[LocalDS_0] \(tricky)/\(tricky).serial.log")
    }

    // MARK: Settings

    func request(_ environment: [String: String], _ configure: (inout VCenterRequest) -> Void = { _ in }) -> VCenterRequest {
        var request = VCenterRequest()
        request.environment = environment
        configure(&request)
        return request
    }

    func testURLForms() throws {
        let bare = try VCenterURL("vc.example")
        XCTAssertEqual(bare.endpoint.scheme, "https")
        XCTAssertEqual(bare.endpoint.host, "vc.example")
        XCTAssertEqual(bare.endpoint.port, 443)
        XCTAssertEqual(bare.endpoint.basePath, "/sdk")
        XCTAssertEqual(bare.display, "https://vc.example/sdk")
        let full = try VCenterURL("https://administrator%40vsphere.local:p%40ss%3Aw%26rd@10.0.0.1:8443/sdk")
        XCTAssertEqual(full.user, "administrator@vsphere.local")
        XCTAssertEqual(full.password, "p@ss:w&rd")
        XCTAssertEqual(full.display, "https://10.0.0.1:8443/sdk")
        let linuxkit = try VCenterURL("https://root:secret@esx1/sdk")
        XCTAssertEqual(linuxkit.user, "root")
        XCTAssertEqual(linuxkit.password, "secret")
        XCTAssertFalse(linuxkit.display.contains("secret"))
        let unencoded = try VCenterURL("https://administrator@vsphere.local:pw@vc/sdk")
        XCTAssertEqual(unencoded.user, "administrator@vsphere.local", "the last @ ends the user information")
        XCTAssertEqual(unencoded.password, "pw")
        XCTAssertThrowsError(try VCenterURL("ftp://user:hidden@host/")) { error in
            XCTAssertFalse("\(error)".contains("hidden"), "\(error)")
        }
    }

    func testFlagsBeatTheEnvironment() throws {
        let environment = ["GOVC_URL": "https://env-host/sdk", "VCURL": "https://vc-host/sdk", "GOVC_USERNAME": "env-user",
                           "GOVC_PASSWORD": "env-pw", "VCPASSWORD": "vc-pw", "GOVC_DATACENTER": "DC-env", "VCDATACENTER": "DC-vc",
                           "GOVC_DATASTORE": "DS-env", "GOVC_HOST": "H-env", "VCHOST": "H-vc", "GOVC_RESOURCE_POOL": "P-env",
                           "GOVC_FOLDER": "F-env", "VCNETWORK": "N-vc"]
        let fromEnv = try request(environment).resolved()
        XCTAssertEqual(fromEnv.endpoint.host, "env-host", "GOVC_URL before VCURL")
        XCTAssertEqual(fromEnv.user, "env-user")
        XCTAssertEqual(fromEnv.password, "env-pw", "GOVC_PASSWORD before VCPASSWORD")
        XCTAssertEqual(fromEnv.datacenter, "DC-env")
        XCTAssertEqual(fromEnv.datastore, "DS-env")
        XCTAssertEqual(fromEnv.host, "H-env")
        XCTAssertEqual(fromEnv.pool, "P-env")
        XCTAssertEqual(fromEnv.vmFolder, "F-env")
        XCTAssertEqual(fromEnv.networks, ["N-vc"])
        XCTAssertEqual(fromEnv.verification, .system)

        let fromFlags = try request(environment) { r in
            r.url = "https://flag-user:flag-pw@flag-host/sdk"
            r.datacenter = "DC-flag"
            r.datastore = "DS-flag"
            r.host = "H-flag"
            r.networks = ["a", "b"]
        }.resolved()
        XCTAssertEqual(fromFlags.endpoint.host, "flag-host")
        XCTAssertEqual(fromFlags.user, "flag-user", "a --url's user beats GOVC_USERNAME")
        XCTAssertEqual(fromFlags.password, "flag-pw", "a --url's password beats GOVC_PASSWORD")
        XCTAssertEqual(fromFlags.datacenter, "DC-flag")
        XCTAssertEqual(fromFlags.datastore, "DS-flag")
        XCTAssertEqual(fromFlags.host, "H-flag")
        XCTAssertEqual(fromFlags.networks, ["a", "b"])
        XCTAssertEqual(fromFlags.displayURL, "https://flag-host/sdk")

        // A URL from the environment: GOVC_USERNAME/GOVC_PASSWORD beat its user information.
        let envURL = try request(["VCURL": "https://u:url-pw@h/sdk", "GOVC_PASSWORD": "env-pw"]).resolved()
        XCTAssertEqual(envURL.user, "u")
        XCTAssertEqual(envURL.password, "env-pw")
        let vcOnly = try request(["VCURL": "https://u@h/sdk", "VCPASSWORD": "vc-pw", "VCDATACENTER": "DC-vc", "VCHOST": "H-vc"]).resolved()
        XCTAssertEqual(vcOnly.password, "vc-pw")
        XCTAssertEqual(vcOnly.datacenter, "DC-vc")
        XCTAssertEqual(vcOnly.host, "H-vc")
        XCTAssertEqual(vcOnly.networks, [])
    }

    func testPasswordFileAndMissingPieces() throws {
        let path = NSTemporaryDirectoryPath() + "/skiff-vsphere-test-pw.\(getpid())"
        defer { unlink(path) }
        XCTAssertTrue(FileManagerLite.write("file-pw\r\nsecond line\n", to: path))
        let settings = try request(["GOVC_URL": "h", "GOVC_USERNAME": "u", "GOVC_PASSWORD": "env-pw"]) { $0.passwordFile = path }.resolved()
        XCTAssertEqual(settings.password, "file-pw", "--password-file beats the environment; only its first line")

        XCTAssertThrowsError(try request([:]).resolved()) { XCTAssertTrue("\($0)".contains("GOVC_URL")) }
        XCTAssertThrowsError(try request(["GOVC_URL": "h"]).resolved()) { XCTAssertTrue("\($0)".contains("--username")) }
        XCTAssertThrowsError(try request(["GOVC_URL": "h", "GOVC_USERNAME": "u"]).resolved()) { error in
            XCTAssertEqual((error as? DeployError)?.kind, .usage)
            XCTAssertTrue("\(error)".contains("GOVC_PASSWORD"))
        }
        XCTAssertThrowsError(try request(["GOVC_URL": "h", "GOVC_USERNAME": "u"]) { $0.passwordFile = path + ".missing" }.resolved())
    }

    func testVerificationChoice() throws {
        let base = ["GOVC_URL": "h", "GOVC_USERNAME": "u", "GOVC_PASSWORD": "p"]
        XCTAssertEqual(try request(base.merging(["GOVC_INSECURE": "1"]) { $1 }).resolved().verification, .insecure)
        XCTAssertEqual(try request(base.merging(["GOVC_INSECURE": "true"]) { $1 }).resolved().verification, .insecure)
        XCTAssertEqual(try request(base.merging(["GOVC_INSECURE": "0"]) { $1 }).resolved().verification, .system)
        XCTAssertEqual(try request(base.merging(["GOVC_TLS_CA_CERTS": "/ca.pem"]) { $1 }).resolved().verification, .caFile("/ca.pem"))
        // govc reads GOVC_TLS_CA_CERTS as a ':'-separated list; so is --ca-file; empty entries are skipped.
        XCTAssertEqual(try request(base.merging(["GOVC_TLS_CA_CERTS": "/a.pem:/b.pem:"]) { $1 }).resolved().verification, .caFiles(["/a.pem", "/b.pem"]))
        XCTAssertEqual(try request(base) { $0.caFile = "/x.pem::/y.pem" }.resolved().verification, .caFiles(["/x.pem", "/y.pem"]))
        XCTAssertThrowsError(try request(base.merging(["GOVC_TLS_CA_CERTS": "::"]) { $1 }).resolved()) { error in
            XCTAssertEqual((error as? DeployError)?.message, "GOVC_TLS_CA_CERTS \"::\": no file named (PEM files separated by ':')")
        }
        XCTAssertEqual(try request(base) { $0.insecure = true }.resolved().verification, .insecure)
        let sha1 = "17:AA:47:AD:00:AB:1C:6D:28:F4:57:1E:65:6A:E0:D4:E6:6F:8A:F6"
        XCTAssertEqual(try request(base.merging(["GOVC_INSECURE": "1"]) { $1 }) { $0.thumbprint = sha1 }.resolved().verification, .thumbprint(sha1),
                       "a pinned thumbprint beats GOVC_INSECURE")
        XCTAssertThrowsError(try request(base) { $0.thumbprint = sha1; $0.insecure = true }.resolved())
        XCTAssertThrowsError(try request(base) { $0.thumbprint = "AB:CD" }.resolved()) { error in
            XCTAssertEqual((error as? DeployError)?.kind, .usage)
        }
    }

    func testPasswordNeverInMessages() {
        let secret = "s3cr3t-\(getpid())"
        let cases: [VCenterRequest] = [
            request(["GOVC_URL": "https://u:\(secret)@h/sdk"]) { $0.thumbprint = "nope" },
            request(["GOVC_URL": "gopher://u:\(secret)@h/sdk"]),
            request(["GOVC_URL": "https://u:\(secret)@h:99999/sdk"]),
        ]
        for request in cases {
            XCTAssertThrowsError(try request.resolved()) { error in
                XCTAssertFalse("\(error)".contains(secret), "\(error)")
            }
        }
        let ok = try? request(["GOVC_URL": "https://u:\(secret)@h/sdk"]).resolved()
        XCTAssertEqual(ok?.displayURL, "https://h/sdk")
    }

    /// A password typed into the URL without percent-encoding may hold "/", "#", "?", "@", ":" and
    /// "%": everything up to the last "@" is user information, so the password is read whole and
    /// never shows up as a host, a port, a path or in an error, whichever of --url, GOVC_URL or
    /// VCURL carries it.
    func testUnencodedPasswordCharactersNeverLeak() throws {
        let pid = getpid()
        // Distinct pieces between the special characters: a leak of any fragment is caught.
        let pieces = ["AAA\(pid)", "BBB\(pid)", "CCC\(pid)", "DDD\(pid)", "EEE\(pid)", "FFF\(pid)", "GGG\(pid)", "HHH\(pid)"]
        let passwords = [
            "\(pieces[0])/\(pieces[1])",
            "\(pieces[0])#\(pieces[1])",
            "\(pieces[0])?\(pieces[1])",
            "\(pieces[0])@\(pieces[1])",
            "\(pieces[0]):\(pieces[1])",
            "\(pieces[0])%zz\(pieces[1])",
            "\(pieces[0])/\(pieces[1])#\(pieces[2])?\(pieces[3])@\(pieces[4]):\(pieces[5])%\(pieces[6])://\(pieces[7])",
        ]
        func leaks(_ text: String) -> String? { pieces.first { text.contains($0) } }
        func set(_ source: String, _ url: String) -> VCenterRequest {
            source == "--url" ? request([:]) { $0.url = url } : request([source: url])
        }
        for password in passwords {
            for source in ["--url", "GOVC_URL", "VCURL"] {
                for form in ["https://u:\(password)@h/sdk", "u:\(password)@h", "https://u:\(password)@h:8443/sdk?x#y"] {
                    let settings = try set(source, form).resolved()
                    XCTAssertEqual(settings.password, password, "\(source) \(form)")
                    XCTAssertEqual(settings.user, "u", "\(source) \(form)")
                    XCTAssertEqual(settings.endpoint.host, "h", "\(source) \(form)")
                    XCTAssertNil(leaks(settings.displayURL), settings.displayURL)
                    XCTAssertNil(leaks("\(settings.endpoint)"))
                }
                let broken = [
                    "gopher://u:\(password)@h/sdk",       // not http(s)
                    "https://u:\(password)@h:99999/sdk",  // port out of range
                    "https://u:\(password)@h:x/sdk",      // port not a number
                    "https://u:\(password)@/sdk",         // no host
                    "https://u:\(password)@h%zz/sdk",     // a character a host cannot have
                    "https://u:\(password)@[::1/sdk",     // IPv6 without ]
                    "https://u:\(password)@h/s dk",       // a space in the path
                    "https://:\(password)@h/sdk",         // no user name
                ]
                for url in broken {
                    XCTAssertThrowsError(try set(source, url).resolved(), "\(source) \(url)") { error in
                        XCTAssertNil(leaks("\(error)"), "\(source) \(url): \(error)")
                        XCTAssertTrue("\(error)".contains(source), "names where the URL came from: \(error)")
                    }
                }
            }
            // HTTPEndpoint on its own (RFC 3986 parsing) cannot read such a URL, but says so without it.
            XCTAssertThrowsError(try HTTPEndpoint(url: "https://u:\(password)@h:x/sdk")) { error in
                XCTAssertNil(leaks("\(error)"), "\(error)")
            }
            XCTAssertNil(leaks(HTTPEndpoint.redacted("https://u:\(password)@h/sdk")))
            XCTAssertNil(leaks(HTTPEndpoint.redacted("u:\(password)@h")))
        }
        XCTAssertEqual(HTTPEndpoint.redacted("https://u:p/w@h:8443/sdk?a#b"), "https://h:8443/sdk?a#b")
        XCTAssertEqual(HTTPEndpoint.redacted("u:pa://ss@h/sdk"), "h/sdk", "\"u:pa\" is not a scheme")
        XCTAssertEqual(HTTPEndpoint.redacted("https://h/sdk"), "https://h/sdk")
        // Percent-encoded user information is decoded; a lone % is kept.
        XCTAssertEqual(try VCenterURL("https://u%3Ax:p%2Fq%@h").password, "p/q%")
        XCTAssertEqual(try VCenterURL("https://u%3Ax:p%2Fq%@h").user, "u:x")
    }

    func testWaitIPArgumentNormalization() {
        XCTAssertEqual(VCenterArguments.normalize(["run", "vcenter", "x.iso", "--wait-ip"]), ["run", "vcenter", "x.iso", "--wait-ip=300"])
        XCTAssertEqual(VCenterArguments.normalize(["run", "vcenter", "--wait-ip", "60", "x.iso"]), ["run", "vcenter", "--wait-ip=60", "x.iso"])
        XCTAssertEqual(VCenterArguments.normalize(["run", "vcenter", "--wait-ip", "x.iso"]), ["run", "vcenter", "--wait-ip=300", "x.iso"])
        XCTAssertEqual(VCenterArguments.normalize(["run", "qemu", "--wait-ip"]), ["run", "qemu", "--wait-ip"])
    }

    // MARK: Inventory, datastore paths, cookies

    func testInventoryPaths() {
        func ref(_ type: String, _ value: String) -> ManagedObjectReference { ManagedObjectReference(type: type, value: value) }
        let root = ref("Folder", "group-d1")
        let tree = InventoryTree([
            InventoryEntity(reference: root, name: "Datacenters", parent: nil),
            InventoryEntity(reference: ref("Datacenter", "dc"), name: "DC0", parent: root),
            InventoryEntity(reference: ref("Folder", "vm"), name: "vm", parent: ref("Datacenter", "dc")),
            InventoryEntity(reference: ref("VirtualMachine", "vm-1"), name: "a/b%c", parent: ref("Folder", "vm")),
            InventoryEntity(reference: ref("VirtualMachine", "loop"), name: "x", parent: ref("VirtualMachine", "loop")),
        ])
        XCTAssertEqual(tree.path(of: ref("Datacenter", "dc")), "DC0")
        XCTAssertEqual(tree.path(of: ref("VirtualMachine", "vm-1")), "DC0/vm/a%2fb%25c")
        XCTAssertNil(tree.path(of: root))
        XCTAssertNil(tree.path(of: ref("VirtualMachine", "loop")), "a cycle is no path, not a hang")
        XCTAssertTrue(tree.isUnder(ref("VirtualMachine", "vm-1"), ref("Datacenter", "dc")))
        XCTAssertFalse(tree.isUnder(ref("VirtualMachine", "loop"), root))
        XCTAssertEqual(tree.all(["VirtualMachine"], under: root).map(\.name), ["a/b%c"])
    }

    func testDatastoreTargets() throws {
        let file = DatastoreFile(datacenterPath: "Folder 1/DC0", datastore: "Local DS&1", path: "skiff/h e+llo.iso")
        XCTAssertEqual(file.target, "/folder/skiff/h%20e%2Bllo.iso?dcPath=Folder%201%2FDC0&dsName=Local%20DS%261")
        XCTAssertEqual(file.datastorePath, "[Local DS&1] skiff/h e+llo.iso")
        XCTAssertEqual(try DatastoreFile.checkRelativePath("/skiff/sub/", flag: "--ds-folder"), "skiff/sub")
        for bad in ["", "/", "a/../b", "a//b", ".", "a[1]", "a\nb"] {
            XCTAssertThrowsError(try DatastoreFile.checkRelativePath(bad, flag: "--ds-folder"), bad)
        }
        XCTAssertEqual(VSphereSession.rangeSize("bytes 10-19/300"), 300)
        XCTAssertEqual(VSphereSession.rangeSize("bytes */42"), 42)
        XCTAssertNil(VSphereSession.rangeSize("bytes 0-1"))
    }

    func testSessionCookie() {
        XCTAssertEqual(VSphereSession.sessionCookie("vmware_soap_session=abc-123; HttpOnly"), "abc-123")
        XCTAssertEqual(VSphereSession.sessionCookie("vmware_soap_session=\"52d0\"; Path=/; HttpOnly; Secure;"), "\"52d0\"")
        XCTAssertNil(VSphereSession.sessionCookie("other=1; vmware_soap_session=x"))
        XCTAssertNil(VSphereSession.sessionCookie("vmware_soap_session=; HttpOnly"))
        XCTAssertNil(VSphereSession.sessionCookie("vmware_soap_session=a\r\nX: y"))
    }

    func testServiceContentSummaryAndRequiredReferences() throws {
        let content = try ServiceContent(try XML.parse("""
            <returnval xmlns="urn:vim25"><rootFolder type="Folder">ha-folder-root</rootFolder><propertyCollector type="PropertyCollector">ha-property-collector</propertyCollector><sessionManager type="SessionManager">ha-sessionmgr</sessionManager><about><name>VMware ESXi</name><version>6.5.0</version><apiType>HostAgent</apiType><apiVersion>6.5</apiVersion></about></returnval>
            """))
        XCTAssertEqual(content.sessionManager, ManagedObjectReference(type: "SessionManager", value: "ha-sessionmgr"))
        XCTAssertEqual(content.summary, "VMware ESXi 6.5, API 6.5")
        XCTAssertNil(content.viewManager)
        XCTAssertThrowsError(try ServiceContent(try XML.parse("<returnval><about/></returnval>")))
    }

    // MARK: Guest address

    func testAddressSources() throws {
        XCTAssertEqual(VSphereGuestAddress.fromConsole("boot\r\nnet: eth0 198.18.0.130/24 mtu 1500 mac 00:0c:29:00:00:01\r\nnet: eth1 198.18.1.5/24 mtu 1500\n"), "198.18.1.5")
        XCTAssertNil(VSphereGuestAddress.fromConsole("net: eth0 mtu 1500 mac 00:0c:29:00:00:01\n"), "no address yet")
        XCTAssertNil(VSphereGuestAddress.fromConsole("net: eth0 999.1.1.1/24\nnet: eth0 0.0.0.0/0\n"))
        XCTAssertEqual(VSphereGuestAddress.fromConsole("[ 1.2] net: eth0 10.0.0.2/8 mtu 1500"), "10.0.0.2")
        let extra = try XML.parse("""
            <val xmlns:x="http://www.w3.org/2001/XMLSchema-instance" x:type="ArrayOfOptionValue"><OptionValue x:type="OptionValue"><key>guestinfo.other</key><value x:type="xsd:string">1.1.1.1</value></OptionValue><OptionValue x:type="OptionValue"><key>guestinfo.ip</key><value x:type="xsd:string">198.18.0.9</value></OptionValue></val>
            """)
        XCTAssertEqual(VSphereGuestAddress.fromExtraConfig(extra), "198.18.0.9")
        XCTAssertNil(VSphereGuestAddress.fromExtraConfig(nil))
        XCTAssertNil(VSphereGuestAddress.ipv4("1.2.3"))
        XCTAssertNil(VSphereGuestAddress.ipv4("1.2.3.4.5"))
        XCTAssertNil(VSphereGuestAddress.ipv4("fe80::1"))
    }

    // MARK: Sparse VMDK

    /// A monolithicSparse image by hand: header, grain directory, one grain table, two grains
    /// (one of data, one of zeros) in a 4-grain disk of 8-sector grains.
    func sparseImage(gdSector: UInt32 = 1, capacity: UInt64 = 32, version: UInt32 = 1, flags: UInt32 = 3) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: 512 * 24)
        func put32(_ value: UInt32, _ offset: Int) { for i in 0..<4 { bytes[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * i)) } }
        func put64(_ value: UInt64, _ offset: Int) { for i in 0..<8 { bytes[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * i)) } }
        put32(0x564D_444B, 0); put32(version, 4); put32(flags, 8); put64(capacity, 12); put64(8, 20)
        put32(512, 44); put64(UInt64(gdSector), 56)
        put32(2, 512)          // GD[0] = GT at sector 2
        put32(8, 1024)         // GT[0] = grain at sector 8
        put32(1, 1024 + 4)     // GT[1] = a zero grain
        put32(16, 1024 + 12)   // GT[3] = grain at sector 16 (zeros in the file)
        for i in 0..<4096 { bytes[8 * 512 + i] = UInt8(truncatingIfNeeded: i * 7 + 1) }
        return bytes
    }

    func write(_ bytes: [UInt8], _ path: String) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        _ = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress!, $0.count) }
        close(fd)
    }

    func read(_ path: String) -> [UInt8] {
        let fd = open(path, O_RDONLY)
        defer { close(fd) }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, $0.count) }
            if n <= 0 { return out }
            out += buffer[0..<n]
        }
    }

    func testSparseToFlat() throws {
        let base = NSTemporaryDirectoryPath() + "/skiff-sparse-\(getpid())"
        defer { unlink(base + ".vmdk"); unlink(base + "-flat") }
        let image = sparseImage()
        write(image, base + ".vmdk")
        XCTAssertEqual(try SparseVMDK.extractFlat(from: base + ".vmdk", to: base + "-flat"), 32)
        let flat = read(base + "-flat")
        XCTAssertEqual(flat.count, 32 * 512)
        XCTAssertEqual(Array(flat[0..<4096]), Array(image[4096..<8192]), "grain 0")
        XCTAssertTrue(flat[4096...].allSatisfy { $0 == 0 }, "grains 1 to 3 are zeros")
        let descriptor = SparseVMDK.flatDescriptor(capacitySectors: 32, flatFileName: "x-flat.vmdk", hardwareVersion: 14)
        XCTAssertTrue(descriptor.contains("createType=\"vmfs\""))
        XCTAssertTrue(descriptor.contains("RW 32 VMFS \"x-flat.vmdk\""))
    }

    func testDamagedSparseImagesAreErrors() {
        let base = NSTemporaryDirectoryPath() + "/skiff-sparse-bad-\(getpid())"
        defer { unlink(base + ".vmdk"); unlink(base + "-flat") }
        var outsideTable = sparseImage()
        outsideTable[512] = 200  // GD[0] points past the end
        var outsideGrain = sparseImage()
        outsideGrain[1024] = 250  // GT[0] points past the end
        let cases: [([UInt8], String)] = [
            (Array(sparseImage().prefix(100)), "runs past the end"),
            (sparseImage(gdSector: 0), "grain directory"),
            (sparseImage(capacity: 0), "capacity"),
            (sparseImage(capacity: 1 << 40), "capacity"),
            (sparseImage(version: 3, flags: 1 << 16 | 1 << 17), "streamOptimized"),
            (outsideTable, "runs past the end"),
            (outsideGrain, "runs past the end"),
            (Array(repeating: 0x41, count: 600), "KDMV"),
        ]
        for (bytes, expected) in cases {
            write(bytes, base + ".vmdk")
            XCTAssertThrowsError(try SparseVMDK.extractFlat(from: base + ".vmdk", to: base + "-flat"), expected) { error in
                XCTAssertTrue("\(error)".contains(expected), "\(error)")
            }
        }
        // Random damage never traps.
        var generator = SplitMix(seed: 11)
        for _ in 0..<300 {
            var bytes = sparseImage()
            for _ in 0..<4 { bytes[Int(generator.next() % 1536)] = UInt8(truncatingIfNeeded: generator.next()) }
            write(bytes, base + ".vmdk")
            _ = try? SparseVMDK.extractFlat(from: base + ".vmdk", to: base + "-flat")
        }
    }

    // MARK: Run flags

    func testRunRequestChecks() throws {
        var request = VCenterRunRequest(image: "/x/hello.iso")
        let plan = try request.checked()
        XCTAssertEqual(plan, VCenterRunPlan(name: "hello", memoryMiB: 256, cpus: 1, hardwareVersion: 14, dataDiskBytes: nil))
        XCTAssertEqual(try VCenterRunRequest(image: "a/b/ping.ova").checked().name, "ping")
        XCTAssertEqual(try VCenterRunRequest(image: "ping.vmdk").checked().name, "ping")
        request.dataDisk = "1G"
        XCTAssertEqual(try request.checked().dataDiskBytes, 1 << 30)
        request.dataDisk = "1500K"
        XCTAssertEqual(try request.checked().dataDiskBytes, 1500 * 1024)
        for (name, value) in [("memory", "250"), ("memory", "8"), ("cpus", "0"), ("hw", "6"), ("hw", "22"), ("disk", "10K"), ("name", "a/b"), ("name", "[x]"), ("name", "")] {
            var bad = VCenterRunRequest(image: "hello.iso")
            switch name {
            case "memory": bad.memory = value
            case "cpus": bad.cpus = value
            case "hw": bad.hardwareVersion = value
            case "disk": bad.dataDisk = value
            default: bad.name = value
            }
            XCTAssertThrowsError(try bad.checked(), "\(name) \(value)") { error in
                XCTAssertEqual((error as? DeployError)?.kind, .usage)
            }
        }
    }
}

/// Small helpers without Foundation.
func NSTemporaryDirectoryPath() -> String {
    if let dir = getenv("TMPDIR") { return String(cString: dir) }
    return "/tmp"
}

enum FileManagerLite {
    static func write(_ text: String, to path: String) -> Bool {
        guard let file = fopen(path, "w") else { return false }
        defer { fclose(file) }
        return fputs(text, file) >= 0
    }
}
