@testable import SkiffImage

/// A minimal kernel file with a multiboot v1 header (a.out kludge) at `headerOffset`: load_addr
/// 1 MiB, 0x2000 loaded bytes, bss to 0x105000, entry at 0x100100.
func syntheticKernel(headerOffset: Int = 64, fileLength: Int = 0x2400, flags: UInt32 = 0x0001_0003) -> [UInt8] {
    var file = [UInt8](repeating: 0xCC, count: fileLength)
    let magic: UInt32 = 0x1BAD_B002
    let fields: [UInt32] = [magic, flags, 0 &- (magic &+ flags), 0x10_0000 + UInt32(headerOffset), 0x10_0000, 0x10_2000,
                            0x10_5000, 0x10_0100]
    for (index, field) in fields.enumerated() { file.setLittleEndian(field, at: headerOffset + 4 * index) }
    return file
}
