import SkiffWire
import XCTest
@testable import SkiffKernel

/// A model of the host side of VMware's backdoor, written from the protocol's description
/// (GuestRPC.swift's header): it checks every call's magic, port, command, channel and cookies,
/// collects the requests sent over RPCI channels, and answers each with `reply`.
struct FakeVMX: BackdoorPort {
    var reply: (String) -> String = { _ in "1 " }
    var requests: [String] = []
    var calls: [BackdoorRegisters] = []
    var violations: [String] = []
    /// Open channels: id → (cookies, the request so far, its announced length, the reply left to send).
    var channels: [UInt16: Channel] = [:]
    var nextChannel: UInt16 = 3
    /// Makes the n-th call (0-based) answer with the checkpoint status.
    var checkpointAtCall: Int? = nil
    /// Refuse to open channels.
    var refuseOpen = false

    struct Channel {
        var cookies: (UInt32, UInt32)
        var request: [UInt8] = []
        var length: Int? = nil
        var reply: [UInt8] = []
        var replyOffset = 0
    }

    mutating func call(_ r: BackdoorRegisters) -> BackdoorRegisters {
        calls.append(r)
        var out = r
        guard r.eax == VMwareBackdoor.magic, r.edx & 0xFFFF == UInt32(VMwareBackdoor.port) else {
            violations.append("call without the magic or port: \(r)")
            return BackdoorRegisters(eax: 0xFFFF_FFFF)
        }
        let command = UInt16(r.ecx & 0xFFFF)
        if command == VMwareBackdoor.Command.getVersion {
            return BackdoorRegisters(eax: 6, ebx: VMwareBackdoor.magic, ecx: 4)
        }
        guard command == VMwareBackdoor.Command.message, let type = GuestRPCMessageType(rawValue: UInt16(r.ecx >> 16)) else {
            violations.append("unknown command \(r.ecx)")
            return BackdoorRegisters()
        }
        func status(_ bits: GuestRPCStatus, edxHigh: UInt16 = 0) -> BackdoorRegisters {
            out.ecx = UInt32(bits.rawValue) << 16
            out.edx = UInt32(edxHigh) << 16 | UInt32(VMwareBackdoor.port)
            return out
        }
        if let at = checkpointAtCall, calls.count - 1 == at {
            return status([.checkpoint])
        }
        if type == .open {
            guard r.ebx == 0xC943_5052 else {
                violations.append("open with protocol \(String(r.ebx, radix: 16))")
                return status([])
            }
            if refuseOpen { return status([]) }
            let id = nextChannel
            nextChannel += 1
            channels[id] = Channel(cookies: (0x1111_0000 | UInt32(id), 0x2222_0000 | UInt32(id)))
            out = status([.success], edxHigh: id)
            out.esi = channels[id]!.cookies.0
            out.edi = channels[id]!.cookies.1
            return out
        }
        let id = UInt16(r.edx >> 16)
        guard var channel = channels[id] else {
            violations.append("\(type) on channel \(id), which is not open")
            return status([])
        }
        guard r.esi == channel.cookies.0, r.edi == channel.cookies.1 else {
            violations.append("\(type) with the wrong cookies")
            return status([])
        }
        defer { if channels[id] != nil { channels[id] = channel } }
        switch type {
        case .open:
            return status([])
        case .sendSize:
            channel.length = Int(r.ebx)
            channel.request = []
            if r.ebx == 0 { finish(&channel) }
            return status([.success])
        case .sendPayload:
            guard let length = channel.length, channel.request.count < length else {
                violations.append("payload beyond the announced length")
                return status([])
            }
            for shift in stride(from: 0, to: 32, by: 8) where channel.request.count < length {
                channel.request.append(UInt8(truncatingIfNeeded: r.ebx >> UInt32(shift)))
            }
            if channel.request.count == length { finish(&channel) }
            return status([.success])
        case .receiveSize:
            guard channel.length == channel.request.count else {
                violations.append("receive before the whole request was sent")
                return status([])
            }
            out = status([.success, .doReceive], edxHigh: GuestRPCMessageType.sendSize.rawValue)
            out.ebx = UInt32(channel.reply.count)
            return out
        case .receivePayload:
            guard r.ebx == 1, channel.replyOffset < channel.reply.count else {
                violations.append("receive payload with EBX \(r.ebx) at \(channel.replyOffset) of \(channel.reply.count)")
                return status([])
            }
            var word: UInt32 = 0
            for byte in 0..<4 where channel.replyOffset + byte < channel.reply.count {
                word |= UInt32(channel.reply[channel.replyOffset + byte]) << UInt32(8 * byte)
            }
            channel.replyOffset += 4
            out = status([.success], edxHigh: GuestRPCMessageType.sendPayload.rawValue)
            out.ebx = word
            return out
        case .receiveStatus:
            if r.ebx != 1 { violations.append("receive status with EBX \(r.ebx)") }
            return status([.success])
        case .close:
            channels[id] = nil
            return status([.success])
        }
    }

