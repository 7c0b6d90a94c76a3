import Glibc
import SkiffDeploy

/// SIGINT and SIGTERM while `push` or `run vcenter` make things on the server: blocked from the
/// start (so the default action cannot end skiff half-way, with a partial file on the datastore,
/// a VM the server finishes alone and the session still logged in), taken at the checkpoints
/// between steps and inside upload progress; the command then undoes what it made, as after an
/// error, and ends with 128 + the signal. Once the VM runs, the console follower takes them.
enum StopSignal {
    /// The signal taken, once one was.
    nonisolated(unsafe) private(set) static var taken: Int32? = nil

    /// Call first thing, from the main thread (`ChildProcess.blockStopSignals`).
    static func block() {
        ChildProcess.blockStopSignals()
    }

    /// Whether SIGINT or SIGTERM came (taking a pending one, without waiting).
    static func pending() -> Bool {
        if taken != nil { return true }
        var waiting = sigset_t()
        sigpending(&waiting)
        guard sigismember(&waiting, SIGINT) == 1 || sigismember(&waiting, SIGTERM) == 1 else { return false }
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGTERM)
        var info = siginfo_t()
        var now = timespec(tv_sec: 0, tv_nsec: 0)
        let signal = sigtimedwait(&set, &info, &now)
        if signal == SIGINT || signal == SIGTERM { taken = signal }
        return taken != nil
    }

    /// "SIGTERM".
    static var name: String { ChildProcess.signalName(taken ?? SIGTERM) }

    /// For SkiffDeploy steps (an upload's progress callback): an error once a signal came.
    static func throwIfPending() throws(DeployError) {
        if pending() { throw .failure("skiff got \(name)") }
    }

    /// 128 + the signal once one was taken, else `status`.
    static func status(_ status: Int32) -> Int32 {
        taken.map { 128 + $0 } ?? status
    }

    /// Throws `error:` `SIGTERM: stopped WHAT` plus what `undo` says it undid, when a signal came.
    static func checkpoint(_ what: String, undo: () -> String = { "" }) throws(CLIError) {
        guard pending() else { return }
        throw CLIError(message: "\(name): skiff stopped \(what)\(undo())", status: status(1))
    }
}
