import Glibc

// Following a console that a hypervisor writes to a file (VMware's `serial0.fileType = "file"`),
// as `tail -f` does: what is in the file is copied out, then whatever is appended, until the VM
// stops or skiff gets SIGINT/SIGTERM. The file may appear only after the VM has started, and may
// be replaced (truncated): then reading starts again from its beginning.

public enum SerialLogFollower {
    public enum End: Equatable, Sendable {
        /// `isRunning` said the VM is no longer running; the file was read to its end after that.
        case stopped
        /// skiff received this signal (SIGINT or SIGTERM).
        case signal(Int32)
    }

    /// Copies `path`'s contents to `output` as they grow. Every `checkInterval` seconds
    /// `isRunning` is asked whether the VM still runs (it may take a while: it runs vmrun); the
    /// file is read every `pollInterval` seconds. SIGINT and SIGTERM must be blocked in the
    /// calling thread (`ChildProcess.blockStopSignals`): they are taken here and end the follow.
    public static func follow(
        path: String, pollInterval: Double = 0.2, checkInterval: Double = 2.0,
        output: ([UInt8]) -> Void, isRunning: () -> Bool
    ) -> End {
        var descriptor: Int32 = -1
        var offset: off_t = 0
        defer { if descriptor >= 0 { close(descriptor) } }
        var lastCheck = ChildProcess.monotonicSeconds()
        var buffer = [UInt8](repeating: 0, count: 65_536)

        /// Reads what has been appended since the last call.
        func drain() {
            if descriptor < 0 {
                descriptor = open(path, O_RDONLY | O_CLOEXEC)
                if descriptor < 0 { return }
                offset = 0
            }
            var info = stat()
            if fstat(descriptor, &info) == 0, info.st_size < offset {
                offset = 0  // truncated: the VM started again
            }
            while true {
                // In bounds: at most buffer.count bytes into buffer.
                let n = buffer.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress!, $0.count, offset) }
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { return }
                offset += off_t(n)
                output(Array(buffer[0..<n]))
            }
        }

        var signals = ChildProcess.stopSignalSet()
        while true {
            drain()
            let now = ChildProcess.monotonicSeconds()
            if now - lastCheck >= checkInterval {
                lastCheck = now
                if !isRunning() {
                    drain()
                    return .stopped
                }
                lastCheck = ChildProcess.monotonicSeconds()
            }
            var pause = timespec(tv_sec: Int(pollInterval), tv_nsec: Int((pollInterval - Double(Int(pollInterval))) * 1e9))
            var info = siginfo_t()
            let signal = sigtimedwait(&signals, &info, &pause)
            if signal == SIGINT || signal == SIGTERM {
                drain()
                return .signal(signal)
            }
        }
    }
}
