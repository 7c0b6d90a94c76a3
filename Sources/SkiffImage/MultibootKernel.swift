/// What Skiff's boot loader needs from a kernel: the multiboot v1 header's a.out-kludge fields
/// (Multiboot 0.6.96 §3.1.1–§3.1.3), read on the host so that stage 2 only copies bytes.
public struct MultibootKernel: Equatable, Sendable {
    public static let magic: UInt32 = 0x1BAD_B002
    /// Flags bit 16: the address fields are valid (the a.out kludge).
    public static let addressFieldsFlag: UInt32 = 1 << 16
    /// Flags bit 2 asks for video mode information, which this loader does not provide.
    public static let videoModeFlag: UInt32 = 1 << 2

    /// Where the header starts in the file.
    public var headerOffset: Int
    public var headerAddress: UInt32
    public var loadAddress: UInt32
    public var loadEndAddress: UInt32
    public var bssEndAddress: UInt32
    public var entryAddress: UInt32
    /// The file offset of the byte loaded at `loadAddress`.
    public var loadOffset: Int
    /// How many file bytes are loaded (§3.1.3: load_end_addr 0 means to the end of the file).
    public var loadLength: Int
    public var fileLength: Int

    /// Finds and checks the header in the first 8192 bytes (§3.1.1: 32-bit aligned; magic +
    /// flags + checksum = 0 mod 2^32).
    public init(file: [UInt8]) throws(ImageError) {
        var found: Int?
        var offset = 0
        while offset + 12 <= min(file.count, 8192) {
            let magic = file.littleEndian32(at: offset)
            if magic == Self.magic,
               magic &+ file.littleEndian32(at: offset + 4) &+ file.littleEndian32(at: offset + 8) == 0 {
                found = offset
                break
            }
            offset += 4
        }
        guard let header = found else {
            throw .notMultiboot("no multiboot v1 header in its first 8 KiB")
        }
        let flags = file.littleEndian32(at: header + 4)
        guard flags & Self.addressFieldsFlag != 0, header + 32 <= file.count else {
            throw .notMultiboot("its multiboot header lacks the a.out kludge (flags bit 16)")
        }
        guard flags & Self.videoModeFlag == 0 else {
            throw .notMultiboot("it asks for a video mode (multiboot flags bit 2)")
        }
        headerOffset = header
        headerAddress = file.littleEndian32(at: header + 12)
        loadAddress = file.littleEndian32(at: header + 16)
        loadEndAddress = file.littleEndian32(at: header + 20)
        bssEndAddress = file.littleEndian32(at: header + 24)
        entryAddress = file.littleEndian32(at: header + 28)
        fileLength = file.count

        // §3.1.3: header_addr corresponds to the header's file offset; load_addr lies at or below it.
        guard headerAddress >= loadAddress, Int(headerAddress - loadAddress) <= header else {
            throw .notMultiboot("load_addr lies after header_addr or before the file's start")
        }
        loadOffset = header - Int(headerAddress - loadAddress)
        if loadEndAddress == 0 {
            loadLength = file.count - loadOffset
        } else {
            guard loadEndAddress >= loadAddress else { throw .notMultiboot("load_end_addr lies below load_addr") }
            loadLength = Int(loadEndAddress - loadAddress)
            guard loadOffset + loadLength <= file.count else {
                throw .notMultiboot("load_end_addr lies beyond the end of the file")
            }
        }
        guard loadAddress >= 0x10_0000 else {
            throw .notMultiboot("load_addr 0x\(String(loadAddress, radix: 16)) is below 1 MiB, where the loader lives")
        }
        guard bssEndAddress == 0 || bssEndAddress >= loadAddress &+ UInt32(loadLength) else {
            throw .notMultiboot("bss_end_addr lies below load_end_addr")
        }
        guard entryAddress >= loadAddress, UInt64(entryAddress) < UInt64(loadAddress) + UInt64(loadLength) else {
            throw .notMultiboot("entry_addr lies outside the loaded bytes")
        }
    }

    /// One past the last byte the kernel occupies in memory (loaded bytes and bss).
    public var memoryEnd: UInt32 { max(loadAddress + UInt32(loadLength), bssEndAddress) }
}
