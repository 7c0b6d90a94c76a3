// VMware's guest RPC ("RPCI"): how a guest without VMware Tools tells the hypervisor its IP
// address. Portable and tested on the host (SkiffKernelTests/GuestRPCTests.swift against a model
// of the host side); the one instruction that reaches the hypervisor is SkiffKernelC's
// `skiff_vmware_backdoor`, used by VMwareGuest.swift on VMware only.
//
// The protocol, as VMware documents it in open-vm-tools (lib/include/backdoor_def.h,
// guest_msg_def.h) and as described at https://sites.google.com/site/chitchatvmback/backdoor:
//
// - Backdoor call: EAX = 0x564D5868 ("VMXh"), ECX = command in the low 16 bits (subcommand in the
//   high 16), EDX = port 0x5658 in the low 16 bits (a channel number in the high 16), `in eax, dx`.
//   Command 10 (GETVERSION) answers EBX = the magic on VMware. Command 30 (MESSAGE) carries
//   messages, its subcommand being the message type:
//     0 OPEN        EBX = protocol "RPCI" 0x49435052 | 0x80000000 (cookies wanted)
//                   → ECX high = status, EDX high = channel, ESI/EDI = the channel's cookies
//     1 SENDSIZE    EBX = the request's length in bytes
//     2 SENDPAYLOAD EBX = the next 4 bytes, little-endian (the last word zero-padded)
//     3 RECVSIZE    → status with DORECV (0x2) when a reply waits; EDX high = 1 (SENDSIZE),
//                   EBX = the reply's length
//     4 RECVPAYLOAD EBX = SUCCESS (1) → EDX high = 2 (SENDPAYLOAD), EBX = the next 4 bytes
//     5 RECVSTATUS  EBX = SUCCESS: the reply was taken
//     6 CLOSE
//   Every call after OPEN names the channel (EDX high) and its cookies (ESI, EDI), and succeeds
//   when the status (ECX high) has SUCCESS (0x1). CPT (0x10) means the VM was checkpointed in the
//   middle: the message is sent again on a new channel.
// - A reply starts with "1 " (done) or "0 " (failed, followed by why).
//
// The messages (the commands VMware Tools sends, in their text form):
//   `info-set guestinfo.ip 198.18.0.10` — the guest variable `ip` (vmrun readVariable <vmx>
//   guestVar ip; VMware Tools' own "broadcastIP" sets the same key);
//   `SetGuestInfo  2 198.18.0.10` — the guest info "IP address" (type 2, INFO_IPADDRESS, two
//   spaces after the command as Tools sends it), which vSphere shows as the VM's guest IP.

import SkiffWire

/// The registers of one backdoor call, in and out.
public struct BackdoorRegisters: Equatable, Sendable {
    public var eax: UInt32 = 0
    public var ebx: UInt32 = 0
    public var ecx: UInt32 = 0
    public var edx: UInt32 = 0
    public var esi: UInt32 = 0
    public var edi: UInt32 = 0

    public init(eax: UInt32 = 0, ebx: UInt32 = 0, ecx: UInt32 = 0, edx: UInt32 = 0, esi: UInt32 = 0, edi: UInt32 = 0) {
        self.eax = eax
        self.ebx = ebx
        self.ecx = ecx
        self.edx = edx
        self.esi = esi
        self.edi = edi
    }

    /// The status a message call returned (ECX's high half).
    public var messageStatus: GuestRPCStatus { GuestRPCStatus(rawValue: UInt16(truncatingIfNeeded: ecx >> 16)) }
}

/// What makes a backdoor call: the `in` instruction on VMware, a model of the host in tests.
public protocol BackdoorPort {
    mutating func call(_ registers: BackdoorRegisters) -> BackdoorRegisters
}

public enum VMwareBackdoor {
    /// "VMXh".
    public static let magic: UInt32 = 0x564D_5868
    /// "VX": the low-bandwidth port.
    public static let port: UInt16 = 0x5658

