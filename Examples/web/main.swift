// A unikernel web server: a small static site compiled into the image and a JSON endpoint,
// over Skiff's TCP and HTTP/1.1 server, plus ping, UDP echo like Examples/ping, and TCP echo.
//
// Addresses come from the kernel command line (`ip=`, one per NIC). Under QEMU's user-mode
// network: `skiff run qemu web.elf --user-net hostfwd=tcp:127.0.0.1:8080-:80
//   --append "ip=10.0.2.15::10.0.2.2:255.255.255.0::eth0:off"`, then http://127.0.0.1:8080/.
import SkiffKernel
import SkiffPlatform
import SkiffStack
import SkiffServices
import SkiffConfig

let platform = Kernel.platform
let stack = NetworkStack(platform: platform)
stack.log = { line in platform.write(console: line + "\n") }

do throws(CommandLineError) {
    let configuration = try BootConfiguration(commandLine: platform.commandLine)
    try configuration.apply(to: stack, devices: platform.networkDevices, now: platform.now())
} catch {
    platform.writeLine("web: \(error)")
    platform.exit(status: 2)
}
if platform.networkDevices.isEmpty {
    platform.writeLine("web: no network device found (QEMU: -device virtio-net-pci,netdev=...)")
    platform.exit(status: 1)
}

// The demo site (Sources/SkiffServices/DemoSite.swift, shared with `skiff run hosted
// --http-port`): pages, /api/status and /bytes/N (up to 16 MiB here, allocated on first use).
let site = DemoSite(stack: stack, now: { platform.now() }, bytesLimit: 16 * 1024 * 1024)

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

for line in ConfigurationReport.lines(stack) { platform.writeLine(line) }
platform.writeLine("http: tcp port 80")
platform.writeLine("echo: udp port 7")
platform.writeLine("echo: tcp port 7")

while true {
    let now = platform.now()
    var deadline = stack.poll(now: now)
    if let wanted = server.step(now: now) { deadline = min(deadline ?? wanted, wanted) }
    if let wanted = echo.step(now: now) { deadline = min(deadline ?? wanted, wanted) }
    if let wanted = tcpEcho.step(now: now) { deadline = min(deadline ?? wanted, wanted) }
    platform.wait(until: deadline)
}
