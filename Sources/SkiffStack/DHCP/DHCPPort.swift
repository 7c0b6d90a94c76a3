import SkiffPlatform
import SkiffWire

/// Where the stack leaves what a DHCP client on an interface needs before (and while) the interface
/// has an address: the datagrams to UDP port 68 that arrived on it, and the ARP packets that
/// conflict with the address the client is probing (RFC 5227 §2.1.1). The interface holds it
/// (`Interface.dhcpPort`) and the client reads it in `step(now:)`; it holds neither, so there is
/// no reference cycle (Embedded Swift has no weak references).
final class DHCPPort {
    /// RFC 2131 §4.1: clients receive on 68, servers on 67.
    static let clientPort: UInt16 = 68
    static let serverPort: UInt16 = 67
    /// Replies held until the client's next step; more are dropped and counted.
    static let queueLimit = 16

    struct Received {
        var payload: [UInt8]
        var source: IPv4Address
        var destination: IPv4Address
    }

    private(set) var queue: [Received] = []
    var dropped = 0
    /// The address an ARP probe is checking, nil when none is under way.
    var probedAddress: IPv4Address?
    /// The first conflict seen for `probedAddress`: who claims it.
    var conflict: (address: IPv4Address, mac: MACAddress)?

    func deliver(_ received: Received) {
        guard queue.count < DHCPPort.queueLimit else {
            dropped += 1
            return
        }
        queue.append(received)
    }

    func take() -> [Received] {
        defer { queue = [] }
        return queue
    }

    /// RFC 5227 §2.1.1: while probing, an ARP packet (request or reply) whose sender is the probed
    /// address, or an ARP probe (sender 0.0.0.0) for it from another hardware address, means the
    /// address is in use.
    func observeARP(operation: ARPOperation, senderMAC: MACAddress, senderIP: IPv4Address,
                    targetIP: IPv4Address, ourMAC: MACAddress) {
        guard let probed = probedAddress, conflict == nil, !senderMAC.isSame(as: ourMAC) else { return }
        if senderIP == probed || (operation == .request && senderIP.isUnspecified && targetIP == probed) {
            conflict = (probed, senderMAC)
        }
    }
}
