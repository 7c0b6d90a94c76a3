import Glibc
import SkiffWire
import SkiffPlatform

/// The signal that asked the process to stop, written by the handler; 0 while none has arrived.
/// A plain global: the handler may only touch memory that is already initialized, so
/// `HostedPlatform.init` reads it once before the handler is installed.
private var pendingStopSignal: Int32 = 0

private let stopSignalHandler: @convention(c) (Int32) -> Void = { signal in
    pendingStopSignal = signal
}

/// The platform for hosted mode: the stack and applications as a Linux process on TAP devices.
///
/// Time comes from CLOCK_MONOTONIC (the wall clock from CLOCK_REALTIME); the console is standard
/// output, each line prefixed by the seconds since start; `wait(until:)` sleeps in `pselect` on
/// the TAP descriptors until one is readable, the deadline passes, or SIGINT/SIGTERM arrives.
/// Those two signals are blocked except inside `pselect` (which unblocks them atomically), so a
/// signal can never be lost between the check and the sleep; when one arrives `wait` returns and
/// `shouldStop` becomes true. A signal that stays pending because the loop never sleeps (a flood
/// of frames) is found by `sigpending`.
public final class HostedPlatform: Platform {
    public private(set) var taps: [TapDevice] = []
    public var networkDevices: [any NetworkDevice] { taps.map { $0 } }
    /// True once SIGINT or SIGTERM arrived (or `requestStop()` was called): leave the loop.
    public private(set) var shouldStop = false
    /// The signal that stopped the loop, if one did.
    public private(set) var stopSignal: Int32? = nil
    /// Prefix console lines with `[seconds.millis]` since start.
    public var timestamps: Bool
    public let start: Instant

    private var consoleAtLineStart = true
    /// The signal mask to sleep with: the original mask without SIGINT and SIGTERM.
    private var waitMask = sigset_t()
    /// The mask and actions before `init`, restored by `deinit`.
    private var originalMask = sigset_t()
    private var originalInterruptAction = sigaction()
    private var originalTerminateAction = sigaction()
    private let handlesSignals: Bool
    private static var signalsInstalled = false

    /// - Parameter handleSignals: install the SIGINT/SIGTERM handling described above (once per
    ///   process); false leaves signal dispositions alone (tests).
    public init(devices: [TapDevice] = [], timestamps: Bool = true, handleSignals: Bool = true) {
        self.taps = devices
        self.timestamps = timestamps
        self.handlesSignals = handleSignals
        self.start = HostedPlatform.monotonicNow()
        if handleSignals {
            precondition(!HostedPlatform.signalsInstalled, "only one HostedPlatform may handle signals")
            HostedPlatform.signalsInstalled = true
            pendingStopSignal = 0  // initializes the global before the handler can run
            var stopSet = sigset_t()
            sigemptyset(&stopSet)
            sigaddset(&stopSet, SIGINT)
            sigaddset(&stopSet, SIGTERM)
            pthread_sigmask(SIG_BLOCK, &stopSet, &originalMask)
            waitMask = originalMask
            sigdelset(&waitMask, SIGINT)
            sigdelset(&waitMask, SIGTERM)
            var action = sigaction()
            action.__sigaction_handler.sa_handler = stopSignalHandler
            sigemptyset(&action.sa_mask)
            action.sa_flags = 0
            sigaction(SIGINT, &action, &originalInterruptAction)
            sigaction(SIGTERM, &action, &originalTerminateAction)
        } else {
            pthread_sigmask(SIG_SETMASK, nil, &waitMask)
        }
    }

    /// Puts the signal handling back as it was; a stop signal still pending is consumed first so
    /// that unblocking it cannot kill the process.
    deinit {
        guard handlesSignals else { return }
        var stopSet = sigset_t()
        sigemptyset(&stopSet)
        sigaddset(&stopSet, SIGINT)
        sigaddset(&stopSet, SIGTERM)
        var zero = timespec(tv_sec: 0, tv_nsec: 0)
        for _ in 0..<4 where sigtimedwait(&stopSet, nil, &zero) > 0 {}
        sigaction(SIGINT, &originalInterruptAction, nil)
        sigaction(SIGTERM, &originalTerminateAction, nil)
        pthread_sigmask(SIG_SETMASK, &originalMask, nil)
        pendingStopSignal = 0
        HostedPlatform.signalsInstalled = false
    }

    /// Adds a TAP device; `wait(until:)` watches it from now on.
    public func add(_ device: TapDevice) {
        taps.append(device)
    }

    public func now() -> Instant { HostedPlatform.monotonicNow() }

    /// CLOCK_REALTIME: the host's clock, trusted as the host keeps it (NTP and so on).
    public func wallClock() -> UnixTime? {
        var ts = timespec()
        guard clock_gettime(CLOCK_REALTIME, &ts) == 0 else { return nil }
        return UnixTime(seconds: Int64(ts.tv_sec), nanoseconds: Int32(ts.tv_nsec))
    }

