import XCTest
@testable import SkiffWire

private typealias F = IPWireFixtures

final class EthernetTests: XCTestCase {
    func testUntaggedARPFrameFields() throws {
        let header = try F.arpRequestFrame.withUnsafeBytes { try EthernetHeader.parse($0) }
        XCTAssertEqual(header.destination, .broadcast)
        XCTAssertEqual(header.source, MACAddress(2, 0, 0, 0, 0, 0x0a))
        XCTAssertEqual(header.vlanTags, [])
        XCTAssertEqual(header.etherType, EtherType.arp)
        XCTAssertEqual(header.encodedLength, EthernetHeader.headerLength)
        F.arpRequestFrame.withUnsafeBytes { bytes in
            let view = EthernetView(bytes)
            XCTAssertEqual(view?.headerLength, 14)
            XCTAssertNil(view?.vlanID)
            // Link padding stays in the payload; the layer above trims it.
            XCTAssertEqual(view?.payload.count, 44)
        }
    }

    func testIEEE8021QTagDecoded() throws {
        let header = try F.vlanPingFrame.withUnsafeBytes { try EthernetHeader.parse($0) }
        XCTAssertEqual(header.vlanTags, [VLANTag(tpid: EtherType.vlan, priority: 5, dropEligible: false, vlanID: 100)])
        XCTAssertEqual(header.etherType, EtherType.ipv4)
        XCTAssertEqual(header.encodedLength, 18)
        try F.vlanPingFrame.withUnsafeBytes { bytes in
            let view = try XCTUnwrap(EthernetView(bytes))
            XCTAssertEqual(view.vlanID, 100)
            XCTAssertEqual(view.headerLength, 18)
            let ip = try XCTUnwrap(IPv4View(view.payload))
            XCTAssertEqual(ip.source, IPv4Address(198, 18, 2, 1))
            XCTAssertEqual(ip.protocolNumber, IPProtocol.icmp)
        }
    }

    func testIEEE8021adOuterTagThen8021QInnerTag() throws {
        let header = try F.qinqARPFrame.withUnsafeBytes { try EthernetHeader.parse($0) }
        XCTAssertEqual(header.vlanTags, [
            VLANTag(tpid: EtherType.qinq, priority: 0, dropEligible: true, vlanID: 200),
            VLANTag(tpid: EtherType.vlan, priority: 0, dropEligible: false, vlanID: 100),
        ])
        XCTAssertEqual(header.etherType, EtherType.arp)
        XCTAssertEqual(header.encodedLength, 22)
        try F.qinqARPFrame.withUnsafeBytes { bytes in
            let view = try XCTUnwrap(EthernetView(bytes))
            XCTAssertEqual(view.vlanID, 100, "the innermost tag is the customer VLAN")
            XCTAssertEqual(try ARPPacket.parse(view.payload).targetIP, IPv4Address(198, 18, 3, 254))
        }
    }

    func testEmitReproducesEveryCapturedHeaderByteForByte() throws {
        for (name, frame) in F.allFrames {
            let header = try frame.withUnsafeBytes { try EthernetHeader.parse($0) }
            let out = F.emitted(header.encodedLength) { header.emit(into: $0) }
            XCTAssertEqual(out, Array(frame[0..<header.encodedLength]), name)
        }
    }

    func testPrependBuildsTheCapturedTaggedFrame() throws {
        let frame = F.vlanPingFrame
        let header = try frame.withUnsafeBytes { try EthernetHeader.parse($0) }
        var packet = PacketBuffer(Array(frame[18...]))
        header.prepend(to: &packet)
        XCTAssertEqual(packet.bytes, frame)
    }

    func testThirdTagIsReportedAsTheEtherType() throws {
        // Only two tags are walked; a third TPID is left as the EtherType, so upper layers drop it.
        var frame = Array(F.qinqARPFrame[0..<12])
        frame += [0x88, 0xa8, 0x00, 0x01, 0x81, 0x00, 0x00, 0x02, 0x81, 0x00, 0x00, 0x03, 0x08, 0x00]
        let header = try frame.withUnsafeBytes { try EthernetHeader.parse($0) }
        XCTAssertEqual(header.vlanTags.count, 2)
        XCTAssertEqual(header.etherType, EtherType.vlan)
        XCTAssertEqual(F.emitted(header.encodedLength) { header.emit(into: $0) }, Array(frame[0..<22]))
    }

