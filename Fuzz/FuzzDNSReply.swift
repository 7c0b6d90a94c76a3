// libFuzzer target for the stub resolver's reading of replies (Sources/SkiffStack/DNS/DNSReply.swift),
// compiled as one module with the portable modules' sources by Scripts/fuzz.sh.
// The input is a server's reply. Whether it matches a query (for the ID and question it carries,
// so the matching paths run, and for another name) and what it says must never trap, and the
// outcome must keep its promises: addresses never empty, a chain within the limit and free of
// loops, an alias with a name to ask.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    // In bounds: libFuzzer hands over `size` readable bytes at `data`.
    let input = UnsafeRawBufferPointer(start: data, count: size)
    let fallback = DNSName(labels: [Array("www".utf8), Array("skiff".utf8), Array("test".utf8)])!

    var question = fallback
    var id: UInt16 = 0
    if let header = DNSHeaderView(input) {
        id = header.id
        if let parsed = try? DNSName.parse(input, at: DNSHeaderView.headerLength) { question = parsed.name }
    }
    _ = DNSReply.matches(input, id: id, question: fallback)
    guard DNSReply.matches(input, id: id, question: question) || question == fallback else { return 0 }

    let earlier = [DNSName(labels: [Array("a".utf8), Array("test".utf8)])!]
    for maximumChain in [1, 8] {
        switch DNSReply.interpret(input, question: question, earlier: earlier, maximumChain: maximumChain) {
        case .addresses(let addresses, let chain, _):
            if addresses.isEmpty { fatalError("DNS reply: addresses outcome without addresses") }
            check(chain, question: question, earlier: earlier, maximumChain: maximumChain)
        case .alias(let chain, _):
            if chain.isEmpty { fatalError("DNS reply: alias without a target") }
            check(chain, question: question, earlier: earlier, maximumChain: maximumChain)
        case .nameError(let chain, _), .noAddress(let chain, _):
            check(chain, question: question, earlier: earlier, maximumChain: maximumChain)
        case .failure:
            break
        }
    }
    return 0
}

private func check(_ chain: [DNSName], question: DNSName, earlier: [DNSName], maximumChain: Int) {
    if earlier.count + chain.count > maximumChain { fatalError("DNS reply: chain longer than the limit") }
    var seen = earlier + [question]
    for name in chain {
        if seen.contains(name) { fatalError("DNS reply: a loop in the chain") }
        seen.append(name)
    }
}
