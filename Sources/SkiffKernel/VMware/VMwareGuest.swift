// Telling VMware the guest's IP address without VMware Tools (GuestRPC.swift has the protocol).
// Off unless CPUID names the hypervisor "VMwareVMware" and the backdoor answers GETVERSION:
// elsewhere port 0x5658 is never touched (QEMU's vmport device emulates a part of the backdoor, so
// the CPUID check comes first). The platform publishes the primary address whenever it changes
// (`KernelPlatform.addressesChanged`, called by the stack for static addresses and DHCP leases).
#if os(none)
import SkiffKernelC
import SkiffWire

/// The backdoor instruction.
struct HardwareBackdoor: BackdoorPort {
    mutating func call(_ registers: BackdoorRegisters) -> BackdoorRegisters {
        let out = skiff_vmware_backdoor(skiff_backdoor_registers(
            eax: registers.eax, ebx: registers.ebx, ecx: registers.ecx, edx: registers.edx,
            esi: registers.esi, edi: registers.edi))
        return BackdoorRegisters(eax: out.eax, ebx: out.ebx, ecx: out.ecx, edx: out.edx, esi: out.esi, edi: out.edi)
    }
}

public enum VMwareGuest {
    public enum State: Equatable, Sendable {
        /// VMware with a working backdoor: guest info is published.
        case on(backdoorVersion: UInt32)
        /// Not VMware (the hypervisor's vendor, or nil without one), or the backdoor failed.
        case off(reason: String)
    }

    nonisolated(unsafe) private static var detected: State? = nil

    /// Detects VMware once and prints `vmware: ...` saying whether guest info is on.
    public static var state: State {
        if let detected { return detected }
        let state = detect()
        detected = state
        switch state {
        case .on(let version):
            print("vmware: backdoor version \(version), guest info on (guestinfo.ip without VMware Tools)")
        case .off(let reason):
            print("vmware: \(reason), guest info off")
        }
        return state
    }

    private static func detect() -> State {
        guard GuestInfo.hypervisorPresent(leaf1ECX: skiff_cpuid(1, 0).ecx) else { return .off(reason: "no hypervisor") }
        let leaf = skiff_cpuid(0x4000_0000, 0)
        let vendor = GuestInfo.hypervisorVendor(ebx: leaf.ebx, ecx: leaf.ecx, edx: leaf.edx)
        guard vendor == GuestInfo.vmwareVendor else { return .off(reason: "not VMware (hypervisor \"\(vendor)\")") }
        var port = HardwareBackdoor()
        guard let version = VMwareBackdoor.version(from: port.call(VMwareBackdoor.versionRequest)) else {
            return .off(reason: "VMware's CPUID but no backdoor answer")
        }
        return .on(backdoorVersion: version)
    }

    /// Publishes `ip` as the guest's address (GuestInfo.messages) and prints one line; does
    /// nothing where guest info is off. A failed message turns guest info off.
    public static func publish(ip: IPv4Address) {
        guard case .on = state else { return }
        var port = HardwareBackdoor()
        var refused: [String] = []
        for message in GuestInfo.messages(ip: ip) {
            do {
                let reply = try GuestRPC.send(message, over: &port)
                if !reply.succeeded {
                    let verb = message.split(separator: " ").first.map(String.init) ?? message
                    refused.append("\(verb): \(reply.text)")
                }
            } catch {
                detected = .off(reason: "guest RPC failed (\(error.description))")
                print("vmware: guest RPC failed (\(error.description)), guest info off")
                return
            }
        }
        if refused.isEmpty {
            print("vmware: guestinfo.ip \(ip)")
        } else {
            print("vmware: guestinfo.ip \(ip) (refused: \(refused.joined(separator: "; ")))")
        }
    }
}

extension Kernel {
    /// Tells VMware (Workstation, Fusion, ESXi) that the guest's address is `ip`, as VMware Tools
    /// would (guest variable guestinfo.ip and the guest info IP address that vSphere's
    /// `guest.ipAddress` and waitForIP read). Off, with one `vmware:` line saying so, where the
    /// hypervisor is not VMware. The platform calls it when the stack's primary address changes.
    public static func publishGuestInfo(ip: IPv4Address) {
        VMwareGuest.publish(ip: ip)
    }
}
#endif
