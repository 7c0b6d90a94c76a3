// A unikernel web server: a small static site packed into the image and a JSON endpoint, over
// Skiff's TCP and HTTP/1.1 server, plus ping, UDP echo like Examples/ping, and TCP echo.
//
// The site is the `assets` folder next to this file: `skiff build` packs it into the kernel
// (`Kernel.assetArchive`), and the server sends each file in place with an ETag. Responses carry
// a Date field from the RTC (`platform.wallClock()`).
//
// Addresses come from the kernel command line (`skiff.net=`, `ip=`, one per NIC), else from DHCP
// (QEMU's user-mode network has a DHCP server that hands out 10.0.2.15). Under QEMU's user-mode
// network: `skiff run qemu web.elf --user-net hostfwd=tcp:127.0.0.1:8080-:80`, then, once the
// `dhcp:` line is out, http://127.0.0.1:8080/.
import SkiffKernel
import SkiffPlatform
import SkiffStack
import SkiffServices
import SkiffConfig
import SkiffWire

let platform = Kernel.platform
let stack = NetworkStack(platform: platform)
stack.log = { line in platform.write(console: line + "\n") }

// `skiff.net=` and `ip=` configure a NIC; one that nothing configures (or `ip=dhcp`) asks DHCP,
// whose lease is printed as a `dhcp:` line.
let configuration: BootConfiguration
let application: NetworkApplication
do {
    configuration = try BootConfiguration(commandLine: platform.commandLine)
    application = try NetworkConfiguration(boot: configuration).apply(to: stack, devices: platform.networkDevices, now: platform.now())
} catch {
    platform.writeLine("web: \(error)")
    platform.exit(status: 2)
}
if platform.networkDevices.isEmpty {
    platform.writeLine("web: no network device found (QEMU: -device virtio-net-pci,netdev=...)")
    platform.exit(status: 1)
}
let dhcp = DHCPAutoconfiguration(application: application, boot: configuration, stack: stack, platform: platform)
dhcp.output = { line in platform.writeLine(line) }
for client in dhcp.clients { client.log = { line in platform.write(console: line + "\n") } }

// The pages: the files `skiff build` packed from Examples/web/assets/.
var assets = StaticAssets()
do throws(CPIOError) {
    try assets.add(archive: Kernel.assetArchive)
} catch {
    platform.writeLine("web: the packed assets: \(error)")
    platform.exit(status: 1)
}

// The demo site (Sources/SkiffServices/DemoSite.swift, shared with `skiff run hosted
// --http-port`): the pages, /api/status, and /bytes/N and /chunked/N, streamed (any N: the bytes
// are produced as the connection's send buffer has room, not held in memory).
let site = DemoSite(stack: stack, now: { platform.now() }, assets: assets)

let server: HTTPServer
do {
    server = HTTPServer(listener: try stack.listen(port: 80, backlog: 128), router: site.router)
} catch {
    platform.writeLine("web: cannot listen on TCP port 80")
    platform.exit(status: 1)
}
server.log = { line in platform.write(console: line + "\n") }
site.server = server

// RFC 862 over TCP, on port 7 like the UDP echo.
let tcpEcho: TCPEchoService
do {
    tcpEcho = try TCPEchoService(stack: stack, port: 7)
} catch {
    platform.writeLine("web: cannot listen on TCP port 7")
    platform.exit(status: 1)
}
tcpEcho.log = { line in platform.write(console: line + "\n") }
site.echo = tcpEcho

let echo: UDPEchoService
do {
    echo = try UDPEchoService(stack: stack, port: 7)
} catch {
    platform.writeLine("web: cannot bind UDP port 7")
    platform.exit(status: 1)
}

for line in application.lines { platform.writeLine(line) }
for line in ConfigurationReport.lines(stack) { platform.writeLine(line) }
platform.writeLine("assets: \(assets.count) files, \(assets.totalBytes) bytes")
platform.writeLine("http: tcp port 80")
platform.writeLine("echo: udp port 7")
platform.writeLine("echo: tcp port 7")
dhcp.start(now: platform.now())

while true {
    let now = platform.now()
    var deadline = stack.poll(now: now)
    if let wanted = dhcp.step(now: now) { deadline = min(deadline ?? wanted, wanted) }
    if let wanted = server.step(now: now, date: platform.wallClock()) { deadline = min(deadline ?? wanted, wanted) }
    if let wanted = echo.step(now: now) { deadline = min(deadline ?? wanted, wanted) }
    if let wanted = tcpEcho.step(now: now) { deadline = min(deadline ?? wanted, wanted) }
    platform.wait(until: deadline)
}