    public enum Command {
        public static let getVersion: UInt16 = 10
        public static let message: UInt16 = 30
    }

    /// A call: the magic, `command` and `subcommand` in ECX, the port and `channel` in EDX.
    public static func request(command: UInt16, subcommand: UInt16 = 0, ebx: UInt32 = 0, channel: UInt16 = 0,
                               esi: UInt32 = 0, edi: UInt32 = 0) -> BackdoorRegisters {
        BackdoorRegisters(eax: magic, ebx: ebx, ecx: UInt32(subcommand) << 16 | UInt32(command),
                          edx: UInt32(channel) << 16 | UInt32(port), esi: esi, edi: edi)
    }

    /// GETVERSION: EBX comes back as the magic on VMware.
    public static var versionRequest: BackdoorRegisters {
        request(command: Command.getVersion, ebx: ~magic)
    }

    /// The backdoor's version when `reply` to `versionRequest` shows VMware, else nil.
    public static func version(from reply: BackdoorRegisters) -> UInt32? {
        reply.ebx == magic && reply.eax != 0xFFFF_FFFF ? reply.eax : nil
    }
}

/// guest_msg_def.h: the message types (the MESSAGE command's subcommands).
public enum GuestRPCMessageType: UInt16, Sendable {
    case open = 0, sendSize, sendPayload, receiveSize, receivePayload, receiveStatus, close

    /// guest_msg_def.h's name (Embedded Swift cannot describe an enum by reflection).
    public var name: String {
        switch self {
        case .open: return "OPEN"
        case .sendSize: return "SENDSIZE"
        case .sendPayload: return "SENDPAYLOAD"
        case .receiveSize: return "RECVSIZE"
        case .receivePayload: return "RECVPAYLOAD"
        case .receiveStatus: return "RECVSTATUS"
        case .close: return "CLOSE"
        }
    }
}

/// guest_msg_def.h: the status bits of a message call.
public struct GuestRPCStatus: OptionSet, Equatable, Sendable {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let success = GuestRPCStatus(rawValue: 0x0001)
    /// A reply waits to be received.
    public static let doReceive = GuestRPCStatus(rawValue: 0x0002)
    public static let closed = GuestRPCStatus(rawValue: 0x0004)
    public static let unsent = GuestRPCStatus(rawValue: 0x0008)
    /// The VM was checkpointed during the exchange: start again.
    public static let checkpoint = GuestRPCStatus(rawValue: 0x0010)
    public static let powerOff = GuestRPCStatus(rawValue: 0x0020)
    public static let timeout = GuestRPCStatus(rawValue: 0x0040)
    public static let highBandwidth = GuestRPCStatus(rawValue: 0x0080)
}

/// Why a message did not get through.
public enum GuestRPCError: Error, Equatable, Sendable {
    /// The host refused a channel (all in use, or no RPCI here).
    case openFailed
    /// A step failed (the status has no SUCCESS, or the host's answer breaks the protocol).
    case failed(GuestRPCMessageType)
    /// The VM was checkpointed during the exchange, twice in a row.
    case checkpointed
    /// The host's reply is longer than the guest reads.
    case replyTooLong(UInt32)

    public var description: String {
        switch self {
        case .openFailed: return "the host opened no RPCI channel"
        case .failed(let step): return "the \(step.name) step failed"
        case .checkpointed: return "the VM was checkpointed during the message"
        case .replyTooLong(let length): return "a \(length)-byte reply"
        }
    }
}

/// A reply: "1 " and text when the host did it, "0 " and why when it did not.
public struct GuestRPCReply: Equatable, Sendable {
    public var succeeded: Bool
    /// The text after the status and its space.
    public var text: String

    public init(succeeded: Bool, text: String) {
        self.succeeded = succeeded
        self.text = text
    }