    private mutating func finish(_ channel: inout Channel) {
        let text = String(decoding: channel.request, as: UTF8.self)
        requests.append(text)
        channel.reply = Array(reply(text).utf8)
        channel.replyOffset = 0
    }
}

final class GuestRPCTests: XCTestCase {
    func testBackdoorCallRegisters() {
        let call = VMwareBackdoor.request(command: 30, subcommand: 2, ebx: 0x6F66_6E69, channel: 5, esi: 7, edi: 8)
        XCTAssertEqual(call, BackdoorRegisters(eax: 0x564D_5868, ebx: 0x6F66_6E69, ecx: 0x0002_001E, edx: 0x0005_5658, esi: 7, edi: 8))
        XCTAssertEqual(VMwareBackdoor.versionRequest.ecx, 10)
        XCTAssertEqual(VMwareBackdoor.versionRequest.edx, 0x5658)
        XCTAssertEqual(VMwareBackdoor.version(from: BackdoorRegisters(eax: 6, ebx: 0x564D_5868)), 6)
        XCTAssertNil(VMwareBackdoor.version(from: BackdoorRegisters(eax: 0xFFFF_FFFF, ebx: 0)))
        XCTAssertNil(VMwareBackdoor.version(from: BackdoorRegisters(eax: 6, ebx: ~0x564D_5868)))
    }

    func testPayloadWordsAreLittleEndianAndTheLastIsZeroPadded() {
        XCTAssertEqual(GuestRPC.payloadWords(Array("info-set".utf8)), [0x6F66_6E69, 0x7465_732D])
        XCTAssertEqual(GuestRPC.payloadWords(Array("abcde".utf8)), [0x6463_6261, 0x0000_0065])
        XCTAssertEqual(GuestRPC.payloadWords([]), [])
    }

    func testOpenAsksForRPCIWithCookiesAndEveryCallRepeatsChannelAndCookies() throws {
        var vmx = FakeVMX()
        var channel = try GuestRPCChannel(port: vmx)
        XCTAssertEqual(channel.port.calls.first?.ebx, 0x4943_5052 | 0x8000_0000)
        XCTAssertEqual(channel.port.calls.first?.ecx, 0x0000_001E)
        let message = Array("info-set guestinfo.ip 198.18.0.10".utf8)
        let calls = channel.sendRequests(message)
        XCTAssertEqual(calls.count, 1 + 9)  // the length, then 33 bytes in 9 words
        XCTAssertEqual(calls[0].ecx, 0x0001_001E)
        XCTAssertEqual(calls[0].ebx, 33)
        XCTAssertEqual(calls[1].ecx, 0x0002_001E)
        XCTAssertEqual(calls[1].ebx, 0x6F66_6E69)  // "info"
        XCTAssertEqual(calls.last?.ebx, 0x30)        // "0", padded
        for call in calls {
            XCTAssertEqual(call.edx, UInt32(channel.id) << 16 | 0x5658)
            XCTAssertEqual(call.esi, 0x1111_0003)
            XCTAssertEqual(call.edi, 0x2222_0003)
        }
        let reply = try channel.send(message)
        channel.close()
        vmx = channel.port
        XCTAssertEqual(reply, Array("1 ".utf8))
        XCTAssertEqual(vmx.requests, ["info-set guestinfo.ip 198.18.0.10"])
        XCTAssertEqual(vmx.violations, [])
        XCTAssertTrue(vmx.channels.isEmpty)
        // open, size, 9 words, receive size, 1 reply word, receive status, close
        XCTAssertEqual(vmx.calls.map { $0.ecx >> 16 }, [0, 1] + Array(repeating: 2, count: 9) + [3, 4, 5, 6])
    }

