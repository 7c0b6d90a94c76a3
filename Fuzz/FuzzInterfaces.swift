// libFuzzer target for Debian interfaces files (InterfacesFile.swift), compiled as one module with
// the sources of the modules it uses by Scripts/fuzz.sh.
// fuzz-modules: SkiffWire SkiffPlatform SkiffStack SkiffConfig
// Any bytes parse without trapping; an invalid stanza carries no address, a valid static one has
// one; every diagnostic names a line inside the file; the diagnostics stay bounded.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    // In bounds: libFuzzer hands over `size` readable bytes at `data`.
    let input = UnsafeRawBufferPointer(start: data, count: size)
    let file = InterfacesFile.parse(input)
    let lines = input.reduce(1) { $0 + ($1 == 0x0a ? 1 : 0) }
    if file.diagnostics.count > InterfacesFile.diagnosticLimit + 1 { fatalError("interfaces: unbounded diagnostics") }
    for diagnostic in file.diagnostics {
        if diagnostic.line < 1 || diagnostic.line > lines { fatalError("interfaces: diagnostic outside the file") }
        if let column = diagnostic.column, column < 1 { fatalError("interfaces: column before the line") }
        _ = diagnostic.description
    }
    for stanza in file.stanzas {
        if !stanza.isValid && stanza.address != nil { fatalError("interfaces: an invalid stanza kept its address") }
        if stanza.isValid && stanza.method == .staticAddress && stanza.address == nil {
            fatalError("interfaces: a valid static stanza without an address")
        }
        if let address = stanza.address, let gateway = stanza.gateway, !address.contains(gateway) {
            fatalError("interfaces: a gateway outside the subnet was accepted")
        }
    }
    return 0
}
