import Glibc
import SkiffWire
import XCTest
@testable import SkiffDeploy

extension Scratch {
    /// The first bytes of a monolithicSparse VMDK ("KDMV", version 1), as VMwareImageKind reads them.
    func vmdk(_ name: String = "app.vmdk", version: UInt8 = 1) -> String {
        var bytes = [UInt8](repeating: 0, count: 512)
        bytes[0...3] = [0x4B, 0x44, 0x4D, 0x56]
        bytes[4] = version
        return file(name, bytes)
    }

    /// An ISO 9660 image's start: 16 system sectors, then "\u{1}CD001" at byte 32768.
    func iso(_ name: String = "app.iso") -> String {
        var bytes = [UInt8](repeating: 0, count: 34_816)
        bytes[32768] = 1
        bytes[32769...32773] = [0x43, 0x44, 0x30, 0x30, 0x31]
        return file(name, bytes)
    }
}

final class VMXFileTests: XCTestCase {
    func testValuesAreQuotedAndSpecialBytesEscapedAsPipeHex() {
        // DictLL_MarshalLine: ", |, DEL and control characters but tab become |XX; UTF-8 stays.
        XCTAssertEqual(VMXFile.escape("plain name"), "plain name")
        XCTAssertEqual(VMXFile.escape("say \"hi\""), "say |22hi|22")
        XCTAssertEqual(VMXFile.escape("a|b"), "a|7Cb")
        XCTAssertEqual(VMXFile.escape("line\nnext\r"), "line|0Anext|0D")
        XCTAssertEqual(VMXFile.escape("tab\there"), "tab\there")
        XCTAssertEqual(VMXFile.escape("\u{7F}#"), "|7F#")
        XCTAssertEqual(VMXFile.escape("héllo"), "héllo")
    }

    func testEscapeRoundTripsAndAValueCannotEndEarly() {
        for value in ["x\"y", "|22", "a|b|c", "\"\n\"", "ünïcode \"|\" \u{1}"] {
            XCTAssertEqual(VMXFile.unescape(VMXFile.escape(value)), value)
            XCTAssertFalse(VMXFile.escape(value).contains("\""))
            XCTAssertFalse(VMXFile.escape(value).contains("\n"))
        }
        var file = VMXFile()
        file["displayName"] = "evil\" bogus = \"1|"
        file["memsize"] = "256"
        XCTAssertEqual(file.text, "displayName = \"evil|22 bogus = |221|7C\"\nmemsize = \"256\"\n")
        XCTAssertEqual(VMXFile.parse(file.text), file)
    }

    func testSettingAKeyAgainReplacesItInPlace() {
        var file = VMXFile()
        file["a"] = "1"
        file["b"] = "2"
        file["a"] = "3"
        XCTAssertEqual(file.keys, ["a", "b"])
        XCTAssertEqual(file["a"], "3")
        file["a"] = nil
        XCTAssertEqual(file.keys, ["b"])
    }
}

final class VMwareMachineTests: XCTestCase {
    func machine(_ configure: (inout VMwareRunRequest) -> Void = { _ in }, image: ((Scratch) -> String)? = nil)
        throws -> (VMwareMachine, Scratch) {
        let scratch = Scratch()
        var request = VMwareRunRequest(image: image?(scratch) ?? scratch.vmdk())
        configure(&request)
        return (try request.checked(), scratch)
    }

    func assertKeys(_ vmx: VMXFile, _ expected: [String: String], file: StaticString = #filePath, line: UInt = #line) {
        for (key, value) in expected {
            XCTAssertEqual(vmx[key], value, "key \(key)", file: file, line: line)
        }
    }

