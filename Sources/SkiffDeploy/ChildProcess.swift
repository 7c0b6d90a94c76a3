import Glibc

// Running a hypervisor process (QEMU today; later govc, virsh) as a child of `skiff`, in skiff's
// own process group so that it keeps the terminal (QEMU's `-serial stdio` reads it). SIGINT,
// SIGTERM and SIGCHLD are blocked in skiff and taken synchronously with sigtimedwait while it
// waits, so none is lost between a check and a sleep; a stop signal is forwarded to the child by
// its PID, and the child is killed (SIGKILL) if it has not exited a few seconds later.

/// How a child process ended, decoded from a waitpid(2) status.
public enum ProcessTermination: Equatable, Sendable {
    /// exit(status), 0...255.
    case exited(Int32)
    /// Killed by a signal.
    case signaled(Int32)

    /// Decodes a waitpid status the way <sys/wait.h>'s WIFEXITED/WEXITSTATUS/WTERMSIG macros do
    /// (glibc bits/waitstatus.h): low 7 bits 0 means exited with the next 8 bits as its status.
    public init(waitStatus: Int32) {
        let signal = waitStatus & 0x7F
        if signal == 0 {
            self = .exited((waitStatus >> 8) & 0xFF)
        } else {
            self = .signaled(signal)
        }
    }
}

/// Why `ChildProcess.wait` stopped the child before it ended by itself.
public enum StopReason: Equatable, Sendable {
    /// skiff received SIGINT or SIGTERM and forwarded it.
    case signal(Int32)
    /// The deadline passed; the child was killed.
    case timeout
    /// The caller's `shouldStop` check returned true; the child was killed.
    case requested
}

public final class ChildProcess {
    /// Where one of the child's standard descriptors goes.
    public enum Stream: Sendable {
        case inherit
        case null
        /// A file, created or truncated.
        case file(String)
        /// A pipe to skiff, read by `wait` (for standard error only).
        case pipe
    }

    public struct Result: Equatable, Sendable {
        public var termination: ProcessTermination
        /// Set when the child did not end by itself.
        public var stoppedBy: StopReason?
    }

    public let pid: pid_t
    public let executable: String
    /// The read end of the child's standard error when it is `.pipe` (non-blocking); -1 otherwise
    /// and after end of file.
    private var errorPipe: Int32

    /// How long a child gets to exit after a forwarded stop signal before it is killed.
    public static let graceSeconds = 5.0

    private init(pid: pid_t, executable: String, errorPipe: Int32) {
        self.pid = pid
        self.executable = executable
        self.errorPipe = errorPipe
    }

    deinit {
        if errorPipe >= 0 { close(errorPipe) }
    }

    /// The signal mask skiff had before `blockStopSignals` (children start with it).
    nonisolated(unsafe) private static var originalMask: sigset_t? = nil