    /// Reads a reply's bytes: "1" or "1 text" succeeded; anything else (including an empty
    /// reply) failed, its whole text kept.
    public static func parse(_ bytes: [UInt8]) -> GuestRPCReply {
        let printable = bytes.map { $0 >= 0x20 && $0 < 0x7F ? $0 : UInt8(ascii: "?") }
        if let first = bytes.first, first == UInt8(ascii: "1") || first == UInt8(ascii: "0"),
           bytes.count == 1 || bytes[1] == UInt8(ascii: " ") {
            return GuestRPCReply(succeeded: first == UInt8(ascii: "1"),
                                 text: String(decoding: printable.dropFirst(min(2, bytes.count)), as: UTF8.self))
        }
        return GuestRPCReply(succeeded: false, text: String(decoding: printable, as: UTF8.self))
    }
}

/// One RPCI channel: open, send requests and read their replies, close.
public struct GuestRPCChannel<Port: BackdoorPort> {
    public private(set) var port: Port
    public let id: UInt16
    let cookie1: UInt32
    let cookie2: UInt32

    /// "RPCI": the channel VMware Tools' commands go over (the other, "TCLO", carries requests
    /// from the host).
    public static var rpciProtocol: UInt32 { 0x4943_5052 }
    /// GUESTMSG_FLAG_COOKIE: the channel has cookies, which every later call repeats.
    public static var cookieFlag: UInt32 { 0x8000_0000 }
    /// Replies longer than this are not read (ours are a few bytes).
    public static var replyLimit: UInt32 { 4096 }

    /// Opens a channel.
    public init(port: Port) throws(GuestRPCError) {
        var port = port
        let reply = port.call(VMwareBackdoor.request(command: VMwareBackdoor.Command.message,
                                                     subcommand: GuestRPCMessageType.open.rawValue,
                                                     ebx: Self.rpciProtocol | Self.cookieFlag))
        guard reply.messageStatus.contains(.success) else { throw .openFailed }
        self.port = port
        id = UInt16(truncatingIfNeeded: reply.edx >> 16)
        cookie1 = reply.esi
        cookie2 = reply.edi
    }

    /// A message call on this channel.
    public func request(_ type: GuestRPCMessageType, ebx: UInt32 = 0) -> BackdoorRegisters {
        VMwareBackdoor.request(command: VMwareBackdoor.Command.message, subcommand: type.rawValue, ebx: ebx,
                               channel: id, esi: cookie1, edi: cookie2)
    }

    /// The calls that send `message`: its length, then its bytes four at a time.
    public func sendRequests(_ message: [UInt8]) -> [BackdoorRegisters] {
        var calls = [request(.sendSize, ebx: UInt32(message.count))]
        for word in GuestRPC.payloadWords(message) { calls.append(request(.sendPayload, ebx: word)) }
        return calls
    }

    /// Sends `message` and reads the reply's bytes.
    public mutating func send(_ message: [UInt8]) throws(GuestRPCError) -> [UInt8] {
        for call in sendRequests(message) {
            let type: GuestRPCMessageType = call.ecx >> 16 == UInt32(GuestRPCMessageType.sendSize.rawValue) ? .sendSize : .sendPayload
            try check(port.call(call), type)
        }
        let size = port.call(request(.receiveSize))
        try check(size, .receiveSize)
        guard size.messageStatus.contains(.doReceive) else { return [] }  // no reply
        // The host announces a reply with the type it "sends": SENDSIZE, then SENDPAYLOAD.
        guard size.edx >> 16 == UInt32(GuestRPCMessageType.sendSize.rawValue) else { throw .failed(.receiveSize) }
        let length = size.ebx
        guard length <= Self.replyLimit else { throw .replyTooLong(length) }
        var reply: [UInt8] = []
        reply.reserveCapacity(Int(length))
        while reply.count < Int(length) {
            let piece = port.call(request(.receivePayload, ebx: UInt32(GuestRPCStatus.success.rawValue)))
            try check(piece, .receivePayload)
            guard piece.edx >> 16 == UInt32(GuestRPCMessageType.sendPayload.rawValue) else { throw .failed(.receivePayload) }
            for shift in stride(from: 0, to: 32, by: 8) where reply.count < Int(length) {
                reply.append(UInt8(truncatingIfNeeded: piece.ebx >> UInt32(shift)))
            }
        }
        try check(port.call(request(.receiveStatus, ebx: UInt32(GuestRPCStatus.success.rawValue))), .receiveStatus)
        return reply
    }