    func testDefaultsVMDKOnSCSIWithOneNATNICAndTheConsoleInAFile() throws {
        let (machine, scratch) = try machine()
        XCTAssertEqual(machine.name, "app")
        XCTAssertEqual(machine.vmxPath, scratch.path + "/app.vmx")
        XCTAssertEqual(machine.serialPath, scratch.path + "/app.serial.log")
        XCTAssertEqual(machine.product, .ws)
        let vmx = machine.vmx
        XCTAssertEqual(vmx.keys.first, ".encoding")
        assertKeys(vmx, [
            ".encoding": "UTF-8", "config.version": "8", "virtualHW.version": "14", "displayName": "app",
            "guestOS": "other-64", "firmware": "bios", "memsize": "256", "numvcpus": "1", "nvram": "app.nvram",
            "scsi0.present": "TRUE", "scsi0.virtualDev": "lsilogic",
            "scsi0:0.present": "TRUE", "scsi0:0.fileName": "app.vmdk",
            "ethernet0.present": "TRUE", "ethernet0.virtualDev": "vmxnet3", "ethernet0.connectionType": "nat",
            "ethernet0.addressType": "generated", "ethernet0.startConnected": "TRUE",
            "serial0.present": "TRUE", "serial0.fileType": "file", "serial0.fileName": "app.serial.log",
            "bios.bootOrder": "hdd", "bios.hddOrder": "scsi0:0", "msg.autoAnswer": "TRUE",
        ])
        XCTAssertNil(vmx["ethernet0.address"])
        XCTAssertNil(vmx["ethernet0.vnet"])
        XCTAssertNil(vmx["ethernet1.present"])
        XCTAssertNil(vmx["ide1:0.present"])
        XCTAssertNil(vmx["scsi0:1.present"])
        XCTAssertEqual(machine.startArguments(vmrun: "/usr/bin/vmrun"),
                       ["/usr/bin/vmrun", "-T", "ws", "start", scratch.path + "/app.vmx", "nogui"])
        XCTAssertEqual(machine.listArguments(vmrun: "vmrun"), ["vmrun", "-T", "ws", "list"])
    }

    func testISOOnTheCDROMBootsFromCDAndHasNoDiskController() throws {
        let (machine, _) = try machine({ $0.product = "fusion" }, image: { $0.iso("ping.iso") })
        XCTAssertEqual(machine.bootKind, .iso)
        XCTAssertEqual(machine.name, "ping")
        let vmx = machine.vmx
        assertKeys(vmx, [
            "ide1:0.present": "TRUE", "ide1:0.deviceType": "cdrom-image", "ide1:0.fileName": "ping.iso",
            "ide1:0.startConnected": "TRUE", "bios.bootOrder": "cdrom", "serial0.fileName": "ping.serial.log",
        ])
        XCTAssertNil(vmx["scsi0.present"])
        XCTAssertNil(vmx["bios.hddOrder"])
        XCTAssertEqual(machine.startArguments(vmrun: "vmrun")[0...2], ["vmrun", "-T", "fusion"])
    }

    func testNetworksNATBridgedHostOnlyAndCustomWithStaticAndGeneratedMACs() throws {
        let (machine, _) = try machine {
            $0.networks = ["nat", "bridged", "hostonly", "custom:vmnet2", "vmnet8"]
            $0.macs = ["00:50:56:00:00:01", "00:50:56:3F:ff:fe"]
        }
        let vmx = machine.vmx
        assertKeys(vmx, [
            "ethernet0.connectionType": "nat", "ethernet0.addressType": "static", "ethernet0.address": "00:50:56:00:00:01",
            "ethernet1.connectionType": "bridged", "ethernet1.addressType": "static", "ethernet1.address": "00:50:56:3f:ff:fe",
            "ethernet2.connectionType": "hostonly", "ethernet2.addressType": "generated",
            "ethernet3.connectionType": "custom", "ethernet3.vnet": "vmnet2", "ethernet3.addressType": "generated",
            "ethernet4.connectionType": "custom", "ethernet4.vnet": "vmnet8",
        ])
        for index in 0..<5 {
            XCTAssertEqual(vmx["ethernet\(index).virtualDev"], "vmxnet3")
            XCTAssertEqual(vmx["ethernet\(index).present"], "TRUE")
        }
        XCTAssertNil(vmx["ethernet2.address"])
        XCTAssertNil(vmx["ethernet0.vnet"])
        XCTAssertNil(vmx["ethernet5.present"])
    }

    func testNoNIC() throws {
        let (machine, _) = try machine { $0.networks = ["none"] }
        XCTAssertTrue(machine.nics.isEmpty)
        XCTAssertFalse(machine.vmx.keys.contains { $0.hasPrefix("ethernet") })
    }

    func testDataDiskFollowsTheBootDiskOnItsController() throws {
        let (machine, scratch) = try machine {
            $0.dataDisk = "1G"
            $0.diskBus = "sata"
            $0.hardwareVersion = "19"
            $0.memory = "512"
            $0.cpus = "2"
        }
        XCTAssertEqual(machine.dataDiskBytes, 1 << 30)
        XCTAssertEqual(machine.dataDiskPath, scratch.path + "/app-data.vmdk")
        let vmx = machine.vmx
        assertKeys(vmx, [
            "virtualHW.version": "19", "memsize": "512", "numvcpus": "2",
            "sata0.present": "TRUE", "sata0:0.fileName": "app.vmdk", "sata0:1.present": "TRUE",
            "sata0:1.fileName": "app-data.vmdk", "bios.hddOrder": "sata0:0",
        ])
        XCTAssertNil(vmx["scsi0.present"])
        XCTAssertNil(vmx["sata0.virtualDev"])
    }

