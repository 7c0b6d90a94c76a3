import ArgumentParser
import SkiffStack

/// The TCP tuning flags of `skiff run hosted`, the counterparts of Linux's
/// `net.ipv4.tcp_congestion_control` and `tcp_rmem`/`tcp_wmem`.
struct TCPOptions: ParsableArguments {
    @Option(name: .customLong("tcp-congestion"), help: ArgumentHelp("Congestion control of every connection: cubic (the default), newreno or bbr (needs the peer to SACK; CUBIC otherwise).", valueName: "name"))
    var congestion: String = "cubic"

    @Option(name: .customLong("tcp-buffer"), help: ArgumentHelp("Send and receive buffer of each connection, in bytes or with K or M (default 64K; 4K to 16M), allocated when first used.", valueName: "size"))
    var buffer: String = "64K"

    /// Applies the checked flags to `configuration`.
    func apply(to configuration: inout StackConfiguration) throws(CLIError) {
        configuration.tcpCongestionControl = try Self.algorithm(congestion)
        let size = try Self.bufferSize(buffer)
        configuration.tcpSendBufferSize = size
        configuration.tcpReceiveBufferSize = size
    }

    static func algorithm(_ text: String) throws(CLIError) -> TCPCongestionAlgorithm {
        switch text {
        case "cubic": return .cubic
        case "newreno", "reno": return .newReno
        case "bbr": return .bbr
        default: throw .usage("--tcp-congestion \(text): not a congestion control (cubic, newreno or bbr)")
        }
    }

    /// `65536`, `64K`, `4M`: 4 KiB to 16 MiB.
    static func bufferSize(_ text: String) throws(CLIError) -> Int {
        var digits = Substring(text)
        var unit = 1
        if let last = digits.last, last == "K" || last == "k" || last == "M" || last == "m" {
            unit = (last == "K" || last == "k") ? 1024 : 1024 * 1024
            digits = digits.dropLast()
        }
        let range = 4096...(16 << 20)
        guard !digits.isEmpty, digits.utf8.count <= 9,
              digits.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
              let value = Int(digits), range.contains(value * unit) else {
            throw .usage("--tcp-buffer \(text): not a buffer size (4K to 16M, e.g. 65536, 256K or 1M)")
        }
        return value * unit
    }
}