    func testTagControlInformationFieldWidths() {
        // IEEE 802.1Q §9.6: PCP 3 bits, DEI 1 bit, VID 12 bits.
        let tag = VLANTag(tpid: EtherType.vlan, tci: 0xffff)
        XCTAssertEqual(tag.priority, 7)
        XCTAssertTrue(tag.dropEligible)
        XCTAssertEqual(tag.vlanID, 4095)
        XCTAssertEqual(tag.tci, 0xffff)
        XCTAssertEqual(VLANTag(priority: 9, vlanID: 0x1064).tci, 0x2064, "out-of-range fields are masked")
        XCTAssertEqual(VLANTag(tpid: EtherType.vlan, tci: 0xa064), VLANTag(priority: 5, vlanID: 100))
    }

    func testEveryTruncationIsAnErrorOrAShorterHeader() {
        for (name, frame) in F.allFrames {
            let full = try? frame.withUnsafeBytes { try EthernetHeader.parse($0) }
            XCTAssertNotNil(full, name)
            for n in 0..<frame.count {
                let prefix = Array(frame[0..<n])
                do {
                    let header = try prefix.withUnsafeBytes { try EthernetHeader.parse($0) }
                    XCTAssertLessThanOrEqual(header.encodedLength, n, "\(name) at \(n)")
                    XCTAssertEqual(header, full, "\(name) at \(n): a complete header parses the same")
                } catch {
                    XCTAssertEqual(error as? EthernetParseError, .truncated, "\(name) at \(n)")
                    XCTAssertLessThan(n, full?.encodedLength ?? 0, "\(name) at \(n)")
                }
            }
        }
    }

    func testSeededRandomFramesNeverTrapAndRoundTrip() {
        var random = IPWireRandom(seed: 0x5eed_e7e7)
        var parsed = 0
        for _ in 0..<4000 {
            var frame = random.bytes(random.below(40))
            // Bias towards tags so the tag walk is exercised.
            for offset in [12, 16, 20] where frame.count >= offset + 2 && random.below(2) == 0 {
                let tpid = random.below(2) == 0 ? EtherType.vlan : EtherType.qinq
                frame[offset] = UInt8(tpid >> 8); frame[offset + 1] = UInt8(tpid & 0xff)
            }
            guard let header = try? frame.withUnsafeBytes({ try EthernetHeader.parse($0) }) else { continue }
            parsed += 1
            let out = F.emitted(header.encodedLength) { header.emit(into: $0) }
            XCTAssertEqual(out, Array(frame[0..<header.encodedLength]))
            XCTAssertEqual(try? out.withUnsafeBytes { try EthernetHeader.parse($0) }, header)
        }
        XCTAssertGreaterThan(parsed, 1000)
    }
}

/// Frames captured for the IP-layer tests (shared by the Ethernet, ARP, IPv4 and ICMPv4 tests).
///
/// Unless noted, captured with `tcpdump -U -i vA -w` in a network namespace whose veth `vA`
/// (198.18.0.1/24, 02:00:00:00:00:0a) faces a router namespace (198.18.0.254/24 on
/// 02:00:00:00:00:01, forwarding to 198.18.1.0/24 over a link with MTU 1000), Linux 6.18,
/// then converted to hex. Full Ethernet frames, without FCS.
enum IPWireFixtures {
    /// `arping -c 1 -I vA 198.18.0.254` from 198.18.0.1 (02:00:00:00:00:0a): a broadcast request,
    /// 58 bytes because arping pads its ARP packet to 44 bytes (16 zero bytes after the 28).
    static let arpRequestFrame: [UInt8] = hexBytes("""
        ffffffffffff02000000000a0806000108000604000102000000000ac6120001000000000000c61200fe000000000000
        00000000000000000000
        """)

    /// The Linux reply from 198.18.0.254 (02:00:00:00:00:01), 42 bytes (veth does not pad).
    static let arpReplyFrame: [UInt8] = hexBytes("""
        02000000000a02000000000108060001080006040002020000000001c61200fe02000000000ac6120001
        """)

    /// `ping -c 1 -p 736b696666 198.18.0.254`: echo request id 0x2699 seq 1, IPv4 id 0x787c, DF,
    /// 56 data bytes (timestamp then the pattern "skiff").
    static let pingRequestFrame: [UInt8] = hexBytes("""
        02000000000102000000000a080045000054787c400040013509c6120001c61200fe080077842699000192df026b0000
        000069420700000000006b696666736b696666736b696666736b696666736b696666736b696666736b696666736b6966
        6673
        """)