    func testDataDiskWithAnISOIsTheOnlyDiskAndTheCDStillBoots() throws {
        let (machine, _) = try machine({ $0.dataDisk = "512M"; $0.diskBus = "ide" }, image: { $0.iso() })
        assertKeys(machine.vmx, [
            "ide0.present": "TRUE", "ide0:0.fileName": "app-data.vmdk",
            "ide1:0.deviceType": "cdrom-image", "bios.bootOrder": "cdrom",
        ])
        XCTAssertEqual(machine.dataDiskBytes, 512 << 20)
    }

    func testNameWithQuoteAndPipeIsEscapedInTheFile() throws {
        let (machine, _) = try machine { $0.name = "my \"fw\"|1" }
        let text = machine.vmx.text
        XCTAssertTrue(text.contains("displayName = \"my |22fw|22|7C1\"\n"))
        XCTAssertTrue(text.contains("serial0.fileName = \"my |22fw|22|7C1.serial.log\"\n"))
        XCTAssertEqual(VMXFile.parse(text)["displayName"], "my \"fw\"|1")
        // Every line is key = "value" with exactly two quotes.
        for line in text.split(separator: "\n") {
            XCTAssertEqual(line.filter { $0 == "\"" }.count, 2, String(line))
        }
    }

    func testHardwareVersionRange() throws {
        for version in ["7", "14", "21"] {
            XCTAssertEqual(try machine { $0.hardwareVersion = version }.0.vmx["virtualHW.version"], version)
        }
        for version in ["6", "22", "x", ""] {
            XCTAssertThrowsError(try machine { $0.hardwareVersion = version }) { error in
                XCTAssertEqual((error as? DeployError)?.message, "--hardware-version \(version): not a virtual hardware version (7 to 21)")
            }
        }
        XCTAssertThrowsError(try machine { $0.diskBus = "sata"; $0.hardwareVersion = "9" }) { error in
            XCTAssertEqual((error as? DeployError)?.message, "--disk-bus sata needs --hardware-version 10 or later (given 9)")
        }
    }

    func testFlagErrorsNameTheFlagAndTheValue() {
        func message(_ configure: (inout VMwareRunRequest) -> Void) -> String? {
            do { _ = try machine(configure); return nil } catch { return (error as? DeployError)?.message }
        }
        XCTAssertEqual(message { $0.memory = "258" }, "--memory 258: VMware needs a multiple of 4 MiB")
        XCTAssertEqual(message { $0.memory = "8" }, "--memory 8: not a memory size in MiB (16 to 131072)")
        XCTAssertEqual(message { $0.cpus = "0" }, "--cpus 0: not a number of vCPUs (1 to 32)")
        XCTAssertEqual(message { $0.networks = ["wifi"] },
                       "--net wifi: not a network (nat, bridged, hostonly, custom:vmnetN or vmnetN; none for no NIC)")
        XCTAssertEqual(message { $0.networks = ["custom:vmnet256"] }?.hasPrefix("--net custom:vmnet256: not a network"), true)
        XCTAssertEqual(message { $0.networks = ["none", "nat"] }, "--net none: means no NIC at all; do not combine it with other --net")
        XCTAssertEqual(message { $0.networks = Array(repeating: "nat", count: 11) },
                       "--net: 11 NICs; a VMware virtual machine has at most 10")
        XCTAssertEqual(message { $0.macs = ["00:50:56:00:00:01", "00:50:56:00:00:02"] },
                       "--mac: given 2 times for 1 NIC; give at most one --mac per --net")
        XCTAssertEqual(message { $0.macs = ["52:54:00:12:34:56"] },
                       "--mac 52:54:00:12:34:56: VMware accepts static MAC addresses only from 00:50:56:00:00:00 to 00:50:56:3f:ff:ff")
        XCTAssertEqual(message { $0.macs = ["00:50:56:40:00:00"] }?.hasPrefix("--mac 00:50:56:40:00:00: VMware accepts"), true)
        XCTAssertEqual(message { $0.macs = ["zz"] }, "--mac zz: not a MAC address (aa:bb:cc:dd:ee:ff)")
        XCTAssertEqual(message { $0.networks = ["nat", "nat"]; $0.macs = ["00:50:56:00:00:01", "00:50:56:00:00:01"] },
                       "--mac 00:50:56:00:00:01: given twice; each NIC needs its own address")
        XCTAssertEqual(message { $0.diskBus = "nvme" }, "--disk-bus nvme: not a disk controller (scsi, sata or ide)")
        XCTAssertEqual(message { $0.product = "esx" }, "--product esx: not a VMware product (ws or fusion)")
        XCTAssertEqual(message { $0.dataDisk = "10Q" }?.hasPrefix("--disk 10Q: not a disk size"), true)
        XCTAssertEqual(message { $0.dataDisk = "3T" }?.hasPrefix("--disk 3T: not a disk size"), true)
        XCTAssertEqual(message { $0.name = "a/b" }, "--name a/b: not usable as a file name (no '/', not empty)")
    }

