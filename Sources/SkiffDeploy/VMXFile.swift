// The `.vmx` configuration file of VMware Workstation, Fusion and ESXi: one `key = "value"` per
// line, in the order written, UTF-8 when the file starts with `.encoding = "UTF-8"`.
//
// Values are always quoted. Inside the quotes VMware's dictionary format escapes a byte as `|`
// followed by two hexadecimal digits: the double quote (`|22`), the pipe itself (`|7C`), DEL and
// every control character but tab (open-vm-tools lib/dict/dictll.c, DictLL_MarshalLine: "double
// quote, pipe, 0x7F, and all control characters but tab"); bytes 0x80–0xFF stay as they are, so
// UTF-8 text reads normally. A name with `"` or `|` therefore cannot end a value early or start an
// escape that VMware would decode into something else.

/// A `.vmx` file: keys in the order they were set. Setting a key again replaces its value in place.
public struct VMXFile: Equatable, Sendable {
    public private(set) var entries: [(key: String, value: String)] = []

    public init() {}

    public static func == (l: VMXFile, r: VMXFile) -> Bool {
        l.entries.count == r.entries.count && zip(l.entries, r.entries).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    }

    public subscript(key: String) -> String? {
        get { entries.first { $0.key == key }?.value }
        set {
            if let index = entries.firstIndex(where: { $0.key == key }) {
                if let newValue { entries[index].value = newValue } else { entries.remove(at: index) }
            } else if let newValue {
                entries.append((key, newValue))
            }
        }
    }

    /// The keys, in order.
    public var keys: [String] { entries.map(\.key) }

    /// The file's text: one `key = "escaped value"` line each, LF line ends.
    public var text: String {
        var text = ""
        for (key, value) in entries {
            text += key + " = \"" + Self.escape(value) + "\"\n"
        }
        return text
    }

    /// `value` as it goes between the quotes.
    public static func escape(_ value: String) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(value.utf8.count)
        let digits = Array("0123456789ABCDEF".utf8)
        for byte in value.utf8 {
            if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "|") || byte == 0x7F || (byte < 0x20 && byte != 0x09) {
                bytes += [UInt8(ascii: "|"), digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]]
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The inverse of `escape` (`|` and two hexadecimal digits become that byte; anything else is
    /// kept); for tests and for reading a `.vmx` back.
    public static func unescape(_ text: String) -> String {
        let bytes = Array(text.utf8)
        var output: [UInt8] = []
        var index = 0
        func hexValue(_ byte: UInt8) -> UInt8? {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
            case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
            default: return nil
            }
        }
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "|"), index + 2 < bytes.count,
               let high = hexValue(bytes[index + 1]), let low = hexValue(bytes[index + 2]) {
                output.append(high << 4 | low)
                index += 3
            } else {
                output.append(bytes[index])
                index += 1
            }
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// Reads `key = "value"` lines back (values unescaped); blank lines and `#` comments are
    /// skipped, and so is any line that is not in that form.
    public static func parse(_ text: String) -> VMXFile {
        var file = VMXFile()
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            let trimmed = line.drop { $0 == " " || $0 == "\t" }
            guard !trimmed.hasPrefix("#"), let equals = trimmed.firstIndex(of: "=") else { continue }
            let key = String(trimmed[..<equals]).trimmingSpaces
            var value = String(trimmed[trimmed.index(after: equals)...]).trimmingSpaces
            if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") {
                value = String(value.dropFirst().dropLast())
            }
            file[key] = unescape(value)
        }
        return file
    }
}

extension String {
    var trimmingSpaces: String {
        var text = Substring(self)
        while let first = text.first, first == " " || first == "\t" || first == "\r" { text = text.dropFirst() }
        while let last = text.last, last == " " || last == "\t" || last == "\r" { text = text.dropLast() }
        return String(text)
    }
}
