/// A failure of a deploy backend, reported by the `skiff` command as one line, `error: <message>`.
/// `usage` is a bad flag value or input file (exit status 64, EX_USAGE); `failure` is anything the
/// host or the hypervisor did (exit status 1). Messages name the flag and the value as given, and
/// the fix when it is known:
///   --memory 8: not a memory size in MiB (16 to 65536)
public struct DeployError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Kind: Equatable, Sendable {
        case usage
        case failure
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public static func usage(_ message: String) -> DeployError { DeployError(.usage, message) }
    public static func failure(_ message: String) -> DeployError { DeployError(.failure, message) }

    public var description: String { message }
}