    func testSizes() {
        XCTAssertEqual(VMwareRunRequest.size("512M"), 512 << 20)
        XCTAssertEqual(VMwareRunRequest.size("4G"), 4 << 30)
        XCTAssertEqual(VMwareRunRequest.size("1t"), 1 << 40)
        XCTAssertEqual(VMwareRunRequest.size("1048576"), 1 << 20)
        XCTAssertEqual(VMwareRunRequest.size("64K"), 64 << 10)
        XCTAssertNil(VMwareRunRequest.size("4GiB"))
        XCTAssertNil(VMwareRunRequest.size("G"))
        XCTAssertNil(VMwareRunRequest.size("-1G"))
        XCTAssertNil(VMwareRunRequest.size("99999999999999T"))
    }

    func testImagesVMwareCannotBootNameTheFormatToBuild() {
        let scratch = Scratch()
        func message(_ path: String) -> String? {
            do { _ = try VMwareRunRequest(image: path).checked(); return nil } catch { return error.message }
        }
        let elf = scratch.kernel()
        XCTAssertEqual(message(elf), "\(elf): a kernel ELF; VMware boots a disk or CD image: build it with 'skiff build <app> --format vmdk' (a disk) or '--format iso' (a CD-ROM)")
        var mbr = [UInt8](repeating: 0, count: 1024)
        mbr[510] = 0x55
        mbr[511] = 0xAA
        let raw = scratch.file("app.img", mbr)
        XCTAssertEqual(message(raw), "\(raw): a raw disk image; VMware needs a VMDK: build it with 'skiff build <app> --format vmdk' (a disk) or '--format iso' (a CD-ROM)")
        let stream = scratch.vmdk("app.stream.vmdk", version: 3)
        XCTAssertEqual(message(stream)?.hasPrefix("\(stream): a streamOptimized VMDK (version 3)"), true)
        let qcow = scratch.file("app.qcow2", [0x51, 0x46, 0x49, 0xFB, 0, 0, 0, 3])
        XCTAssertEqual(message(qcow)?.hasPrefix("\(qcow): a qcow2 image"), true)
        let text = scratch.file("notes.txt", Array("hello".utf8))
        XCTAssertEqual(message(text)?.hasPrefix("\(text): not a VMDK or ISO image"), true)
        XCTAssertEqual(message(scratch.path + "/absent.vmdk"),
                       "\(scratch.path)/absent.vmdk: no such file (build one with 'skiff build <app> --format vmdk' or '--format iso')")
    }

    func testVMRunListOutput() {
        let output = "Total running VMs: 2\n/vms/a/app.vmx\n/vms/b/other.vmx\n"
        XCTAssertTrue(VMwareMachine.listOutput(output, contains: "/vms/a/app.vmx"))
        XCTAssertFalse(VMwareMachine.listOutput(output, contains: "/vms/a/app"))
        XCTAssertFalse(VMwareMachine.listOutput("Total running VMs: 0\n", contains: "/vms/a/app.vmx"))
    }
}

final class SerialLogFollowerTests: XCTestCase {
    func testCopiesTheFileAsItGrowsAndDrainsAfterTheVMStops() {
        let scratch = Scratch()
        let path = scratch.path + "/vm.serial.log"
        var copied: [UInt8] = []
        var checks = 0
        let end = SerialLogFollower.follow(
            path: path, pollInterval: 0.01, checkInterval: 0.02,
            output: { copied += $0 },
            isRunning: {
                checks += 1
                switch checks {
                case 1: _ = FileManager.default.createFile(atPath: path, contents: Data("first\n".utf8))
                case 2:
                    let handle = FileHandle(forWritingAtPath: path)!
                    handle.seekToEndOfFile()
                    handle.write(Data("second\n".utf8))
                    handle.closeFile()
                case 3:
                    // Written as the VM stops: still copied.
                    let handle = FileHandle(forWritingAtPath: path)!
                    handle.seekToEndOfFile()
                    handle.write(Data("last\n".utf8))
                    handle.closeFile()
                    return false
                default: break
                }
                return true
            })
        XCTAssertEqual(end, .stopped)
        XCTAssertEqual(String(decoding: copied, as: UTF8.self), "first\nsecond\nlast\n")
    }
}
