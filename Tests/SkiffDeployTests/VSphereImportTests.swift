import Glibc
import XCTest
@testable import SkiffDeploy

/// OVA import: the archive walk, the OVF's networks, the import spec echoed back, the
/// reconfiguration after the import.
final class VSphereImportTests: XCTestCase {
    /// A ustar header (POSIX.1-1988) with its checksum.
    func tarHeader(_ name: String, size: Int, type: UInt8 = UInt8(ascii: "0")) -> [UInt8] {
        var header = [UInt8](repeating: 0, count: 512)
        for (index, byte) in name.utf8.prefix(100).enumerated() { header[index] = byte }
        func octal(_ value: Int, _ offset: Int, _ width: Int) {
            let text = Array(String(value, radix: 8).utf8)
            let padded = [UInt8](repeating: 0x30, count: width - 1 - text.count) + text
            for (index, byte) in padded.enumerated() { header[offset + index] = byte }
        }
        octal(0o644, 100, 8); octal(0, 108, 8); octal(0, 116, 8); octal(size, 124, 12); octal(0, 136, 12)
        header[156] = type
        for (index, byte) in "ustar\u{0}00".utf8.enumerated() { header[257 + index] = byte }
        for index in 148..<156 { header[index] = 0x20 }
        let sum = header.reduce(0) { $0 + Int($1) }
        let text = Array(String(sum, radix: 8).utf8)
        let field = [UInt8](repeating: 0x30, count: 6 - text.count) + text + [0, 0x20]
        for (index, byte) in field.enumerated() { header[148 + index] = byte }
        return header
    }

    func tar(_ members: [(String, [UInt8])]) -> [UInt8] {
        var out: [UInt8] = []
        for (name, data) in members {
            out += tarHeader(name, size: data.count)
            out += data
            out += [UInt8](repeating: 0, count: (512 - data.count % 512) % 512)
        }
        return out + [UInt8](repeating: 0, count: 1024)
    }

    func temporary(_ bytes: [UInt8]) -> String {
        let path = NSTemporaryDirectoryPath() + "/skiff-ova-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress!, $0.count) }
        close(fd)
        return path
    }

    func testArchiveMembersAndExtraction() throws {
        let ovf = Array("<Envelope/>".utf8)
        let disk = (0..<1500).map { UInt8(truncatingIfNeeded: $0) }
        let path = temporary(tar([("hello.ovf", ovf), ("hello.mf", Array("SHA256(x)= 0\n".utf8)), ("hello-disk1.vmdk", disk)]))
        defer { unlink(path) }
        XCTAssertTrue(OVAArchive.isTar(Array(tarHeader("a", size: 0))))
        let archive = try OVAArchive(path: path)
        XCTAssertEqual(archive.members.map(\.name), ["hello.ovf", "hello.mf", "hello-disk1.vmdk"])
        XCTAssertEqual(archive.members.map(\.offset), [512, 1536, 2560])
        XCTAssertEqual(try archive.descriptorText(), "<Envelope/>")
        let member = try XCTUnwrap(archive.member(named: "hello-disk1.vmdk"))
        XCTAssertEqual(member.size, 1500)
        let out = path + ".disk"
        defer { unlink(out) }
        try archive.extract(member, to: out)
        XCTAssertEqual(try archive.bytes(of: member), disk)
        var info = stat()
        XCTAssertEqual(stat(out, &info), 0)
        XCTAssertEqual(info.st_size, 1500)
    }

