import SkiffPlatform
import SkiffWire

/// A network interface: a device with the addresses configured on it, its ARP cache and the
/// frames waiting for room in its transmit ring.
public final class Interface {
    public let name: String
    public let device: any NetworkDevice
    /// Starts as the device's address; frames are sent from (and accepted for) this one.
    public var macAddress: MACAddress
    /// The largest IP datagram sent in one frame; larger ones are fragmented.
    public var mtu: Int
    /// In the order added; the first address in a subnet is the preferred source for it.
    public private(set) var addresses: [IPv4CIDR] = []

    /// Position in the stack's interface list.
    let index: Int
    var arp: ARPCache<PacketBuffer>
    /// Whole frames the device refused with `.again`, oldest first.
    var transmitBacklog: [[UInt8]] = []
    /// Set while a DHCP client runs here (DHCP/DHCPClient.swift): UDP to port 68 reaches it even
    /// before the interface has an address, and so do ARP packets that conflict with its probe.
    var dhcpPort: DHCPPort?

    init(name: String, device: any NetworkDevice, index: Int, configuration: StackConfiguration) {
        self.name = name
        self.device = device
        self.index = index
        self.macAddress = device.macAddress
        self.mtu = device.mtu
        self.arp = ARPCache(timeout: configuration.arpCacheTimeout,
                            retryInterval: configuration.arpRetryInterval,
                            maxRetries: configuration.arpMaxRetries,
                            queueLimit: configuration.arpPendingPacketsPerAddress,
                            maxEntries: configuration.arpCacheMaxEntries)
    }

    public var isUp: Bool { device.isLinkUp }

    /// Datagrams wait for an ARP answer or frames for room in the transmit ring (e.g. a last
    /// message before shutdown, such as a DHCPRELEASE).
    public var hasPendingOutput: Bool { arp.nextDeadline != nil || !transmitBacklog.isEmpty }

    /// Adds `address`; false if it is already configured (with any prefix length).
    @discardableResult
    func add(_ address: IPv4CIDR) -> Bool {
        guard !hasAddress(address.address) else { return false }
        addresses.append(address)
        return true
    }

    /// Removes `address`; false if it was not configured.
    @discardableResult
    func remove(_ address: IPv4Address) -> Bool {
        let before = addresses.count
        addresses.removeAll { $0.address == address }
        return addresses.count != before
    }

    /// True if `address` is one of this interface's own addresses.
    public func hasAddress(_ address: IPv4Address) -> Bool {
        addresses.contains { $0.address == address }
    }

    /// True if `address` is the directed broadcast address of one of this interface's subnets
    /// (RFC 1122 §3.2.1.3; a /31 or /32 has none, RFC 3021).
    public func isSubnetBroadcast(_ address: IPv4Address) -> Bool {
        addresses.contains { $0.prefixLength < 31 && $0.broadcast == address }
    }

    /// The source address for a datagram to `destination` leaving here: an address whose subnet
    /// holds the destination (or the gateway), else the first address; nil if there is none.
    public func sourceAddress(toward destination: IPv4Address) -> IPv4Address? {
        addresses.first(where: { $0.contains(destination) })?.address ?? addresses.first?.address
    }
}