    /// Linux's echo reply to `pingRequestFrame` (IPv4 id 0x194a, no DF).
    static let pingReplyFrame: [UInt8] = hexBytes("""
        02000000000a020000000001080045000054194a00004001d43bc61200fec612000100007f842699000192df026b0000
        000069420700000000006b696666736b696666736b696666736b696666736b696666736b696666736b696666736b6966
        6673
        """)

    /// `ping -c 1 -s 4000 198.18.0.254`, fragment 0 of 3 (IPv4 id 0x78f7, offset 0).
    static let fragment0Frame: [UInt8] = hexBytes("""
        02000000000102000000000a0800450005dc78f7200040014f06c6120001c61200fe0800f98d269b000192df026b0000
        00005ff60e0000000000101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435
        363738393a3b3c3d3e3f404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f606162636465
        666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f808182838485868788898a8b8c8d8e8f909192939495
        969798999a9b9c9d9e9fa0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5
        c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5
        f6f7f8f9fafbfcfdfeff000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425
        262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f404142434445464748494a4b4c4d4e4f505152535455
        565758595a5b5c5d5e5f606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f808182838485
        868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9fa0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5
        b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0e1e2e3e4e5
        e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff000102030405060708090a0b0c0d0e0f101112131415
        161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f404142434445
        464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f606162636465666768696a6b6c6d6e6f707172737475
        767778797a7b7c7d7e7f808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9fa0a1a2a3a4a5
        a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5
        d6d7d8d9dadbdcdddedfe0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff000102030405
        060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435
        363738393a3b3c3d3e3f404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f606162636465
        666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f808182838485868788898a8b8c8d8e8f909192939495
        969798999a9b9c9d9e9fa0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5
        c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5
        f6f7f8f9fafbfcfdfeff000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425
        262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f404142434445464748494a4b4c4d4e4f505152535455
        565758595a5b5c5d5e5f606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f808182838485
        868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9fa0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5
        b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0e1e2e3e4e5
        e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff000102030405060708090a0b0c0d0e0f101112131415
        161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f404142434445
        464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f606162636465666768696a6b6c6d6e6f707172737475
        767778797a7b7c7d7e7f808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9fa0a1a2a3a4a5
        a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf
        """)

    /// `ping -c 1 -s 4000 198.18.0.254`, fragment 1 of 3 (IPv4 id 0x78f7, offset 1480).
    static let fragment1Frame: [UInt8] = hexBytes("""
        02000000000102000000000a0800450005dc78f720b940014e4dc6120001c61200fec0c1c2c3c4c5c6c7c8c9cacbcccd
        cecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfd
        feff000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d
        2e2f303132333435363738393a3b3c3d3e3f404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d
        5e5f606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f808182838485868788898a8b8c8d
        8e8f909192939495969798999a9b9c9d9e9fa0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbd
        bebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0e1e2e3e4e5e6e7e8e9eaebeced
        eeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d
        1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f404142434445464748494a4b4c4d
        4e4f505152535455565758595a5b5c5d5e5f606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d
        7e7f808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9fa0a1a2a3a4a5a6a7a8a9aaabacad
        aeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdd
        dedfe0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff000102030405060708090a0b0c0d
        0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d
        3e3f404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f606162636465666768696a6b6c6d
        6e6f707172737475767778797a7b7c7d7e7f808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d
        9e9fa0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccd
        cecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfd
        feff000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d
        2e2f303132333435363738393a3b3c3d3e3f404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d
        5e5f606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f808182838485868788898a8b8c8d
        8e8f909192939495969798999a9b9c9d9e9fa0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbd
        bebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0e1e2e3e4e5e6e7e8e9eaebeced
        eeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d
        1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f404142434445464748494a4b4c4d
        4e4f505152535455565758595a5b5c5d5e5f606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d
        7e7f808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9fa0a1a2a3a4a5a6a7a8a9aaabacad
        aeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdd
        dedfe0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff000102030405060708090a0b0c0d
        0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d
        3e3f404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f606162636465666768696a6b6c6d
        6e6f707172737475767778797a7b7c7d7e7f8081828384858687
        """)

