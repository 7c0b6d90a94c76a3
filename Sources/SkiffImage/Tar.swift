/// POSIX ustar (IEEE 1003.1-1988, "pax" §ustar Interchange Format): 512-byte headers, file data
/// padded to 512 bytes, two zero blocks at the end.
public enum Tar {
    public static let blockSize = 512

    /// A header for a regular file: mode 0644, owner 0/0, `mtime` seconds since the epoch.
    public static func header(name: String, size: Int, mtime: Int) throws(ImageError) -> [UInt8] {
        guard name.utf8.count <= 100 else { throw .tooLarge("tar member name \(name)") }
        guard size < 1 << 33 else { throw .tooLarge("tar member \(name)") }  // 11 octal digits
        var bytes = [UInt8](repeating: 0, count: blockSize)
        func octal(_ value: Int, at offset: Int, width: Int) {
            let digits = String(value, radix: 8)
            let text = String(repeating: "0", count: max(0, width - 1 - digits.count)) + digits
            bytes.setText(text, at: offset, length: width, pad: 0)  // NUL-terminated
        }
        bytes.setText(name, at: 0, length: 100, pad: 0)
        octal(0o644, at: 100, width: 8)
        octal(0, at: 108, width: 8)
        octal(0, at: 116, width: 8)
        octal(size, at: 124, width: 12)
        octal(mtime, at: 136, width: 12)
        bytes[156] = UInt8(ascii: "0")                       // typeflag: regular file
        bytes.setText("ustar", at: 257, length: 6, pad: 0)   // magic "ustar\0"
        bytes.setText("00", at: 263, length: 2, pad: 0)      // version
        bytes.setText("root", at: 265, length: 32, pad: 0)
        bytes.setText("root", at: 297, length: 32, pad: 0)
        // The checksum: the header's byte sum with the field as eight spaces; six octal digits, NUL, space.
        bytes.setText("        ", at: 148, length: 8)
        let sum = bytes.reduce(0) { $0 + Int($1) }
        octal(sum, at: 148, width: 7)
        bytes[155] = 0x20
        return bytes
    }

    /// Zeros that pad a member of `size` bytes to a block.
    public static func padding(after size: Int) -> Int { roundUp(size, to: blockSize) - size }

    /// The end-of-archive marker: two zero blocks.
    public static let end = [UInt8](repeating: 0, count: 2 * blockSize)
}
