// libFuzzer target for vSphere's XML reader and SOAP reply reading
// (Sources/SkiffDeploy/VSphere/XMLReader.swift, SOAP.swift), which Scripts/fuzz.sh compiles in with
// the portable modules' sources. The input is what a server (or anything in its place) answers.
// Reading must never trap, and must keep its promises: limits hold, a parsed tree reads back
// through the writer's escaping, a fault's line is one line.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    // In bounds: libFuzzer hands over `size` readable bytes at `data`.
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    var limits = XML.Limits()
    limits.maximumDepth = 32
    limits.maximumElements = 5_000
    if let root = try? XML.parse(bytes, limits: limits) {
        var elements = 0
        var deepest = 0
        func walk(_ element: XML.Element, _ depth: Int) {
            elements += 1
            deepest = max(deepest, depth)
            _ = element.schemaType
            _ = ManagedObjectReference(element)
            for child in element.children { walk(child, depth + 1) }
        }
        walk(root, 1)
        if elements > limits.maximumElements || deepest > limits.maximumDepth { fatalError("XML: a limit did not hold") }
        // Leaf text survives escaping and parsing again (the reader drops nothing it accepted).
        var writer = XMLWriter()
        writer.element("t", root.text)
        guard let again = try? XML.parse(writer.text) else { fatalError("XML: escaped text does not parse") }
        let kept = root.text.unicodeScalars.filter { !($0.value < 0x20 && $0 != "\t" && $0 != "\n" && $0 != "\r") && $0.value != 0xFFFE && $0.value != 0xFFFF }
        if again.text.unicodeScalars.count != kept.count { fatalError("XML: escaped text reads back different") }
    }
    switch try? SOAP.read(bytes) {
    case .fault(let fault)?:
        let line = fault.description
        if line.utf8.contains(where: { $0 == 0x0A || $0 == 0x0D }) { fatalError("SOAP: a fault line with a line break") }
    default:
        break
    }
    return 0
}