    /// Closes the channel (a failure is of no consequence: the host reclaims it).
    public mutating func close() {
        _ = port.call(request(.close))
    }

    private func check(_ reply: BackdoorRegisters, _ step: GuestRPCMessageType) throws(GuestRPCError) {
        let status = reply.messageStatus
        if status.contains(.checkpoint) { throw .checkpointed }
        guard status.contains(.success) else { throw .failed(step) }
    }
}

public enum GuestRPC {
    /// The message's bytes as the SENDPAYLOAD words: little-endian, the last one zero-padded.
    public static func payloadWords(_ message: [UInt8]) -> [UInt32] {
        var words: [UInt32] = []
        words.reserveCapacity((message.count + 3) / 4)
        var index = 0
        while index < message.count {
            var word: UInt32 = 0
            for byte in 0..<4 where index + byte < message.count {
                word |= UInt32(message[index + byte]) << UInt32(8 * byte)
            }
            words.append(word)
            index += 4
        }
        return words
    }

    /// Sends `message` on a channel of its own and returns the parsed reply; once more on a new
    /// channel when a checkpoint interrupted it. The channel is closed in every case.
    public static func send<Port: BackdoorPort>(_ message: String, over port: inout Port) throws(GuestRPCError) -> GuestRPCReply {
        var attempt = 0
        while true {
            attempt += 1
            var channel = try GuestRPCChannel(port: port)
            do {
                let reply = try channel.send(Array(message.utf8))
                channel.close()
                port = channel.port
                return GuestRPCReply.parse(reply)
            } catch {
                channel.close()
                port = channel.port
                if error == .checkpointed && attempt < 2 { continue }
                throw error
            }
        }
    }
}

/// What the kernel tells VMware about its network, as guest RPC messages.
public enum GuestInfo {
    /// INFO_IPADDRESS in VMware Tools' guest info types (1 is the DNS name).
    public static let ipAddressType = 2

    /// The messages that publish `ip` as the guest's address: the guest variable `guestinfo.ip`,
    /// and the guest info IP address.
    public static func messages(ip: IPv4Address) -> [String] {
        ["info-set guestinfo.ip \(ip)", "SetGuestInfo  \(ipAddressType) \(ip)"]
    }

    /// CPUID leaf 0x40000000's vendor: EBX, ECX, EDX as 12 little-endian bytes ("VMwareVMware",
    /// "KVMKVMKVM", "TCGTCGTCGTCG"); trailing NULs dropped, other unprintable bytes as '?'.
    public static func hypervisorVendor(ebx: UInt32, ecx: UInt32, edx: UInt32) -> String {
        var bytes: [UInt8] = []
        for register in [ebx, ecx, edx] {
            for shift in stride(from: 0, to: 32, by: 8) { bytes.append(UInt8(truncatingIfNeeded: register >> UInt32(shift))) }
        }
        while bytes.last == 0 { bytes.removeLast() }
        return String(decoding: bytes.map { $0 >= 0x20 && $0 < 0x7F ? $0 : UInt8(ascii: "?") }, as: UTF8.self)
    }

    /// The vendor that turns the guest info on.
    public static let vmwareVendor = "VMwareVMware"

    /// CPUID.01H:ECX bit 31: a hypervisor is present (and leaf 0x40000000 has its vendor).
    public static func hypervisorPresent(leaf1ECX: UInt32) -> Bool { leaf1ECX & (1 << 31) != 0 }
}
