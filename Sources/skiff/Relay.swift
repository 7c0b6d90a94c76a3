import ArgumentParser
import SkiffPlatform
import SkiffHosted

/// `skiff relay`: forwards Ethernet frames between two TAP devices in both directions and impairs
/// them (loss, delay, jitter, reordering, duplication, corruption, rate) with a seeded generator.
/// The kernel on test machines has no netem; the integration tests put this between two hosts.
struct Relay: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "relay",
        abstract: "Forward frames between two TAP devices, with loss, delay, reordering and duplication.",
        discussion: """
            Each direction is impaired on its own, with the same settings and its own random \
            stream derived from --seed, so a run is reproducible from the seed and the order of \
            the frames. Per frame: lost with probability --loss; one bit after the Ethernet header \
            flipped with --corrupt; sent twice with --duplicate; serialized at --rate; sent \
            --delay later, plus or minus a uniform --jitter (jitter never reorders: a frame never \
            leaves before the one that arrived before it); with --reorder, held back so that the \
            next frame of its direction overtakes it and it leaves right after that one (a swap \
            of neighbours), or in order if no frame arrives within 10 ms of its departure time. At most --limit frames (and 8 MiB) wait \
            per direction; more are dropped as overflow. Prints its counters on SIGINT, SIGTERM \
            or at the end of --duration, and exits 0. Needs root or CAP_NET_ADMIN.

            Example (tapL and tapR each bridged to a host):
              skiff relay --tap tapL --tap tapR --loss 1 --delay 20 --jitter 5 --seed 7
            """
    )

    @Option(name: .customLong("tap"), help: ArgumentHelp("A TAP interface to open or create; give exactly two.", valueName: "name"))
    var taps: [String] = []

    @Option(name: .customLong("loss"), parsing: .unconditional, help: ArgumentHelp("Drop each frame with this probability.", valueName: "percent"))
    var loss: String = "0"

    @Option(name: .customLong("delay"), parsing: .unconditional, help: ArgumentHelp("Delay every frame by this much.", valueName: "ms"))
    var delay: String = "0"

    @Option(name: .customLong("jitter"), parsing: .unconditional, help: ArgumentHelp("Add a uniform random -ms..+ms to each delay (never below zero, never reordering).", valueName: "ms"))
    var jitter: String = "0"

    @Option(name: .customLong("reorder"), parsing: .unconditional, help: ArgumentHelp("Swap each frame, with this probability, with the next one of its direction.", valueName: "percent"))
    var reorder: String = "0"

    @Option(name: .customLong("duplicate"), parsing: .unconditional, help: ArgumentHelp("Send each frame twice with this probability.", valueName: "percent"))
    var duplicate: String = "0"

    @Option(name: .customLong("corrupt"), parsing: .unconditional, help: ArgumentHelp("Flip one bit after the Ethernet header with this probability.", valueName: "percent"))
    var corrupt: String = "0"

    @Option(name: .customLong("rate"), parsing: .unconditional, help: ArgumentHelp("Limit each direction to this many kbit/s (default: unlimited).", valueName: "kbit"))
    var rate: String? = nil

    @Option(name: .customLong("limit"), parsing: .unconditional, help: ArgumentHelp("The most frames waiting per direction; more are dropped.", valueName: "frames"))
    var limit: String = "1000"

    @Option(name: .customLong("seed"), parsing: .unconditional, help: ArgumentHelp("The random seed.", valueName: "n"))
    var seed: String = "1"

    @Option(name: .customLong("duration"), parsing: .unconditional, help: ArgumentHelp("Stop after this many seconds (default: run until SIGINT or SIGTERM).", valueName: "s"))
    var duration: String? = nil

    /// The flags, checked.
    struct Settings {
        var taps: (String, String)
        var impairment: ImpairmentSettings
        var seed: UInt64
        var duration: Int?
    }

    func settings() throws(CLIError) -> Settings {
        guard taps.count >= 2 else {
            throw .usage("--tap is needed twice, once per side, e.g. --tap tapL --tap tapR")
        }
        guard taps.count == 2 else {
            throw .usage("--tap given \(taps.count) times; the relay forwards between exactly two TAP devices")
        }
        for tap in taps {
            guard TapDevice.isValidInterfaceName(tap) else {
                throw .usage("--tap \(tap): not a valid interface name (no '/', ':' or spaces)")
            }
            guard tap.utf8.count <= 15 else {
                throw .usage("--tap \(tap): longer than 15 bytes (the Linux limit for interface names)")
            }
        }
        guard taps[0] != taps[1] else {
            throw .usage("--tap \(taps[1]): given twice; the relay needs two different TAP devices")
        }
        var impairment = ImpairmentSettings()
        impairment.loss = Probability(perMillion: try FlagValues.percentage(loss, flag: "--loss"))
        impairment.reorder = Probability(perMillion: try FlagValues.percentage(reorder, flag: "--reorder"))
        impairment.duplicate = Probability(perMillion: try FlagValues.percentage(duplicate, flag: "--duplicate"))
        impairment.corrupt = Probability(perMillion: try FlagValues.percentage(corrupt, flag: "--corrupt"))
        let delayMs = try FlagValues.integer(delay, flag: "--delay", in: 0...60_000, meaning: "a delay in milliseconds")
        let jitterMs = try FlagValues.integer(jitter, flag: "--jitter", in: 0...60_000, meaning: "a jitter in milliseconds")
        impairment.delay = .milliseconds(Int64(delayMs))
        impairment.jitter = .milliseconds(Int64(jitterMs))
        if let rate {
            impairment.rateKilobits = try FlagValues.integer(rate, flag: "--rate", in: 8...100_000_000, meaning: "a rate in kbit/s")
        }
        impairment.limitFrames = try FlagValues.integer(limit, flag: "--limit", in: 1...100_000, meaning: "a number of frames")
        let seedValue = try FlagValues.seed(seed, flag: "--seed")
        let seconds = try duration.map { (text: String) throws(CLIError) -> Int in
            try FlagValues.integer(text, flag: "--duration", in: 1...604_800, meaning: "a number of seconds")
        }
        return Settings(taps: (taps[0], taps[1]), impairment: impairment, seed: seedValue, duration: seconds)
    }

    func run() throws {
        let settings = try settings()
        // The largest MTU a TapDevice takes, so that any frame Linux hands over is forwarded.
        let left: TapDevice, right: TapDevice
        do {
            left = try TapDevice(name: settings.taps.0, mtu: 65_521)
            right = try TapDevice(name: settings.taps.1, mtu: 65_521)
        } catch {
            throw CLIError.failure(error.description)
        }
        let platform = HostedPlatform(devices: [left, right], timestamps: false)
        var forward = ImpairmentQueue(settings: settings.impairment, seed: ImpairmentQueue.seed(settings.seed, direction: 0))
        var backward = ImpairmentQueue(settings: settings.impairment, seed: ImpairmentQueue.seed(settings.seed, direction: 1))

        platform.writeLine("relay: \(left.name) <-> \(right.name) "
            + Relay.describe(settings.impairment) + ", seed \(settings.seed)")
        for device in [left, right] where device.isUpOnLinuxSide == false {
            platform.writeLine("relay: \(device.name): the Linux side is down; run 'ip link set \(device.name) up'")
        }

        let end = settings.duration.map { platform.now() + .seconds(Int64($0)) }
        var endReached = false
        // One loop for both directions: read what arrived, send what is due, sleep until the next
        // frame, the next departure, the end of --duration or a stop signal.
        while !platform.shouldStop {
            let now = platform.now()
            if let end, now >= end { endReached = true; break }
            _ = left.receive(budget: 64) { forward.offer($0, now: now) }
            _ = right.receive(budget: 64) { backward.offer($0, now: now) }
            // In bounds: transmit hands `fill` a buffer of exactly frame.count bytes (or refuses).
            let forwardNext = forward.poll(now: now) { frame in
                right.transmit(length: frame.count) { $0.copyMemory(from: frame) } == .ok
            }
            let backwardNext = backward.poll(now: now) { frame in
                left.transmit(length: frame.count) { $0.copyMemory(from: frame) } == .ok
            }
            platform.wait(until: [forwardNext, backwardNext, end].compactMap { $0 }.min())
        }

        let reason = endReached ? "duration \(settings.duration ?? 0) s"
            : platform.stopSignal.map { HostedPlatform.signalName($0) } ?? "stop requested"
        platform.writeLine("relay: stopping (\(reason))")
        let leftQueued = forward.discardAll()
        let rightQueued = backward.discardAll()
        platform.writeLine(Relay.counters(from: left.name, to: right.name, forward.statistics, queued: leftQueued))
        platform.writeLine(Relay.counters(from: right.name, to: left.name, backward.statistics, queued: rightQueued))
        left.close()
        right.close()
    }

    /// `loss 20%, delay 50 ms, jitter 0 ms, reorder 0%, duplicate 0%, corrupt 0%, rate unlimited, limit 1000`
    static func describe(_ s: ImpairmentSettings) -> String {
        "loss \(s.loss), delay \(s.delay.milliseconds) ms, jitter \(s.jitter.milliseconds) ms"
            + ", reorder \(s.reorder), duplicate \(s.duplicate), corrupt \(s.corrupt)"
            + ", rate " + (s.rateKilobits.map { "\($0) kbit/s" } ?? "unlimited")
            + ", limit \(s.limitFrames)"
    }

    /// One line per direction, matched by scripts:
    ///   counters: tapL->tapR received 500 frames 49000 bytes, forwarded 400 frames 39200 bytes,
    ///   dropped 100, lost 100, overflow 0, duplicated 0, reordered 0, delayed 0, corrupted 0,
    ///   send failed 0, queued 0
    static func counters(from: String, to: String, _ s: ImpairmentStatistics, queued: Int) -> String {
        "counters: \(from)->\(to) received \(s.received) frames \(s.receivedBytes) bytes"
            + ", forwarded \(s.forwarded) frames \(s.forwardedBytes) bytes"
            + ", dropped \(s.dropped), lost \(s.lost), overflow \(s.overflowed)"
            + ", duplicated \(s.duplicated), reordered \(s.reordered), delayed \(s.delayed)"
            + ", corrupted \(s.corrupted), send failed \(s.sendFailed), queued \(queued)"
    }
}
