// libFuzzer target for boot modules (CPIOArchive.swift, Inflate.swift, InterfacesModule.swift),
// compiled as one module with the sources of the modules it uses by Scripts/fuzz.sh.
// fuzz-modules: SkiffWire SkiffPlatform SkiffStack SkiffConfig
// The bytes go to the cpio reader, to gunzip and raw inflate (with a small output limit, so a
// bomb is an error) and to the module detector, also with a gzip header in front so the fuzzer
// reaches the DEFLATE decoder and gzip'd cpio quickly. Never traps; entries lie inside the archive;
// output never exceeds the limit.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    // In bounds: libFuzzer hands over `size` readable bytes at `data`.
    let bytes = Array(UnsafeRawBufferPointer(start: data, count: size))
    let limit = 1 << 16

    if let archive = try? CPIOArchive(bytes) {
        for entry in archive.entries {
            if entry.dataOffset < 0 || entry.dataLength < 0 || entry.dataOffset + entry.dataLength > bytes.count {
                fatalError("cpio: an entry outside the archive")
            }
        }
        _ = archive.contents(at: InterfacesModule.archivePath)
    }
    if let output = try? Inflate.gunzip(bytes, limit: limit), output.count > limit {
        fatalError("gzip: output over the limit")
    }
    if let output = try? Inflate.inflate(bytes, limit: limit), output.count > limit {
        fatalError("inflate: output over the limit")
    }
    _ = try? InterfacesModule.read(bytes, module: 1, limit: limit)

    // The same bytes as the DEFLATE stream of a gzip member (no trailer check will pass, but every
    // block type is decoded first).
    let member: [UInt8] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3] + bytes
    _ = try? InterfacesModule.read(member, module: 1, limit: limit)
    return 0
}
