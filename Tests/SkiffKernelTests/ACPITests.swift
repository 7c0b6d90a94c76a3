import XCTest
@testable import SkiffKernel

// Byte fixtures for the ACPI walk: RSDP → RSDT/XSDT → FADT → DSDT → \_S5_ (ACPI 6.5 §5.2, §20.2).

/// `bytes` with the byte at `index` set so that all of `bytes[range]` sums to zero.
private func fixingChecksum(_ bytes: [UInt8], at index: Int, over range: Range<Int>? = nil) -> [UInt8] {
    var result = bytes
    result[index] = 0
    let sum = result[range ?? 0..<result.count].reduce(UInt8(0)) { $0 &+ $1 }
    result[index] = 0 &- sum
    return result
}

private func little<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
    (0..<MemoryLayout<T>.size).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
}

/// A system description table: the 36-byte header (§5.2.6) and `body`, checksummed.
private func table(_ signature: String, revision: UInt8 = 1, body: [UInt8]) -> [UInt8] {
    var bytes = Array(signature.utf8) + little(UInt32(36 + body.count)) + [revision, 0]
    bytes += Array("SKIFF ".utf8) + Array("TESTTABL".utf8) + little(UInt32(1)) + Array("SKIF".utf8) + little(UInt32(1))
    precondition(bytes.count == 36)
    return fixingChecksum(bytes + body, at: 9)
}

/// An RSDP (§5.2.5.3); revision 2 adds Length, XsdtAddress and the extended checksum.
private func rsdp(revision: UInt8, rsdt: UInt32, xsdt: UInt64 = 0) -> [UInt8] {
    var bytes = Array("RSD PTR ".utf8) + [0] + Array("SKIFF ".utf8) + [revision] + little(rsdt)
    if revision >= 2 { bytes += little(UInt32(36)) + little(xsdt) + [0, 0, 0, 0] }
    // The 1.0 checksum covers the first 20 bytes; the extended one all 36 (which then include
    // 20 bytes that already sum to zero).
    bytes = fixingChecksum(bytes, at: 8, over: 0..<20)
    return revision >= 2 ? fixingChecksum(bytes, at: 32) : bytes
}

/// A FADT body (the bytes after the header) of `length` total bytes with the fields set.
private func fadt(length: Int = 276, dsdt: UInt32 = 0, xDSDT: UInt64 = 0, pm1a: UInt32 = 0, pm1b: UInt32 = 0,
                  xPM1a: (space: UInt8, address: UInt64)? = nil) -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: length)
    func put(_ value: [UInt8], at offset: Int) {
        guard offset + value.count <= length else { return }
        bytes.replaceSubrange(offset..<offset + value.count, with: value)
    }
    put(little(dsdt), at: 40)
    put(little(pm1a), at: 64)
    put(little(pm1b), at: 68)
    put(little(xDSDT), at: 140)
    if let xPM1a { put([xPM1a.space, 16, 0, 2] + little(xPM1a.address), at: 172) }
    return table("FACP", revision: length >= 244 ? 6 : 1, body: Array(bytes[36...]))
}

/// QEMU's `Name (_S5, Package (0x04) { Zero, Zero, Zero, Zero })`, as iasl encodes it.
private let qemuS5: [UInt8] = [0x08, 0x5F, 0x53, 0x35, 0x5F, 0x12, 0x06, 0x04, 0x00, 0x00, 0x00, 0x00]

private func s5(_ aml: [UInt8]) -> [UInt8]? {
    aml.withUnsafeBytes { ACPI.sleepTypesForS5(inAML: $0) }.map { [$0.a, $0.b] }
}

private func parseRSDP(_ bytes: [UInt8]) -> Result<ACPI.RootPointer, ACPIError> {
    bytes.withUnsafeBytes { buffer in Result { () throws(ACPIError) in try ACPI.parseRSDP(buffer) } }
}

private func parseFADT(_ bytes: [UInt8]) -> Result<ACPI.FADT, ACPIError> {
    bytes.withUnsafeBytes { buffer in Result { () throws(ACPIError) in try ACPI.parseFADT(buffer) } }
}

