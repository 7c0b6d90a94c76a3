import Foundation

/// An OVA (DMTF DSP0243 OVF 1.0 §5.3): a ustar archive holding the OVF descriptor first, then the
/// manifest (`SHA256(file)= hex` lines, §5.1), then the disk: a streamOptimized VMDK.
public enum OVAImage {
    /// The virtual hardware the descriptor asks for.
    public struct Hardware: Equatable, Sendable {
        public var memoryMiB: Int
        public var nics: Int
        /// VMware virtual hardware version (the VirtualSystemType vmx-N).
        public var version: Int
        public var adapter: VMDKImage.Adapter

        public init(memoryMiB: Int = 256, nics: Int = 1, version: Int = 13, adapter: VMDKImage.Adapter = .lsilogic) {
            (self.memoryMiB, self.nics, self.version, self.adapter) = (memoryMiB, nics, version, adapter)
        }
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    /// The OVF 1.0 envelope. `diskFile`/`diskFileSize`: the VMDK member; `capacity`: the virtual
    /// disk's size in bytes.
    public static func descriptor(name: String, diskFile: String, diskFileSize: Int, capacity: Int, hardware: Hardware) -> String {
        let name = escape(name)
        var items: [String] = []
        var instance = 0
        func item(_ fields: [(String, String)]) -> Int {
            instance += 1
            // CIM_ResourceAllocationSettingData elements in schema (alphabetical) order.
            let all = (fields + [("InstanceID", String(instance))]).sorted { $0.0 < $1.0 }
            items.append("      <Item>\n" + all.map { "        <rasd:\($0.0)>\($0.1)</rasd:\($0.0)>" }.joined(separator: "\n") + "\n      </Item>")
            return instance
        }
        _ = item([("AllocationUnits", "hertz * 10^6"), ("Description", "Number of Virtual CPUs"),
                  ("ElementName", "1 virtual CPU(s)"), ("ResourceType", "3"), ("VirtualQuantity", "1")])
        _ = item([("AllocationUnits", "byte * 2^20"), ("Description", "Memory Size"),
                  ("ElementName", "\(hardware.memoryMiB)MB of memory"), ("ResourceType", "4"),
                  ("VirtualQuantity", String(hardware.memoryMiB))])
        let controller: Int
        switch hardware.adapter {
        case .lsilogic:
            controller = item([("Address", "0"), ("Description", "SCSI Controller"), ("ElementName", "SCSI Controller 0"),
                               ("ResourceSubType", "lsilogic"), ("ResourceType", "6")])
        case .ide:
            controller = item([("Address", "0"), ("Description", "IDE Controller"), ("ElementName", "IDE Controller 0"),
                               ("ResourceType", "5")])
        }
        _ = item([("AddressOnParent", "0"), ("ElementName", "Hard Disk 1"), ("HostResource", "ovf:/disk/vmdisk1"),
                  ("Parent", String(controller)), ("ResourceType", "17")])
        for nic in 0..<hardware.nics {
            _ = item([("AddressOnParent", String(7 + nic)), ("AutomaticAllocation", "true"), ("Connection", "VM Network"),
                      ("Description", "VMXNET3 ethernet adapter on &quot;VM Network&quot;"),
                      ("ElementName", "Network adapter \(nic + 1)"), ("ResourceSubType", "VMXNET3"), ("ResourceType", "10")])
        }
        _ = item([("AutomaticAllocation", "true"), ("Description", "Serial port (the Skiff console)"),
                  ("ElementName", "Serial port 1"), ("ResourceSubType", "vmware.serialport.device"), ("ResourceType", "21")])
        return """
            <?xml version="1.0" encoding="UTF-8"?>
            <Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1" \
            xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData" \
            xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData" \
            xmlns:vmw="http://www.vmware.com/schema/ovf" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
              <References>
                <File ovf:href="\(escape(diskFile))" ovf:id="file1" ovf:size="\(diskFileSize)"/>
              </References>
              <DiskSection>
                <Info>Virtual disk information</Info>
                <Disk ovf:capacity="\(capacity)" ovf:capacityAllocationUnits="byte" ovf:diskId="vmdisk1" ovf:fileRef="file1" \
            ovf:format="http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized"/>
              </DiskSection>
              <NetworkSection>
                <Info>The list of logical networks</Info>
                <Network ovf:name="VM Network">
                  <Description>The VM Network network</Description>
                </Network>
              </NetworkSection>
              <VirtualSystem ovf:id="\(name)">
                <Info>A Skiff unikernel</Info>
                <Name>\(name)</Name>
                <OperatingSystemSection ovf:id="102" vmw:osType="otherGuest64">
                  <Info>The kind of installed guest operating system</Info>
                </OperatingSystemSection>
                <VirtualHardwareSection>
                  <Info>Virtual hardware requirements</Info>
                  <System>
                    <vssd:ElementName>Virtual Hardware Family</vssd:ElementName>
                    <vssd:InstanceID>0</vssd:InstanceID>
                    <vssd:VirtualSystemIdentifier>\(name)</vssd:VirtualSystemIdentifier>
                    <vssd:VirtualSystemType>vmx-\(hardware.version)</vssd:VirtualSystemType>
                  </System>
            \(items.joined(separator: "\n"))
                </VirtualHardwareSection>
              </VirtualSystem>
            </Envelope>

            """
    }

