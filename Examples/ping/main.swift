// A unikernel that answers ARP, ping and UDP echo (RFC 862, port 7) on every NIC it has.
//
// Each NIC is configured from the first of these that reaches it (NetworkConfiguration.swift):
// 1. Skiff's `skiff.net=` on the kernel command line, selecting the NIC by name or by MAC:
//      skiff.net=eth0:addr=198.18.0.10/24,gw=198.18.0.1   skiff.net=mac=52:54:00:12:34:51:dhcp
// 2. Linux's `ip=`, one per NIC: ip=198.18.0.10::198.18.0.1:255.255.255.0::eth0:off
//    (client:server:gateway:netmask:hostname:device:autoconf), or `ip=dhcp`;
// 3. a Debian interfaces file in a boot module (plain, cpio or gzip'd cpio), else the one
//    `skiff build --interfaces` built into the image;
// 4. DHCP (RFC 2131; the lease is printed as a `dhcp:` line).
// It prints where each NIC's configuration came from (`config:` lines) and the applied configuration
// in the format scripts match — `net: eth0 198.18.0.10/24 mtu 1500 mac 52:54:00:12:34:56`,
// `route: default via 198.18.0.1 dev eth0`, `echo: udp port 7` — then logs stack events with
// timestamps and runs until the machine is stopped. Each `skiff.resolve=NAME` on the command line is
// looked up with the DNS resolver once the network is up (servers from ip='s dns0/dns1, dns=,
// `dns-nameservers` and the DHCP lease) and printed as `dns: NAME -> a.b.c.d (ttl N, from SERVER)`.
import SkiffKernel
import SkiffPlatform
import SkiffStack
import SkiffServices
import SkiffConfig

let platform = Kernel.platform
let stack = NetworkStack(platform: platform)
stack.log = { line in platform.write(console: line + "\n") }

// Boot modules (QEMU -initrd, GRUB `module`) may carry a Debian interfaces file: the file itself,
// a cpio "newc" archive with etc/network/interfaces, or that archive gzip'd. Without one, the file
// `skiff build --interfaces` built into the image applies. The command line wins over a file for
// the same device (NetworkConfiguration.swift).
var interfacesModules: [InterfacesModule] = []
for (index, module) in Kernel.bootInfo.modules.enumerated() {
    guard let bytes = Kernel.contents(of: module) else { continue }
    do {
        guard let found = try InterfacesModule.read(bytes, module: index + 1) else { continue }
        platform.writeLine("interfaces: module \(index + 1) (\(found.format)): \(found.file.stanzas.count) iface stanzas")
        for diagnostic in found.file.diagnostics { platform.writeLine(diagnostic.description) }
        interfacesModules.append(found)
    } catch {
        platform.writeLine("interfaces: module \(index + 1): \(error)")
    }
}

var imageInterfaces: InterfacesFile? = nil
if Kernel.interfacesFile.count > 0 {
    let file = InterfacesFile.parse(Kernel.interfacesFile)
    if interfacesModules.isEmpty {
        platform.writeLine("interfaces: image: \(file.stanzas.count) iface stanzas")
        for diagnostic in file.diagnostics { platform.writeLine(diagnostic.description) }
    }
    imageInterfaces = file
}

let configuration: BootConfiguration
let application: NetworkApplication
do {
    configuration = try BootConfiguration(commandLine: platform.commandLine)
    application = try NetworkConfiguration(boot: configuration, modules: interfacesModules, image: imageInterfaces)
        .apply(to: stack, devices: platform.networkDevices, now: platform.now())
} catch {
    platform.writeLine("ping: \(error)")
    platform.exit(status: 2)
}
if platform.networkDevices.isEmpty {
    platform.writeLine("ping: no network device found (QEMU: -device virtio-net-pci,netdev=...)")
    platform.exit(status: 1)
}
// DHCP on the devices that ask for it (`ip=dhcp`, `ip=on`, `skiff.net=…:dhcp`, `inet dhcp`) and on
// those nothing configures; the other modes are not implemented.
let dhcp = DHCPAutoconfiguration(application: application, boot: configuration, stack: stack, platform: platform)
dhcp.output = { line in platform.writeLine(line) }
for client in dhcp.clients { client.log = { line in platform.write(console: line + "\n") } }
for applied in application.interfaces {
    guard let pending = applied.pendingAutoconf, !DHCPAutoconfiguration.usesDHCP(pending) else { continue }
    if applied.parameter != nil {
        platform.writeLine("ping: ip=\(pending) is not supported yet; use a static ip=")
    } else {
        platform.writeLine("ping: \(applied.interface.name): \(pending) is not supported yet; use a static address")
    }
}

let echo: UDPEchoService
do {
    echo = try UDPEchoService(stack: stack, port: 7)
} catch {
    platform.writeLine("ping: cannot bind UDP port 7")
    platform.exit(status: 1)
}

// DNS lookups asked for on the command line (`skiff.resolve=www.example.test`, repeatable).
let resolveNames = configuration.commandLine.parameters(named: "skiff.resolve").compactMap { $0.value }
var lookups: DNSLookups? = nil
if !resolveNames.isEmpty {
    let resolver = DNSResolver(stack: stack, platform: platform)
    resolver.log = { line in platform.write(console: line + "\n") }
    let dns = DNSLookups(resolver: resolver, names: resolveNames, settings: DNSSettings(application: application))
    dns.output = { line in platform.writeLine(line) }
    lookups = dns
}

for line in application.lines { platform.writeLine(line) }
for line in ConfigurationReport.lines(stack) { platform.writeLine(line) }
platform.writeLine("echo: udp port \(echo.port)")
dhcp.start(now: platform.now())

// The application loop (ARCHITECTURE.md): receive and run timers, let the service answer, then
// halt until a frame arrives or the next timer is due.
while true {
    let now = platform.now()
    var deadline = stack.poll(now: now)
    if let wanted = dhcp.step(now: now) {
        deadline = min(deadline ?? wanted, wanted)
    }
    if let lookups, let wanted = lookups.step(now: now, dhcp: dhcp) {
        deadline = min(deadline ?? wanted, wanted)
    }
    if let wanted = echo.step(now: now) {
        deadline = min(deadline ?? wanted, wanted)
    }
    platform.wait(until: deadline)
}