extension FakePhysicalMemory {
    func write(_ bytes: [UInt8], at address: UInt64) {
        for (index, byte) in bytes.enumerated() { buffer[Int(address - base) + index] = byte }
    }
}

/// A deterministic generator for the garbage tests.
private struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

final class ACPITests: XCTestCase {
    // MARK: \_S5_ in AML

    func testS5QEMUPackageOfFourZeros() {
        // An S3 package before it must not be taken for S5.
        let s3: [UInt8] = [0x08, 0x5F, 0x53, 0x33, 0x5F, 0x12, 0x06, 0x04, 0x01, 0x01, 0x00, 0x00]
        XCTAssertEqual(s5([0x10, 0x05] + s3 + qemuS5 + [0x5B, 0x80]), [0, 0])
    }

    func testS5BytePrefixValuesAndRootPrefix() {
        // Name (\_S5_, Package (0x02) { 0x07, 0x05 }): BytePrefix values, a root-prefixed name.
        XCTAssertEqual(s5([0x08, 0x5C, 0x5F, 0x53, 0x35, 0x5F, 0x12, 0x06, 0x02, 0x0A, 0x07, 0x0A, 0x05]), [7, 5])
        // OneOp, WordPrefix, DWordPrefix, QWordPrefix.
        XCTAssertEqual(s5([0x08, 0x5F, 0x53, 0x35, 0x5F, 0x12, 0x06, 0x02, 0x01, 0x0B, 0x03, 0x00]), [1, 3])
        XCTAssertEqual(s5([0x08, 0x5F, 0x53, 0x35, 0x5F, 0x12, 0x10, 0x02, 0x0C, 0x06, 0, 0, 0,
                           0x0E, 0x02, 0, 0, 0, 0, 0, 0, 0]), [6, 2])
    }

    func testS5MultiBytePackageLength() {
        // Two-byte PkgLength 0x4A 0x00 = 10: itself (2), NumElements, 0A 05, 0B 06 00, Zero, Zero.
        XCTAssertEqual(s5([0x08, 0x5F, 0x53, 0x35, 0x5F, 0x12, 0x4A, 0x00, 0x04, 0x0A, 0x05, 0x0B, 0x06, 0x00, 0x00, 0x00]),
                       [5, 6])
        // 0x43 0x12 = 0x123 bytes, padded: the whole package must be present, then it parses.
        let long: [UInt8] = [0x08, 0x5F, 0x53, 0x35, 0x5F, 0x12, 0x43, 0x12, 0x02, 0x0A, 0x03, 0x0A, 0x04]
        let padded = long + [UInt8](repeating: 0xA3, count: 0x123 - 7)
        XCTAssertEqual(s5(padded), [3, 4])
        XCTAssertNil(s5(Array(padded.dropLast())))
        // Four-byte PkgLength (0xC0 lead) decodes; reserved bits 5–4 in a multi-byte lead do not.
        ([0xC5, 0x34, 0x12, 0x00] as [UInt8]).withUnsafeBytes { bytes in
            XCTAssertEqual(ACPI.packageLength(in: bytes, at: 0)?.length, 0x12345)
            XCTAssertEqual(ACPI.packageLength(in: bytes, at: 0)?.size, 4)
        }
        ([0x5A, 0x00] as [UInt8]).withUnsafeBytes { XCTAssertNil(ACPI.packageLength(in: $0, at: 0)) }
        ([0x80, 0x00] as [UInt8]).withUnsafeBytes { XCTAssertNil(ACPI.packageLength(in: $0, at: 0)) }
    }

    func testS5TruncatedAtTheEnd() {
        for cut in 1..<qemuS5.count { XCTAssertNil(s5(Array(qemuS5[0..<cut])), "cut at \(cut)") }
        // A value's prefix whose bytes run past the package's end.
        XCTAssertNil(s5([0x08, 0x5F, 0x53, 0x35, 0x5F, 0x12, 0x04, 0x02, 0x00, 0x0B, 0x01, 0x00, 0x00]))
    }