    static func stopSignalSet() -> sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGTERM)
        sigaddset(&set, SIGCHLD)
        return set
    }

    /// Blocks SIGINT, SIGTERM and SIGCHLD in the calling thread, so that `wait` takes them; call it
    /// early, from the main thread, before any other thread exists. Idempotent.
    public static func blockStopSignals() {
        guard originalMask == nil else { return }
        var set = stopSignalSet()
        var previous = sigset_t()
        pthread_sigmask(SIG_BLOCK, &set, &previous)
        originalMask = previous
    }

    /// Starts `executable` (a path) with `arguments` (argv[1...]) and the current environment.
    public static func spawn(
        _ executable: String, arguments: [String],
        stdin: Stream = .inherit, stdout: Stream = .inherit, stderr: Stream = .inherit
    ) throws(DeployError) -> ChildProcess {
        blockStopSignals()
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var pipeEnds: [Int32] = [-1, -1]
        if case .pipe = stderr {
            guard pipe(&pipeEnds) == 0 else {
                throw .failure("cannot start \(executable): pipe: \(HostFile.errnoText(errno))")
            }
            // Neither end may leak into other children; the child's descriptor 2 is a dup2 copy.
            for end in pipeEnds { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        }
        defer { if pipeEnds[1] >= 0 { close(pipeEnds[1]) } }
        for (descriptor, stream) in [(Int32(0), stdin), (1, stdout), (2, stderr)] {
            switch stream {
            case .inherit:
                break
            case .pipe:
                precondition(descriptor == 2, "only standard error can be a pipe")
                // dup2 leaves FD_CLOEXEC off the new descriptor 2.
                posix_spawn_file_actions_adddup2(&actions, pipeEnds[1], 2)
            case .null:
                posix_spawn_file_actions_addopen(&actions, descriptor, "/dev/null", descriptor == 0 ? O_RDONLY : O_WRONLY, 0)
            case .file(let path):
                posix_spawn_file_actions_addopen(&actions, descriptor, path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            }
        }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // The child starts with skiff's original mask: our blocked stop signals must not leak into it.
        var mask = originalMask ?? sigset_t()
        posix_spawnattr_setsigmask(&attributes, &mask)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK))

        // A NULL-terminated argv of C strings, freed after posix_spawn has copied them.
        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let code = argv.withUnsafeBufferPointer { buffer in
            posix_spawn(&pid, executable, &actions, &attributes, buffer.baseAddress!, environ)
        }
        guard code == 0 else {
            if pipeEnds[0] >= 0 { close(pipeEnds[0]) }
            throw .failure("cannot start \(executable): \(HostFile.errnoText(code))")
        }
        if pipeEnds[0] >= 0 {
            _ = fcntl(pipeEnds[0], F_SETFL, fcntl(pipeEnds[0], F_GETFL) | O_NONBLOCK)
        }
        return ChildProcess(pid: pid, executable: executable, errorPipe: pipeEnds[0])
    }

    /// Waits for the child to end, passing what it writes to a `.pipe` standard error to
    /// `errorOutput` as it arrives. SIGINT or SIGTERM sent to skiff is forwarded to the child (and
    /// SIGKILL follows after `graceSeconds`); after `timeout` seconds, or when `shouldStop` (checked
    /// about every 50 ms and after each piece of output) returns true, the child is killed.
    public func wait(
        timeout: Double? = nil, errorOutput: (([UInt8]) -> Void)? = nil, shouldStop: (() -> Bool)? = nil
    ) -> Result {
        var signals = Self.stopSignalSet()
        let started = Self.monotonicSeconds()
        var stoppedBy: StopReason? = nil
        var killAt: Double? = nil
        var killed = false
        while true {
            var status: Int32 = 0
            let waited = waitpid(pid, &status, WNOHANG)
            if waited == pid {
                drainErrorPipe(into: errorOutput)
                return Result(termination: ProcessTermination(waitStatus: status), stoppedBy: stoppedBy)
            }
            if waited < 0 && errno != EINTR {
                // ECHILD: someone else reaped it, so how it ended is unknown; report it as killed
                // (never as a guest status).
                return Result(termination: .signaled(SIGKILL), stoppedBy: stoppedBy)
            }
            let now = Self.monotonicSeconds()
            if stoppedBy == nil, let timeout, now - started >= timeout {
                stoppedBy = .timeout
                killAt = now
            }
            if stoppedBy == nil, let shouldStop, shouldStop() {
                stoppedBy = .requested
                killAt = now
            }
            if let killAt, now >= killAt, !killed {
                kill(pid, SIGKILL)
                killed = true
            }
            // Sleep until output, a signal (SIGCHLD included) or 50 ms.
            var pause = timespec(tv_sec: 0, tv_nsec: 50_000_000)
            if errorPipe >= 0 {
                var descriptor = pollfd(fd: errorPipe, events: Int16(POLLIN), revents: 0)
                _ = poll(&descriptor, 1, 50)
                drainErrorPipe(into: errorOutput)
                pause.tv_nsec = 0
            }
            var info = siginfo_t()
            let signal = sigtimedwait(&signals, &info, &pause)
            if signal == SIGINT || signal == SIGTERM {
                if stoppedBy == nil {
                    stoppedBy = .signal(signal)
                    killAt = Self.monotonicSeconds() + Self.graceSeconds
                }
                kill(pid, signal)
            }
        }
    }

    /// Reads what is waiting in the standard error pipe; closes it at end of file.
    private func drainErrorPipe(into errorOutput: (([UInt8]) -> Void)?) {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while errorPipe >= 0 {
            // In bounds: at most buffer.count bytes into buffer.
            let n = buffer.withUnsafeMutableBytes { read(errorPipe, $0.baseAddress!, $0.count) }
            if n > 0 {
                errorOutput?(Array(buffer[0..<n]))
            } else if n == 0 || (errno != EINTR && errno != EAGAIN) {
                close(errorPipe)
                errorPipe = -1
            } else if errno == EAGAIN {
                return
            }
        }
    }

    static func monotonicSeconds() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }

    /// "SIGINT" for 2, and so on for the signals a user is likely to meet; "signal N" otherwise.
    public static func signalName(_ signal: Int32) -> String {
        switch signal {
        case SIGHUP: return "SIGHUP"
        case SIGINT: return "SIGINT"
        case SIGQUIT: return "SIGQUIT"
        case SIGILL: return "SIGILL"
        case SIGTRAP: return "SIGTRAP"
        case SIGABRT: return "SIGABRT"
        case SIGBUS: return "SIGBUS"
        case SIGFPE: return "SIGFPE"
        case SIGKILL: return "SIGKILL"
        case SIGSEGV: return "SIGSEGV"
        case SIGPIPE: return "SIGPIPE"
        case SIGALRM: return "SIGALRM"
        case SIGTERM: return "SIGTERM"
        default: return "signal \(signal)"
        }
    }
}

/// Finding programs on PATH.
public enum Executables {
    /// The first executable regular file called `name` in the directories of `path` (default: the
    /// PATH environment variable, else /usr/local/bin:/usr/bin:/bin).
    public static func find(_ name: String, path: String? = nil) -> String? {
        let search = path ?? getenv("PATH").map { String(cString: $0) } ?? "/usr/local/bin:/usr/bin:/bin"
        for directory in search.split(separator: ":", omittingEmptySubsequences: false) {
            let folder = directory.isEmpty ? "." : String(directory)
            let candidate = folder.hasSuffix("/") ? folder + name : folder + "/" + name
            var info = stat()
            if stat(candidate, &info) == 0, info.st_mode & S_IFMT == S_IFREG, access(candidate, X_OK) == 0 {
                return candidate
            }
        }
        return nil
    }
}

/// Quoting for printing a command line that a POSIX shell reads back as the same words.
public enum ShellWords {
    public static func quote(_ word: String) -> String {
        let plain = !word.isEmpty && word.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"):
                return true
            default:
                return "_@%+=:,./-".utf8.contains(byte)
            }
        }
        if plain { return word }
        return "'" + word.replacingAll("'", with: "'\\''") + "'"
    }

    public static func join(_ words: [String]) -> String {
        words.map(quote).joined(separator: " ")
    }
}

extension String {
    /// `self` with every `target` replaced (no Foundation needed).
    func replacingAll(_ target: Character, with replacement: String) -> String {
        var result = ""
        for character in self {
            if character == target { result += replacement } else { result.append(character) }
        }
        return result
    }
}
