import ArgumentParser
import SkiffPlatform
import SkiffStack

/// The TCP tuning flags of `skiff run hosted`, the counterparts of Linux's
/// `net.ipv4.tcp_congestion_control` and `tcp_rmem`/`tcp_wmem`.
struct TCPOptions: ParsableArguments {
    @Option(name: .customLong("tcp-congestion"), help: ArgumentHelp("Congestion control of every connection: cubic (the default), newreno or bbr (needs the peer to SACK; CUBIC otherwise).", valueName: "name"))
    var congestion: String = "cubic"

    @Option(name: .customLong("tcp-buffer"), help: ArgumentHelp("Send and receive buffer of each connection, in bytes or with K or M (default 64K; 4K to 16M), allocated when first used.", valueName: "size"))
    var buffer: String = "64K"

    @Option(name: .customLong("tcp-min-rto"), help: ArgumentHelp("The smallest retransmission timeout in milliseconds (default 1000, RFC 6298; Linux uses 200).", valueName: "ms"))
    var minimumRTO: String = "1000"

    @Option(name: .customLong("tcp-info"), help: ArgumentHelp("Every this many seconds print a `tcp:` line per connection (window, BBR model, RTT; like ss -ti); 0, the default, never.", valueName: "seconds"))
    var infoInterval: String = "0"

    /// The reporter `--tcp-info` asks for, or nil.
    func reporter() throws(CLIError) -> TCPInfoReporter? {
        let seconds = try FlagValues.integer(infoInterval, flag: "--tcp-info", in: 0...3600, meaning: "a number of seconds",
                                             note: "0 turns it off")
        return seconds == 0 ? nil : TCPInfoReporter(interval: .seconds(Int64(seconds)))
    }

    /// Applies the checked flags to `configuration`.
    func apply(to configuration: inout StackConfiguration) throws(CLIError) {
        configuration.tcpCongestionControl = try Self.algorithm(congestion)
        let size = try Self.bufferSize(buffer)
        configuration.tcpSendBufferSize = size
        configuration.tcpReceiveBufferSize = size
        configuration.tcpOutOfOrderRanges = Self.outOfOrderRanges(forBuffer: size)
        let rto = try FlagValues.integer(minimumRTO, flag: "--tcp-min-rto", in: 10...60_000,
                                         meaning: "a timeout in milliseconds")
        configuration.tcpMinimumRTO = .milliseconds(Int64(rto))
        if configuration.tcpInitialRTO < configuration.tcpMinimumRTO { configuration.tcpInitialRTO = configuration.tcpMinimumRTO }
    }

    /// Room for the holes a full window can have: one range per 16 KiB of buffer, at least 32 (the
    /// default). Too few and out-of-order segments beyond the limit are dropped, and the peer
    /// sends them again (measured through the 5%-loss relay with 4 MiB and 32: 1,079 dropped per
    /// 20 MB).
    static func outOfOrderRanges(forBuffer size: Int) -> Int { max(32, size / 16384) }

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

/// Prints `tcp:` lines (TCPConnectionInfo) for every connection at a fixed interval.
final class TCPInfoReporter {
    let interval: Interval
    private var next: Instant? = nil

    init(interval: Interval) { self.interval = interval }

    /// Prints when due; returns when to be called next.
    func step(stack: NetworkStack, now: Instant, write: (String) -> Void) -> Instant {
        guard let due = next, now < due else {
            if next != nil {
                for info in stack.tcpConnectionInfo { write("tcp: \(info.description)\n") }
            }
            next = now + interval
            return now + interval
        }
        return due
    }
}
