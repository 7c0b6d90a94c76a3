import Glibc

// After `skiff run vcenter` powers a VM on: the console file (COM1 on the datastore) followed with
// ranged GETs like `tail -f`, the power state watched, and the guest's address found without
// VMware Tools: `guest.ipAddress` or the `guestinfo.ip` the kernel publishes over the backdoor
// (read from `config.extraConfig`), else the last `net:` line on the console.

public enum VSphereGuestAddress {
    /// A dotted-quad IPv4 address (what Skiff's kernel publishes), or nil.
    public static func ipv4(_ text: String) -> String? {
        let trimmed = text.trimmingXMLSpace
        let parts = trimmed.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4, parts.allSatisfy({ part in
            !part.isEmpty && part.count <= 3 && part.allSatisfy { $0.isASCII && $0.isNumber } && (Int(part) ?? 256) <= 255
        }) else { return nil }
        return trimmed
    }

    /// The address in the last `net: NAME A.B.C.D/N ...` line of `text` (Skiff's
    /// ConfigurationReport), or nil.
    public static func fromConsole(_ text: String) -> String? {
        var found: String? = nil
        // Lines split on bytes: "\r\n" is one Character in Swift, and the console writes it.
        for line in text.utf8.split(whereSeparator: { $0 == 0x0A || $0 == 0x0D }) {
            let bytes = Array(line)
            guard let start = bytes.firstRange(of: Array("net: ".utf8)) else { continue }
            let words = bytes[start.upperBound...].split(separator: 0x20)
            guard words.count >= 2 else { continue }
            let address = String(decoding: words[1].prefix { $0 != 0x2F }, as: UTF8.self)
            if let ip = ipv4(address), ip != "0.0.0.0" { found = ip }
        }
        return found
    }

    /// `guestinfo.ip` in a `config.extraConfig` value (ArrayOfOptionValue).
    public static func fromExtraConfig(_ extraConfig: XML.Element?) -> String? {
        guard let extraConfig else { return nil }
        for option in extraConfig.children where option.child("key")?.text.trimmingXMLSpace == "guestinfo.ip" {
            if let value = option.child("value"), let ip = ipv4(value.text) { return ip }
        }
        return nil
    }
}

extension Array where Element == UInt8 {
    /// The first occurrence of `needle` (empty needles are never found).
    func firstRange(of needle: [UInt8]) -> Range<Int>? {
        guard !needle.isEmpty, needle.count <= count else { return nil }
        for start in 0...(count - needle.count) where self[start] == needle[0] && Array(self[start..<start + needle.count]) == needle {
            return start..<start + needle.count
        }
        return nil
    }
}

public enum VSphereWatch {
    public enum End: Equatable, Sendable {
        /// The VM is powered off (the console was read to its end after that).
        case poweredOff
        /// skiff got SIGINT or SIGTERM.
        case signal(Int32)
        /// The address was found and nothing else was asked for (no console to follow).
        case address
        /// `waitIP` seconds passed without an address.
        case noAddress
    }

    /// Follows the console (when `followConsole`, its bytes go to `output`) and waits for the
    /// guest's address (when `waitIP` is given: at most that many seconds; `onAddress(ip, source)`
    /// is called once). SIGINT and SIGTERM must be blocked in this thread
    /// (`ChildProcess.blockStopSignals`): they are taken here.
    public static func run(
        session: VSphereSession, vm: ManagedObjectReference, console: DatastoreFile, followConsole: Bool, waitIP: Double?,
        pollInterval: Double = 1.0, output: ([UInt8]) -> Void, onAddress: (String, String) -> Void
    ) throws(DeployError) -> End {
        let start = ChildProcess.monotonicSeconds()
        var offset: UInt64 = 0
        var pending: [UInt8] = []
        var consoleAddress: String? = nil
        var consoleAddressSeen = 0.0
        var addressDone = waitIP == nil
        var lastState = 0.0 - 10
        var signals = ChildProcess.stopSignalSet()

        /// Reads what was appended, a chunk at a time while chunks come back full.
        func readConsole() throws(DeployError) {
            var chunks = 0
            while try readChunk(), chunks < 64 { chunks += 1 }
        }

        /// One ranged read; true when it was a full chunk (more may follow).
        func readChunk() throws(DeployError) -> Bool {
            let chunk = 1 << 20
            switch try session.datastoreRead(console, from: offset, limit: chunk) {
            case .notFound:
                return false
            case .shrunk:
                offset = 0
                pending = []
                return true
            case .bytes(let bytes, _):
                guard !bytes.isEmpty else { return false }
                offset += UInt64(bytes.count)
                if followConsole { output(bytes) }
                // Complete lines only, for the net: fallback; a line is bounded to 4 KiB.
                pending += bytes
                if let lastNewline = pending.lastIndex(of: 0x0A) {
                    let text = String(decoding: pending[...lastNewline], as: UTF8.self)
                    if let address = VSphereGuestAddress.fromConsole(text) {
                        if address != consoleAddress { consoleAddressSeen = ChildProcess.monotonicSeconds() }
                        consoleAddress = address
                    }
                    pending.removeSubrange(...lastNewline)
                }
                if pending.count > 4096 { pending.removeFirst(pending.count - 4096) }
                return bytes.count == chunk
            }
        }

        while true {
            if followConsole || !addressDone { try readConsole() }
            let now = ChildProcess.monotonicSeconds()
            if now - lastState >= (addressDone ? 3 : 2) {
                lastState = now
                var paths = ["runtime.powerState"]
                if !addressDone { paths += ["guest.ipAddress", "config.extraConfig"] }
                guard let properties = try session.properties(of: vm, paths) else {
                    throw .failure("vSphere: the VM \(vm.value) is gone")
                }
                if !addressDone {
                    if let ip = properties.text("guest.ipAddress").flatMap(VSphereGuestAddress.ipv4) {
                        onAddress(ip, "guest.ipAddress")
                        addressDone = true
                    } else if let ip = VSphereGuestAddress.fromExtraConfig(properties.properties["config.extraConfig"]) {
                        onAddress(ip, "guestinfo.ip")
                        addressDone = true
                    } else if let consoleAddress, now - consoleAddressSeen >= 10 {
                        // The console said it a while ago and guest info still has nothing.
                        onAddress(consoleAddress, "console")
                        addressDone = true
                    }
                    if addressDone && !followConsole { return .address }
                }
                if properties.text("runtime.powerState") == "poweredOff" {
                    if followConsole { try readConsole() }
                    return .poweredOff
                }
            }
            if !addressDone, let waitIP, now - start >= waitIP {
                if let consoleAddress {
                    onAddress(consoleAddress, "console")
                    addressDone = true
                    if !followConsole { return .address }
                } else {
                    return .noAddress
                }
            }
            var pause = timespec(tv_sec: Int(pollInterval), tv_nsec: Int((pollInterval - Double(Int(pollInterval))) * 1e9))
            var info = siginfo_t()
            let signal = sigtimedwait(&signals, &info, &pause)
            if signal == SIGINT || signal == SIGTERM {
                return .signal(signal)
            }
        }
    }
}