    /// Eight bytes of /dev/urandom (Glibc's module map has no getrandom(2)); 0 only if the device
    /// cannot be read, which the caller cannot tell from bad luck, so that is a fatal error.
    public func randomBits() -> UInt64 {
        var value: UInt64 = 0
        let fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC)
        precondition(fd >= 0, "cannot open /dev/urandom")
        defer { close(fd) }
        var filled = 0
        while filled < 8 {
            let n = withUnsafeMutableBytes(of: &value) { bytes in
                // In bounds: filled < 8 = bytes.count.
                read(fd, bytes.baseAddress! + filled, 8 - filled)
            }
            if n > 0 { filled += n } else if n < 0 && errno == EINTR { continue } else { break }
        }
        precondition(filled == 8, "short read from /dev/urandom")
        return value
    }

    static func monotonicNow() -> Instant {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Instant(nanoseconds: Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec))
    }

    /// Writes `text` to standard output, prefixing each line with the time since start when
    /// `timestamps` is set. Unbuffered: every call reaches the terminal or log file at once.
    public func write(console text: String) {
        guard timestamps else { writeRaw(text); return }
        var out = ""
        for character in text {
            if consoleAtLineStart {
                out += timestampPrefix()
                consoleAtLineStart = false
            }
            out.append(character)
            if character == "\n" { consoleAtLineStart = true }
        }
        writeRaw(out)
    }

    /// Writes one line to standard output without a timestamp (the applied configuration and the
    /// final counters, whose format scripts rely on).
    public func writeLine(_ line: String) {
        if !consoleAtLineStart { writeRaw("\n"); consoleAtLineStart = true }
        writeRaw(line + "\n")
    }

    /// Writes one line to standard error.
    public func writeError(_ line: String) {
        HostedPlatform.writeAll(2, line + "\n")
    }

    private func writeRaw(_ text: String) {
        HostedPlatform.writeAll(1, text)
    }

    static func writeAll(_ fd: Int32, _ text: String) {
        var bytes = Array(text.utf8)
        var offset = 0
        var attempts = 0
        // Bounded: a console that accepts nothing for 1000 tries loses the rest of the line.
        while offset < bytes.count && attempts < 1000 {
            attempts += 1
            // In bounds: offset < bytes.count and we write count - offset bytes from there.
            let n = bytes.withUnsafeMutableBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n > 0 { offset += n; continue }
            if n < 0 && (errno == EINTR || errno == EAGAIN) { continue }
            return
        }
    }

    private func timestampPrefix() -> String {
        HostedPlatform.timestampPrefix(elapsed: now() - start)
    }

    /// `[    1.234] ` for 1.234 s: seconds right-aligned in five columns, then milliseconds.
    public static func timestampPrefix(elapsed: Interval) -> String {
        elapsed.consoleTimestamp
    }

    public func wait(until deadline: Instant?) {
        checkSignal()
        guard !shouldStop else { return }
        var readable = fd_set()
        var highest: Int32 = -1
        for tap in taps where tap.fileDescriptor >= 0 {
            HostedPlatform.add(tap.fileDescriptor, to: &readable)
            highest = max(highest, tap.fileDescriptor)
        }
        var result: Int32
        if let deadline {
            let remaining = max(Int64(0), (deadline - now()).nanoseconds)
            var timeout = timespec(tv_sec: Int(remaining / 1_000_000_000), tv_nsec: Int(remaining % 1_000_000_000))
            result = pselect(highest + 1, &readable, nil, nil, &timeout, &waitMask)
        } else {
            result = pselect(highest + 1, &readable, nil, nil, nil, &waitMask)
        }
        if result < 0 && errno != EINTR {
            writeError("error: pselect: \(errnoText(errno))")
            shouldStop = true
        }
        checkSignal()
    }

    private func checkSignal() {
        guard handlesSignals else { return }
        var signal = pendingStopSignal
        if signal == 0 {
            // When a descriptor is already readable, pselect returns without ever unblocking the
            // signals (the kernel restores the mask unless it returns EINTR), so under a steady
            // stream of frames a signal stays pending: look for it explicitly.
            var pending = sigset_t()
            sigpending(&pending)
            if sigismember(&pending, SIGTERM) == 1 {
                signal = SIGTERM
            } else if sigismember(&pending, SIGINT) == 1 {
                signal = SIGINT
            }
        }
        if signal != 0 {
            shouldStop = true
            if stopSignal == nil { stopSignal = signal }
        }
    }

    /// Makes the loop stop as if a signal had arrived.
    public func requestStop() { shouldStop = true }

    /// FD_SET, which Swift does not import (a macro): bit `fd % 64` of word `fd / 64`.
    private static func add(_ fd: Int32, to set: inout fd_set) {
        precondition(fd >= 0 && fd < FD_SETSIZE, "descriptor beyond FD_SETSIZE")
        withUnsafeMutableBytes(of: &set) { raw in
            let words = raw.bindMemory(to: UInt64.self)
            // In bounds: fd < FD_SETSIZE (1024) and fd_set holds FD_SETSIZE bits.
            words[Int(fd) / 64] |= UInt64(1) << UInt64(Int(fd) % 64)
        }
    }

    public var commandLine: String { CommandLine.arguments.joined(separator: " ") }

    public func exit(status: Int32) -> Never {
        for tap in taps { tap.close() }
        Glibc.exit(status)
    }

    /// "SIGINT", "SIGTERM", or "signal N".
    public static func signalName(_ signal: Int32) -> String {
        switch signal {
        case SIGINT: return "SIGINT"
        case SIGTERM: return "SIGTERM"
        default: return "signal \(signal)"
        }
    }
}