    func testDamagedArchivesAreErrors() {
        let good = tar([("hello.ovf", Array("<Envelope/>".utf8)), ("d.vmdk", [UInt8](repeating: 1, count: 600))])
        var badChecksum = good
        badChecksum[0] = UInt8(ascii: "j")
        // A member far longer than the file, with a correct checksum.
        let hugeSize = tar([("hello.ovf", Array("<Envelope/>".utf8))]).prefix(1024) + tarHeader("d.vmdk", size: 0o77777777777) + [UInt8](repeating: 1, count: 1024)
        let cases: [([UInt8], String)] = [
            (badChecksum, "checksum"),
            (tar([("d.vmdk", [1, 2, 3]), ("hello.ovf", [])]), "not an OVA"),
            (Array(repeating: 0x41, count: 1024), "damaged tar header"),
            (Array(good.prefix(700)), "truncated"),
            (Array(good.prefix(1600)), "past the end"),
            (Array(hugeSize), "past the end"),
        ]
        for (bytes, expected) in cases {
            let path = temporary(bytes)
            defer { unlink(path) }
            XCTAssertThrowsError(try OVAArchive(path: path), expected) { error in
                XCTAssertTrue("\(error)".contains(expected), "\(error)")
            }
        }
        var generator = SplitMix(seed: 5)
        for _ in 0..<200 {
            var bytes = good
            for _ in 0..<3 { bytes[Int(generator.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: generator.next()) }
            let path = temporary(bytes)
            _ = try? OVAArchive(path: path)
            unlink(path)
        }
    }

    func testOVFNetworks() throws {
        let ovf = try OVFDescriptor("""
            <Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1"><NetworkSection><Info>x</Info><Network ovf:name="VM Network"/><Network ovf:name="backend &amp; db"/></NetworkSection></Envelope>
            """)
        XCTAssertEqual(ovf.networks, ["VM Network", "backend & db"])
        XCTAssertThrowsError(try OVFDescriptor("<html/>"))
        XCTAssertThrowsError(try OVFDescriptor("<Envelope>"))
    }

    /// The import spec goes back as the server wrote it, with xsi:type re-prefixed: the simulator
    /// writes `XMLSchema-instance:type`, and XML Schema types keep the request's `xsd:` prefix.
    func testImportSpecEchoedBack() throws {
        let reply = try XML.parse("""
            <returnval xmlns="urn:vim25" xmlns:XMLSchema-instance="http://www.w3.org/2001/XMLSchema-instance" xmlns:s="http://www.w3.org/2001/XMLSchema"><importSpec XMLSchema-instance:type="VirtualMachineImportSpec"><configSpec><name>a&lt;b</name><deviceChange><operation>add</operation><device XMLSchema-instance:type="VirtualDisk"><key>-1</key><backing XMLSchema-instance:type="VirtualDiskFlatVer2BackingInfo"><fileName>[LocalDS_0] a/disk-0.vmdk</fileName><datastore type="Datastore">/tmp/x@folder-5</datastore></backing></device></deviceChange><extraConfig XMLSchema-instance:type="OptionValue"><key>k</key><value XMLSchema-instance:type="s:string">v</value></extraConfig></configSpec><resPoolEntity type="ResourcePool">resgroup-26</resPoolEntity></importSpec></returnval>
            """)
        let spec = try XCTUnwrap(reply.child("importSpec"))
        let xml = spec.vim25XML(as: "spec", schemaType: "VirtualMachineImportSpec")
        XCTAssertTrue(xml.hasPrefix(#"<spec xsi:type="VirtualMachineImportSpec"><configSpec><name>a&lt;b</name>"#), xml)
        XCTAssertTrue(xml.contains(#"<device xsi:type="VirtualDisk">"#))
        XCTAssertTrue(xml.contains(#"<datastore type="Datastore">/tmp/x@folder-5</datastore>"#))
        XCTAssertTrue(xml.contains(#"<value xsi:type="xsd:string">v</value>"#), xml)
        XCTAssertFalse(xml.contains("XMLSchema-instance"))
        // It reads back inside the request's envelope as the same tree.
        let body = SOAP.call("ImportVApp", this: ManagedObjectReference(type: "ResourcePool", value: "resgroup-26")) { $0.raw(xml) }
        guard case .response(let call) = try SOAP.read(SOAP.envelope(body)) else { return XCTFail() }
        let echoed = try XCTUnwrap(call.child("spec"))
        XCTAssertEqual(echoed.schemaType, "VirtualMachineImportSpec")
        XCTAssertEqual(echoed.descendant("configSpec", "name")?.text, "a<b")
        XCTAssertEqual(echoed.descendant("configSpec", "extraConfig", "value")?.schemaTypeNamespace, "http://www.w3.org/2001/XMLSchema")
        XCTAssertEqual(echoed.descendant("configSpec", "deviceChange", "device", "backing")?.schemaType, "VirtualDiskFlatVer2BackingInfo")
    }

    func testReconfigurationAfterImport() throws {
        let devices = [
            VSphereDevice(type: "VirtualLsiLogicController", key: 1000, controllerKey: 100, unitNumber: 3),
            VSphereDevice(type: "VirtualDisk", key: 2000, controllerKey: 1000, unitNumber: 0),
            VSphereDevice(type: "VirtualDisk", key: 2001, controllerKey: 1000, unitNumber: 1),
        ]
        var change = VSphereImportReconfiguration(cpus: 2, memoryMiB: 512, serialFile: "[DS] a/a.serial.log", dataDiskKiB: 1024, devices: devices)
        guard case .response(let call) = try SOAP.read(SOAP.envelope(try change.body(vm: ManagedObjectReference(type: "VirtualMachine", value: "vm-9")))) else {
            return XCTFail()
        }
        let spec = try XCTUnwrap(call.child("spec"))
        XCTAssertEqual(spec.children.map(\.name), ["numCPUs", "memoryMB", "deviceChange", "deviceChange"])
        let serial = spec.children("deviceChange")[0]
        XCTAssertEqual(serial.child("operation")?.text, "add", "no serial port yet: added")
        XCTAssertEqual(serial.descendant("device", "backing", "fileName")?.text, "[DS] a/a.serial.log")
        let disk = spec.children("deviceChange")[1]
        XCTAssertEqual(disk.descendant("device", "controllerKey")?.text, "1000")
        XCTAssertEqual(disk.descendant("device", "unitNumber")?.text, "2", "the first free unit")

        change.devices.append(VSphereDevice(type: "VirtualSerialPort", key: 9000, controllerKey: 400, unitNumber: 0))
        change.dataDiskKiB = nil
        guard case .response(let edit) = try SOAP.read(SOAP.envelope(try change.body(vm: ManagedObjectReference(type: "VirtualMachine", value: "vm-9")))) else {
            return XCTFail()
        }
        XCTAssertEqual(edit.descendant("spec", "deviceChange", "operation")?.text, "edit")
        XCTAssertEqual(edit.descendant("spec", "deviceChange", "device", "key")?.text, "9000")

        change.dataDiskKiB = 1024
        change.devices = []
        XCTAssertThrowsError(try change.body(vm: ManagedObjectReference(type: "VirtualMachine", value: "vm-9")))
    }
}
