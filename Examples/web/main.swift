// A unikernel web server: a small static site compiled into the image and a JSON endpoint,
// over Skiff's TCP and HTTP/1.1 server, plus ping and UDP echo like Examples/ping.
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

var site = StaticAssets()
site.add(path: "/index.html", text: """
    <!doctype html>
    <html lang="en">
    <head><meta charset="utf-8"><title>Skiff</title><link rel="stylesheet" href="/style.css"></head>
    <body>
    <h1>Hello from Skiff</h1>
    <p>This page is served by a Swift unikernel: no operating system inside the VM, just the
    application, Skiff's TCP/IP stack and its drivers.</p>
    <p><a href="/api/status">/api/status</a> answers in JSON.</p>
    </body>
    </html>

    """)
site.add(path: "/style.css", text: """
    body { font-family: system-ui, sans-serif; max-width: 40em; margin: 3em auto; line-height: 1.5; }
    h1 { color: #0b5394; }

    """)

var requests = 0
let router = HTTPRouter()
router.get("/api/status") { _ in
    requests += 1
    let now = platform.now()
    let uptime = now.nanoseconds / 1_000_000
    return .json("{\"service\":\"skiff-web\",\"uptime_ms\":\(uptime),\"requests\":\(requests)}\n")
}
router.serve(site, at: "/")

let server: HTTPServer
do {
    server = HTTPServer(listener: try stack.listen(port: 80, backlog: 128), router: router)
} catch {
    platform.writeLine("web: cannot listen on TCP port 80")
    platform.exit(status: 1)
}
server.log = { line in platform.write(console: line + "\n") }

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

while true {
    let now = platform.now()
    var deadline = stack.poll(now: now)
    if let wanted = server.step(now: now) { deadline = min(deadline ?? wanted, wanted) }
    if let wanted = echo.step(now: now) { deadline = min(deadline ?? wanted, wanted) }
    platform.wait(until: deadline)
}