    /// `ping -c 1 -s 4000 198.18.0.254`, fragment 2 of 3 (IPv4 id 0x78f7, offset 2960).
    static let fragment2Frame: [UInt8] = hexBytes("""
        02000000000102000000000a08004500042c78f7017240016f44c6120001c61200fe88898a8b8c8d8e8f909192939495
        969798999a9b9c9d9e9fa0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5
        c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5
        f6f7f8f9fafbfcfdfeff000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425
        262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f404142434445464748494a4b4c4d4e4f505152535455
        565758595a5b5c5d5e5f606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f808182838485
        868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9fa0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5
        b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0e1e2e3e4e5
        e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff000102030405060708090a0b0c0d0e0f101112131415
        161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f404142434445
        464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f606162636465666768696a6b6c6d6e6f707172737475
        767778797a7b7c7d7e7f808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9fa0a1a2a3a4a5
        a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5
        d6d7d8d9dadbdcdddedfe0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff000102030405
        060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435
        363738393a3b3c3d3e3f404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f606162636465
        666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f808182838485868788898a8b8c8d8e8f909192939495
        969798999a9b9c9d9e9fa0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5
        c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5
        f6f7f8f9fafbfcfdfeff000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425
        262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f404142434445464748494a4b4c4d4e4f505152535455
        565758595a5b5c5d5e5f606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f808182838485
        868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f
        """)

    /// A UDP datagram "skiff" from 198.18.0.1:40000 to 198.18.0.254:9 (closed), sent with a Python socket.
    /// Its UDP checksum field holds only the pseudo-header sum (0x8d42): veth offloads the checksum
    /// (CHECKSUM_PARTIAL), and tcpdump sees the packet before it would be completed.
    static let udpToClosedPortFrame: [UInt8] = hexBytes("""
        02000000000102000000000a080045000021a0ee400040110cbac6120001c61200fe9c400009000d8d42736b696666
        """)

    /// Linux's ICMP destination unreachable (code 3, port) for `udpToClosedPortFrame`, quoting all of it;
    /// IPv4 TOS 0xc0 (DSCP CS6, as Linux sends ICMP errors).
    static let portUnreachableFrame: [UInt8] = hexBytes("""
        02000000000a020000000001080045c0003d1a1200004001d2cac61200fec6120001030390910000000045000021a0ee
        400040110cbac6120001c61200fe9c400009000d8d42736b696666
        """)

    /// `ping -c 1 -R 198.18.1.2` (routed via 198.18.0.254): IPv4 header of 60 bytes with the options
    /// NOP, Record Route (type 7, length 39, pointer 8, first slot 198.18.0.1).
    static let recordRouteRequestFrame: [UInt8] = hexBytes("""
        02000000000102000000000a08004f00007c062340004001af13c6120001c612010201072708c6120001000000000000
        000000000000000000000000000000000000000000000000000008004bbc26c7000194df026b000000002e5e01000000
        0000101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f3031323334353637
        """)

    /// The echo reply to `recordRouteRequestFrame` with the route recorded (RR, five slots filled, EOL).
    static let recordRouteReplyFrame: [UInt8] = hexBytes("""
        02000000000a02000000000108004f00007c767a00003f01efd4c6120102c6120001072718c6120001c61201fec61201
        02c6120102c61200fe0000000000000000000000000000000000000053bc26c7000194df026b000000002e5e01000000
        0000101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f3031323334353637
        """)

    /// `ping -c 1 -M do -s 1200 198.18.1.2`: the router 198.18.0.254 (next-hop link MTU 1000) answers
    /// destination unreachable code 4 with next-hop MTU 1000 (RFC 1191 §4), quoting 548 bytes so the
    /// error is 576 bytes long (RFC 1812 §4.3.2.3).
    static let fragmentationNeededFrame: [UInt8] = hexBytes("""
        02000000000a020000000001080045c002401a3500004001d0a4c61200fec6120001030473e1000003e8450004cc0000
        40004001a909c6120001c61201020800b4bc26c9000194df026b00000000ad1109000000000010111213141516171819
        1a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f40414243444546474849
        4a4b4c4d4e4f505152535455565758595a5b5c5d5e5f606162636465666768696a6b6c6d6e6f70717273747576777879
        7a7b7c7d7e7f808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9fa0a1a2a3a4a5a6a7a8a9
        aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9
        dadbdcdddedfe0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff00010203040506070809
        0a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f30313233343536373839
        3a3b3c3d3e3f404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f60616263646566676869
        6a6b6c6d6e6f707172737475767778797a7b7c7d7e7f808182838485868788898a8b8c8d8e8f90919293949596979899
        9a9b9c9d9e9fa0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9
        cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9
        fafbfcfdfeff0001020304050607
        """)