    func testS5SkipsReferencesAndRejectsBadPackages() {
        // Return (_S5_) in a method body, then the definition.
        XCTAssertEqual(s5([0xA4, 0x5F, 0x53, 0x35, 0x5F] + qemuS5), [0, 0])
        // A name that is not a Package, one element, a value that does not fit SLP_TYP's 3 bits,
        // a non-constant element (a name reference).
        XCTAssertNil(s5([0x08, 0x5F, 0x53, 0x35, 0x5F, 0x0A, 0x05]))
        XCTAssertNil(s5([0x08, 0x5F, 0x53, 0x35, 0x5F, 0x12, 0x03, 0x01, 0x00]))
        XCTAssertNil(s5([0x08, 0x5F, 0x53, 0x35, 0x5F, 0x12, 0x06, 0x02, 0x0A, 0x08, 0x0A, 0x00]))
        XCTAssertNil(s5([0x08, 0x5F, 0x53, 0x35, 0x5F, 0x12, 0x07, 0x02, 0x41, 0x42, 0x43, 0x44, 0x00]))
        XCTAssertNil(s5([0x08, 0x5F, 0x53, 0x35, 0x5F, 0x12, 0x00]))
        XCTAssertNil(s5([]))
    }

    func testS5GarbageNeverTraps() {
        var random = SplitMix(state: 0x5EED)
        for round in 0..<3000 {
            var bytes = (0..<Int.random(in: 0...64, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            // Plant a plausible start so the package parser sees hostile lengths and counts.
            if round % 2 == 0 {
                let at = Int.random(in: 0...bytes.count, using: &random)
                bytes.insert(contentsOf: [0x08, 0x5F, 0x53, 0x35, 0x5F, 0x12], at: at)
            }
            if let types = s5(bytes) { XCTAssert(types[0] <= 7 && types[1] <= 7) }
            _ = parseRSDP(bytes)
            _ = parseFADT(bytes)
            _ = bytes.withUnsafeBytes { ACPI.findRSDP(in: $0) }
        }
    }

    // MARK: RSDP

    func testRSDPRevision0UsesTheRSDT() {
        XCTAssertEqual(try parseRSDP(rsdp(revision: 0, rsdt: 0x7FE_1234)).get(),
                       ACPI.RootPointer(address: 0x7FE_1234, entrySize: 4))
    }

    func testRSDPRevision2PrefersTheXSDT() {
        let bytes = rsdp(revision: 2, rsdt: 0x1000, xsdt: 0x1_2345_6000)
        XCTAssertEqual(try parseRSDP(bytes).get(), ACPI.RootPointer(address: 0x1_2345_6000, entrySize: 8))
        // A wrong extended checksum leaves the 1.0 part, whose checksum still holds: the RSDT.
        var broken = bytes
        broken[32] &+= 1
        XCTAssertEqual(try parseRSDP(broken).get(), ACPI.RootPointer(address: 0x1000, entrySize: 4))
    }

    func testRSDPChecksumAndSignatureFailures() {
        var bad = rsdp(revision: 0, rsdt: 0x1000)
        bad[19] &+= 1
        XCTAssertEqual(parseRSDP(bad), .failure(.noRSDP))
        var signature = rsdp(revision: 0, rsdt: 0x1000)
        signature[0] = UInt8(ascii: "X")
        XCTAssertEqual(parseRSDP(signature), .failure(.noRSDP))
        XCTAssertEqual(parseRSDP(Array(rsdp(revision: 0, rsdt: 0x1000)[0..<19])), .failure(.noRSDP))
        XCTAssertEqual(parseRSDP(rsdp(revision: 0, rsdt: 0)), .failure(.noRSDP))
    }

    func testFindRSDPOnlyOn16ByteBoundaries() {
        var area = [UInt8](repeating: 0xFF, count: 0x100)
        area.replaceSubrange(0x38..<0x38 + 20, with: rsdp(revision: 0, rsdt: 0x1000))
        XCTAssertNil(area.withUnsafeBytes { ACPI.findRSDP(in: $0) })
        area.replaceSubrange(0xE0..<0xE0 + 20, with: rsdp(revision: 0, rsdt: 0x1000))
        XCTAssertEqual(area.withUnsafeBytes { ACPI.findRSDP(in: $0) }, 0xE0)
        // A revision-2 RSDP cut off by the area's end after 20 bytes is found through its 1.0
        // part; after 16 bytes it is not found at all.
        var edge = [UInt8](repeating: 0, count: 0x44)
        edge.replaceSubrange(0x30..<0x44, with: rsdp(revision: 2, rsdt: 0x1000, xsdt: 0x2000)[0..<20])
        XCTAssertEqual(edge.withUnsafeBytes { ACPI.findRSDP(in: $0) }, 0x30)
        XCTAssertEqual(parseRSDP(Array(edge[0x30...])), .success(ACPI.RootPointer(address: 0x1000, entrySize: 4)))
        XCTAssertNil(Array(edge[0..<0x40]).withUnsafeBytes { ACPI.findRSDP(in: $0) })
    }

    // MARK: FADT

    func testFADTLegacyFields() {
        // An ACPI 1.0 FADT (116 bytes) has no X_ fields.
        XCTAssertEqual(try parseFADT(fadt(length: 116, dsdt: 0x7FE_0040, pm1a: 0x604)).get(),
                       ACPI.FADT(pm1aControl: 0x604, pm1bControl: 0, dsdt: 0x7FE_0040))
    }

    func testFADTExtendedFieldsWin() {
        let bytes = fadt(dsdt: 0x1000, xDSDT: 0x2000, pm1a: 0x604, pm1b: 0x608, xPM1a: (1, 0xB004))
        XCTAssertEqual(try parseFADT(bytes).get(), ACPI.FADT(pm1aControl: 0xB004, pm1bControl: 0x608, dsdt: 0x2000))
        // A memory-space GAS (space 0) is not a port: the 32-bit field is used.
        let memory = fadt(dsdt: 0x1000, pm1a: 0x604, xPM1a: (0, 0xFED0_0000))
        XCTAssertEqual(try parseFADT(memory).get(), ACPI.FADT(pm1aControl: 0x604, pm1bControl: 0, dsdt: 0x1000))
    }

    func testFADTMissingFields() {
        XCTAssertEqual(parseFADT(fadt(dsdt: 0x1000)), .failure(.noPM1aControl))
        XCTAssertEqual(parseFADT(fadt(pm1a: 0x604)), .failure(.noDSDT))
        XCTAssertEqual(parseFADT(fadt(dsdt: 0x1000, pm1a: 0x1_0000)), .failure(.noPM1aControl))
        XCTAssertEqual(parseFADT(Array(repeating: 0, count: 10)), .failure(.noPM1aControl))
    }

    // MARK: PM1 control value

    func testPM1ControlKeepsOtherBits() {
        // SCI_EN (bit 0) stays; SLP_TYP 5 goes to bits 10–12; SLP_EN is bit 13.
        XCTAssertEqual(ACPI.pm1Control(current: 0x1C01, sleepType: 5, enable: false), 0x1401)
        XCTAssertEqual(ACPI.pm1Control(current: 0x0001, sleepType: 5, enable: true), 0x3401)
        XCTAssertEqual(ACPI.pm1Control(current: 0, sleepType: 0, enable: true), 0x2000)
    }

    // MARK: The whole walk through a physical-memory window

    /// BIOS area and tables laid out as QEMU does: RSDP in 0xE0000–0xFFFFF, tables above 1 MiB.
    private func firmware(rsdpRevision: UInt8 = 0, rsdpAt: UInt64 = 0xF_5A40,
                          dsdtAML: [UInt8] = qemuS5) -> FakePhysicalMemory {
        let memory = FakePhysicalMemory(base: 0x8_0000, size: 0xA_0000)
        let dsdtAddress: UInt64 = 0x10_1000, fadtAddress: UInt64 = 0x10_2000, rootAddress: UInt64 = 0x10_3000
        memory.write(table("DSDT", body: [0x10, 0x05] + dsdtAML), at: dsdtAddress)
        memory.write(fadt(length: 116, dsdt: UInt32(dsdtAddress), pm1a: 0x604), at: fadtAddress)
        // An unrelated table first: the walk must look at signatures.
        memory.write(table("APIC", body: [1, 2, 3, 4]), at: 0x10_4000)
        if rsdpRevision >= 2 {
            memory.write(table("XSDT", body: little(UInt64(0x10_4000)) + little(UInt64(fadtAddress))), at: rootAddress)
            memory.write(rsdp(revision: 2, rsdt: 0, xsdt: rootAddress), at: rsdpAt)
        } else {
            memory.write(table("RSDT", body: little(UInt32(0x10_4000)) + little(UInt32(fadtAddress))), at: rootAddress)
            memory.write(rsdp(revision: 0, rsdt: UInt32(rootAddress)), at: rsdpAt)
        }
        return memory
    }

    private func walk(_ memory: FakePhysicalMemory, ebdaSegment: UInt16? = nil) -> Result<ACPISleepControl, ACPIError> {
        guard let address = ACPI.locateRSDP(memory: memory.window, ebdaSegment: ebdaSegment) else {
            return .failure(.noRSDP)
        }
        return Result { () throws(ACPIError) in try ACPI.sleepControl(rsdpAddress: address, memory: memory.window) }
    }

    func testWalkFindsQEMUStyleTablesThroughTheRSDT() {
        XCTAssertEqual(try walk(firmware()).get(),
                       ACPISleepControl(pm1aControl: 0x604, pm1bControl: 0, sleepTypeA: 0, sleepTypeB: 0))
    }

    func testWalkThroughTheXSDTAndTheEBDA() {
        let memory = firmware(rsdpRevision: 2, rsdpAt: 0x9_FC10,
                              dsdtAML: [0x08, 0x5F, 0x53, 0x35, 0x5F, 0x12, 0x06, 0x02, 0x0A, 0x07, 0x0A, 0x07])
        XCTAssertEqual(try walk(memory, ebdaSegment: 0x9FC0).get(),
                       ACPISleepControl(pm1aControl: 0x604, pm1bControl: 0, sleepTypeA: 7, sleepTypeB: 7))
        // Without the EBDA pointer the RSDP there is not searched for.
        XCTAssertEqual(walk(memory), .failure(.noRSDP))
    }

    func testWalkReportsBrokenTables() {
        let corrupt = firmware()
        corrupt.buffer[Int(0x10_2000 + 70 - corrupt.base)] ^= 0x40      // a FADT byte
        XCTAssertEqual(walk(corrupt), .failure(.badChecksum(address: 0x10_2000)))

        let huge = firmware()
        huge.write32(0xFFFF_FFFF, at: 0x10_1004)                          // the DSDT's length
        XCTAssertEqual(walk(huge), .failure(.badLength(address: 0x10_1000)))

        let beyond = firmware()
        beyond.write32(0x10_0000, at: 0x10_1004)                          // runs past the window
        XCTAssertEqual(walk(beyond), .failure(.unreadable(address: 0x10_1000)))

        let noS5 = firmware(dsdtAML: [0x08, 0x5F, 0x53, 0x33, 0x5F, 0x12, 0x03, 0x01, 0x00])
        XCTAssertEqual(walk(noS5), .failure(.noS5))

        let noFADT = firmware()
        noFADT.write([UInt8](repeating: 0, count: 4), at: 0x10_2000)      // FACP signature gone
        XCTAssertEqual(walk(noFADT), .failure(.noFADT))

        let noRSDP = FakePhysicalMemory(base: 0x8_0000, size: 0xA_0000)
        XCTAssertEqual(walk(noRSDP), .failure(.noRSDP))
        // An RSDP naming an address outside memory.
        XCTAssertEqual(Result { () throws(ACPIError) in
            try ACPI.sleepControl(rsdpAddress: 0x1_0000_0000, memory: noRSDP.window)
        }, .failure(.unreadable(address: 0x1_0000_0000)))
    }
}
