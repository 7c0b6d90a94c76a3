/// The Skiff image header: one 2048-byte block that the boot loader's stage 2 reads first (at the
/// LBA in the MBR's parameter block) and then keeps in low memory at 0x3000, so the command line
/// and module strings the multiboot information points at are this header's own bytes.
/// Sources/SkiffBootLoader/BootLoader.S reads the same offsets (H_*).
public struct ImageHeader: Equatable, Sendable {
    public static let size = 2048
    public static let magic = Array("SKIFFIMG".utf8)
    public static let version: UInt16 = 1
    public static let maxModules = 16
    /// Longest command line, in bytes, without its NUL.
    public static let maxCommandLine = 1023

    /// Byte ranges, little-endian.
    enum Field {
        static let magic = 0..<8
        static let version = 8..<10
        static let sectorSize = 10..<12          // the unit of every LBA below: 512 or 2048
        static let kernelLBA = 16..<20           // the byte loaded at load_addr
        static let loadLength = 20..<24
        static let loadAddress = 24..<28
        static let bssEnd = 28..<32
        static let entry = 32..<36
        static let kernelFileLength = 36..<40    // informative
        static let commandLine = 40..<42         // offset of the NUL-terminated command line
        static let moduleCount = 42..<44
        static let modules = 48                  // moduleEntrySize bytes each
        static let moduleEntrySize = 16          // LBA u32, length u32, string offset u16, 6 reserved
        static let strings = modules + ImageHeader.maxModules * moduleEntrySize   // 304
    }

    /// Bytes available for the command line and module strings, NULs included.
    public static let stringCapacity = size - Field.strings

    public struct Module: Equatable, Sendable {
        public var lba: UInt32
        public var length: UInt32
        /// The module's string in the multiboot module table (GRUB: the words after the file name).
        public var string: String

        public init(lba: UInt32, length: UInt32, string: String) {
            self.lba = lba
            self.length = length
            self.string = string
        }
    }

    public var sectorSize: UInt16
    public var kernelLBA: UInt32
    public var kernel: MultibootKernel
    public var commandLine: String
    public var modules: [Module]

    public init(sectorSize: UInt16, kernelLBA: UInt32, kernel: MultibootKernel, commandLine: String, modules: [Module]) {
        self.sectorSize = sectorSize
        self.kernelLBA = kernelLBA
        self.kernel = kernel
        self.commandLine = commandLine
        self.modules = modules
    }

    /// Checks what the user controls before anything is built: the command line's length, the
    /// number of modules and the strings' total size.
    public static func check(commandLine: String, moduleStrings: [String]) throws(ImageError) {
        let commandLineBytes = commandLine.utf8.count
        guard commandLineBytes <= maxCommandLine else {
            throw .commandLineTooLong(bytes: commandLineBytes, limit: maxCommandLine)
        }
        guard moduleStrings.count <= maxModules else {
            throw .tooManyModules(count: moduleStrings.count, limit: maxModules)
        }
        let total = moduleStrings.reduce(commandLineBytes + 1) { $0 + $1.utf8.count + 1 }
        guard total <= stringCapacity else { throw .stringsTooLong(bytes: total, limit: stringCapacity) }
    }

    public func encode() throws(ImageError) -> [UInt8] {
        try Self.check(commandLine: commandLine, moduleStrings: modules.map(\.string))
        var bytes = [UInt8](repeating: 0, count: Self.size)
        bytes.replaceSubrange(Field.magic, with: Self.magic)
        bytes.setLittleEndian(Self.version, at: Field.version.lowerBound)
        bytes.setLittleEndian(sectorSize, at: Field.sectorSize.lowerBound)
        bytes.setLittleEndian(kernelLBA, at: Field.kernelLBA.lowerBound)
        bytes.setLittleEndian(UInt32(kernel.loadLength), at: Field.loadLength.lowerBound)
        bytes.setLittleEndian(kernel.loadAddress, at: Field.loadAddress.lowerBound)
        bytes.setLittleEndian(kernel.bssEndAddress, at: Field.bssEnd.lowerBound)
        bytes.setLittleEndian(kernel.entryAddress, at: Field.entry.lowerBound)
        bytes.setLittleEndian(UInt32(kernel.fileLength), at: Field.kernelFileLength.lowerBound)
        bytes.setLittleEndian(UInt16(modules.count), at: Field.moduleCount.lowerBound)

        // Strings: the command line, then each module's, NUL-terminated (the array is zeroed).
        var next = Field.strings
        func place(_ text: String) -> UInt16 {
            let start = next
            // In bounds: check() limited the strings' total to stringCapacity.
            bytes.replaceSubrange(start..<start + text.utf8.count, with: Array(text.utf8))
            next += text.utf8.count + 1
            return UInt16(start)
        }
        bytes.setLittleEndian(place(commandLine), at: Field.commandLine.lowerBound)
        for (index, module) in modules.enumerated() {
            let entry = Field.modules + index * Field.moduleEntrySize
            bytes.setLittleEndian(module.lba, at: entry)
            bytes.setLittleEndian(module.length, at: entry + 4)
            bytes.setLittleEndian(place(module.string), at: entry + 8)
        }
        return bytes
    }
}