    /// The manifest: one `SHA256(name)= hex` line per file.
    public static func manifest(_ files: [(name: String, sha256: String)]) -> String {
        files.map { "SHA256(\($0.name))= \($0.sha256)\n" }.joined()
    }

    /// Writes `<name>.ovf`, `<name>.mf`, `<name>-disk1.vmdk` into the OVA at `path`. The VMDK is
    /// written next to `path` first (its size and digest precede it in the archive), then streamed in.
    @discardableResult
    public static func convert(raw rawPath: String, to path: String, name: String, hardware: Hardware = Hardware(),
                               date: Date = Date()) throws(ImageError) -> ImageLayout {
        let raw = try RawDiskReader(path: rawPath)
        let diskName = "\(name)-disk1.vmdk", ovfName = "\(name).ovf", mfName = "\(name).mf"
        let vmdkPath = path + ".vmdk.partial"
        defer { try? FileManager.default.removeItem(atPath: vmdkPath) }
        // The descriptor names the extent file as it is inside the OVA.
        try VMDKImage.convert(raw: rawPath, to: vmdkPath, variant: .streamOptimized, adapter: hardware.adapter, extentName: diskName)
        let vmdk = try RawDiskReader(path: vmdkPath)
        var digest = SHA256()
        var offset = 0
        while offset < vmdk.size {
            let count = min(1 << 20, vmdk.size - offset)
            digest.update(try vmdk.read(at: offset, count: count))
            offset += count
        }
        let vmdkHash = SHA256.hex(digest.finish())
        let ovf = Array(descriptor(name: name, diskFile: diskName, diskFileSize: vmdk.size, capacity: raw.size, hardware: hardware).utf8)
        var ovfDigest = SHA256()
        ovfDigest.update(ovf)
        let mf = Array(manifest([(ovfName, SHA256.hex(ovfDigest.finish())), (diskName, vmdkHash)]).utf8)

        let output = try ImageOutput(path: path)
        let mtime = Int(date.timeIntervalSince1970)
        var layout = ImageLayout(sectorSize: Tar.blockSize)
        for (member, bytes) in [(ovfName, ovf), (mfName, mf)] {
            try output.write(try Tar.header(name: member, size: bytes.count, mtime: mtime))
            layout.parts.append(.init(name: member, offset: output.position, length: bytes.count))
            try output.write(bytes)
            try output.pad(to: roundUp(output.position, to: Tar.blockSize))
        }
        try output.write(try Tar.header(name: diskName, size: vmdk.size, mtime: mtime))
        layout.parts.append(.init(name: diskName, offset: output.position, length: vmdk.size))
        offset = 0
        while offset < vmdk.size {
            let count = min(1 << 20, vmdk.size - offset)
            try output.write(try vmdk.read(at: offset, count: count))
            offset += count
        }
        try output.pad(to: roundUp(output.position, to: Tar.blockSize))
        try output.write(Tar.end)
        try output.close()
        layout.totalBytes = output.position
        return layout
    }
}
