// The kernel command line, split into parameters the way Linux splits it (lib/cmdline.c
// `next_arg`, kernel/params.c `parse_args`; Documentation/admin-guide/kernel-parameters.rst):
//
// - Parameters are separated by white space (space, tab, newline, vertical tab, form feed,
//   carriage return); runs of it count as one separator.
// - A parameter is `key=value` (split at its first `=`) or a bare word `key`.
// - A double quote starts or ends a quoted stretch in which white space does not separate:
//   `foo="a b"` and `"foo=a b"` are both the parameter `foo` with the value `a b`. Only the
//   quotes around a value (or around the whole parameter) are removed; quotes inside a value stay
//   (`foo=a"b c"` has the value `a"b c"`), as in Linux.
// - A bare `--` ends the kernel's parameters; what follows is for the application (Linux hands it
//   to init) and is kept in `applicationArguments`.
//
// One difference from Linux, which accepts it silently: a double quote that is never closed is an
// error, since the rest of the line would otherwise become one value.
//
// Columns count bytes of the command line's UTF-8 form from 1.

/// One parameter of the kernel command line.
public struct CommandLineParameter: Equatable, Sendable {
    /// The text before the first `=` (the whole word for a bare word), without quotes.
    public var key: String
    /// The text after the first `=`, without surrounding quotes; nil for a bare word.
    public var value: String?
    /// Where the key starts (1-based byte column).
    public var column: Int
    /// Where the value starts, after an opening quote (1-based byte column); nil for a bare word.
    /// The value's byte `i` (from 0) is at column `valueColumn + i`.
    public var valueColumn: Int?

    public init(key: String, value: String?, column: Int, valueColumn: Int?) {
        self.key = key
        self.value = value
        self.column = column
        self.valueColumn = valueColumn
    }

    /// True if the key is `name`, with `-` and `_` equivalent as in Linux (`parameq`).
    public func hasKey(_ name: String) -> Bool {
        KernelCommandLine.keysEqual(key.utf8, name.utf8)
    }
}

/// A kernel command line split into parameters (see the rules above).
public struct KernelCommandLine: Equatable, Sendable {
    /// The kernel's parameters, in order.
    public var parameters: [CommandLineParameter]
    /// The parameters after a bare `--`, in order (empty when there is none).
    public var applicationArguments: [CommandLineParameter]

    /// Splits `text`; throws only for a double quote that is not closed.
    public init(_ text: String) throws(CommandLineError) {
        let bytes = Array(text.utf8)
        var parameters: [CommandLineParameter] = []
        var afterSeparator: [CommandLineParameter] = []
        var seenSeparator = false
        var index = 0
        while true {
            while index < bytes.count && KernelCommandLine.isSpace(bytes[index]) { index += 1 }
            guard index < bytes.count else { break }
            let parameter = try KernelCommandLine.nextParameter(bytes, from: &index)
            if !seenSeparator && parameter.value == nil && parameter.key.utf8.elementsEqual("--".utf8) {
                seenSeparator = true
            } else if seenSeparator {
                afterSeparator.append(parameter)
            } else {
                parameters.append(parameter)
            }
        }
        self.parameters = parameters
        self.applicationArguments = afterSeparator
    }

    /// The parameters whose key is `name` (`-` and `_` equivalent), in order.
    public func parameters(named name: String) -> [CommandLineParameter] {
        parameters.filter { $0.hasKey(name) }
    }

    /// True if a bare word `name` is present (a flag such as `skiff.verbose`).
    public func hasFlag(_ name: String) -> Bool {
        parameters.contains { $0.value == nil && $0.hasKey(name) }
    }

    // MARK: Splitting

    /// Linux's `isspace` in the C locale.
    static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || (byte >= 0x09 && byte <= 0x0d)
    }

    static func keysEqual(_ a: String.UTF8View, _ b: String.UTF8View) -> Bool {
        guard a.count == b.count else { return false }
        for (x, y) in zip(a, b) {
            let dash = UInt8(ascii: "-"), underscore = UInt8(ascii: "_")
            let x1 = x == dash ? underscore : x
            let y1 = y == dash ? underscore : y
            if x1 != y1 { return false }
        }
        return true
    }

    /// Reads the parameter starting at `index` (not white space) and moves `index` past it.
    static func nextParameter(_ bytes: [UInt8], from index: inout Int) throws(CommandLineError) -> CommandLineParameter {
        let quote = UInt8(ascii: "\"")
        let start = index
        var inQuote = false
        var lastOpenQuote = 0
        var equals: Int? = nil
        while index < bytes.count {
            let byte = bytes[index]
            if isSpace(byte) && !inQuote { break }
            if byte == quote {
                inQuote.toggle()
                if inQuote { lastOpenQuote = index }
            } else if byte == UInt8(ascii: "=") && equals == nil {
                equals = index
            }
            index += 1
        }
        if inQuote {
            throw CommandLineError(column: lastOpenQuote + 1, problem: .unterminatedQuote)
        }
        let end = index
        let quoted = bytes[start] == quote
        let keyStart = quoted ? start + 1 : start
        guard let equals, equals >= keyStart else {
            // A bare word: drop the closing quote of a quoted word.
            var keyEnd = end
            if quoted && keyEnd - 1 >= keyStart && bytes[keyEnd - 1] == quote { keyEnd -= 1 }
            return CommandLineParameter(key: text(bytes, keyStart, keyEnd), value: nil,
                                        column: keyStart + 1, valueColumn: nil)
        }
        var valueStart = equals + 1
        var valueEnd = end
        var stripClosing = quoted
        if valueStart < end && bytes[valueStart] == quote {
            valueStart += 1
            stripClosing = true
        }
        if stripClosing && valueEnd - 1 >= valueStart && bytes[valueEnd - 1] == quote { valueEnd -= 1 }
        return CommandLineParameter(key: text(bytes, keyStart, equals), value: text(bytes, valueStart, valueEnd),
                                    column: keyStart + 1, valueColumn: valueStart + 1)
    }

    /// The bytes `from..<to` as a String. The cuts are at ASCII bytes, so the UTF-8 stays valid.
    static func text(_ bytes: [UInt8], _ from: Int, _ to: Int) -> String {
        from < to ? String(decoding: bytes[from..<to], as: UTF8.self) : ""
    }
}