    /// `ping -c 1 -t 1 198.18.1.2`: the router's time exceeded (code 0) quoting the whole 84-byte request.
    static let timeExceededFrame: [UInt8] = hexBytes("""
        02000000000a020000000001080045c000701a7600004001d233c61200fec61200010b00f4ff0000000045000054065a
        40000101e627c6120001c61201020800c49226cb000195df026b00000000b48301000000000010111213141516171819
        1a1b1c1d1e1f202122232425262728292a2b2c2d2e2f3031323334353637
        """)

    /// An 802.1Q-tagged (priority 5, VLAN 100) echo request. The kernel here has no 8021q, bridge or
    /// act_vlan support, so scapy built it (`Ether/Dot1Q(prio=5, vlan=100)/IP/ICMP/"skiff-vlan"`), sent it
    /// with AF_PACKET on one veth, and tcpdump captured it on the peer.
    static let vlanPingFrame: [UInt8] = hexBytes("""
        02000000000102000000000a8100a064080045000026123440004001977fc6120201c61202fe0800dcad00770001736b
        6966662d766c616e
        """)

    /// A Q-in-Q ARP request: 802.1ad outer tag (VLAN 200, DEI set) then 802.1Q inner tag (VLAN 100);
    /// built by scapy and captured as `vlanPingFrame`.
    static let qinqARPFrame: [UInt8] = hexBytes("""
        ffffffffffff02000000000a88a810c8810000640806000108000604000102000000000ac6120301000000000000c612
        03fe
        """)

    /// Every captured frame, for the truncation and chain tests.
    static let allFrames: [(name: String, bytes: [UInt8])] = [
        ("arpRequest", arpRequestFrame), ("arpReply", arpReplyFrame),
        ("pingRequest", pingRequestFrame), ("pingReply", pingReplyFrame),
        ("fragment0", fragment0Frame), ("fragment1", fragment1Frame), ("fragment2", fragment2Frame),
        ("udpToClosedPort", udpToClosedPortFrame), ("portUnreachable", portUnreachableFrame),
        ("recordRouteRequest", recordRouteRequestFrame), ("recordRouteReply", recordRouteReplyFrame),
        ("fragmentationNeeded", fragmentationNeededFrame), ("timeExceeded", timeExceededFrame),
        ("vlanPing", vlanPingFrame), ("qinqARP", qinqARPFrame),
    ]

    /// The bytes after an untagged frame's 14-byte Ethernet header.
    static func ipPacket(_ frame: [UInt8]) -> [UInt8] { Array(frame[14...]) }

    /// Decodes a hex fixture, ignoring whitespace.
    static func hexBytes(_ text: String) -> [UInt8] {
        let digits = text.utf8.compactMap { c -> UInt8? in
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
            default: return nil
            }
        }
        precondition(digits.count % 2 == 0, "odd hex fixture")
        return stride(from: 0, to: digits.count, by: 2).map { digits[$0] << 4 | digits[$0 + 1] }
    }

    /// Runs a typed-throws parser over `bytes`, keeping the typed error.
    static func result<T, E: Error>(
        _ bytes: [UInt8], _ parse: (UnsafeRawBufferPointer) throws(E) -> T
    ) -> Result<T, E> {
        bytes.withUnsafeBytes { buffer in Result { () throws(E) -> T in try parse(buffer) } }
    }

    /// Writes a value through `emit(into:)` into a fresh array of `count` bytes.
    static func emitted(_ count: Int, _ body: (UnsafeMutableRawBufferPointer) -> Void) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        out.withUnsafeMutableBytes { body($0) }
        return out
    }
}

/// SplitMix64 (Steele, Lea, Flood 2014): a tiny deterministic PRNG for seeded random inputs.
struct IPWireRandom {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
    mutating func byte() -> UInt8 { UInt8(truncatingIfNeeded: next()) }
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    mutating func bytes(_ n: Int) -> [UInt8] { (0..<n).map { _ in byte() } }
}