    func testGuestInfoMessagesAndLongRepliesAcrossSeveralWords() throws {
        var vmx = FakeVMX()
        vmx.reply = { request in request.hasPrefix("SetGuestInfo") ? "0 Unknown command" : "1 " }
        var replies: [GuestRPCReply] = []
        for message in GuestInfo.messages(ip: IPv4Address(198, 18, 0, 10)) {
            replies.append(try GuestRPC.send(message, over: &vmx))
        }
        XCTAssertEqual(vmx.requests, ["info-set guestinfo.ip 198.18.0.10", "SetGuestInfo  2 198.18.0.10"])
        XCTAssertEqual(replies, [GuestRPCReply(succeeded: true, text: ""), GuestRPCReply(succeeded: false, text: "Unknown command")])
        XCTAssertEqual(vmx.violations, [])
        XCTAssertTrue(vmx.channels.isEmpty, "every channel is closed")
    }

    func testACheckpointMidMessageSendsItAgainOnANewChannel() throws {
        var vmx = FakeVMX()
        vmx.checkpointAtCall = 3  // open, size, payload, payload ← checkpoint
        let reply = try GuestRPC.send("info-set guestinfo.ip 10.0.0.1", over: &vmx)
        XCTAssertTrue(reply.succeeded)
        XCTAssertEqual(vmx.requests, ["info-set guestinfo.ip 10.0.0.1"])
        XCTAssertEqual(vmx.calls.filter { $0.ecx == 0x1E }.count, 2, "two opens")
        XCTAssertTrue(vmx.channels.isEmpty)
        XCTAssertEqual(vmx.violations, [])
    }

    func testARefusedChannelIsAnError() {
        var vmx = FakeVMX()
        vmx.refuseOpen = true
        XCTAssertThrowsError(try GuestRPC.send("info-set guestinfo.ip 10.0.0.1", over: &vmx)) { error in
            XCTAssertEqual(error as? GuestRPCError, .openFailed)
        }
    }

    func testReplyParsing() {
        XCTAssertEqual(GuestRPCReply.parse(Array("1 ".utf8)), GuestRPCReply(succeeded: true, text: ""))
        XCTAssertEqual(GuestRPCReply.parse(Array("1".utf8)), GuestRPCReply(succeeded: true, text: ""))
        XCTAssertEqual(GuestRPCReply.parse(Array("1 value".utf8)), GuestRPCReply(succeeded: true, text: "value"))
        XCTAssertEqual(GuestRPCReply.parse(Array("0 No value found".utf8)), GuestRPCReply(succeeded: false, text: "No value found"))
        XCTAssertEqual(GuestRPCReply.parse([]), GuestRPCReply(succeeded: false, text: ""))
        XCTAssertEqual(GuestRPCReply.parse(Array("10 x".utf8)), GuestRPCReply(succeeded: false, text: "10 x"))
        XCTAssertEqual(GuestRPCReply.parse([0x31, 0x20, 0x00, 0xFF]), GuestRPCReply(succeeded: true, text: "??"))
    }

    func testHypervisorVendorFromCPUID() {
        // "VMwareVMware": EBX "VMwa", ECX "reVM", EDX "ware".
        XCTAssertEqual(GuestInfo.hypervisorVendor(ebx: 0x6177_4D56, ecx: 0x4D56_6572, edx: 0x6572_6177), "VMwareVMware")
        // "KVMKVMKVM\0\0\0"
        XCTAssertEqual(GuestInfo.hypervisorVendor(ebx: 0x4B4D_564B, ecx: 0x564B_4D56, edx: 0x0000_004D), "KVMKVMKVM")
        XCTAssertTrue(GuestInfo.hypervisorPresent(leaf1ECX: 0x8000_0000))
        XCTAssertFalse(GuestInfo.hypervisorPresent(leaf1ECX: 0x7FFF_FFFF))
    }
}
