// Faults on purpose, to show (and test) the kernel's exception report: vector, error code,
// registers and a frame-pointer backtrace on the console, then exit status 70 (QEMU: 141).
//
// The kernel command line picks the fault (default `fault=unmapped`):
//   fault=unmapped  write to an address nothing maps (a page fault, CR2 = that address)
//   fault=null      read through a null pointer (page 0 is never mapped)
//   fault=stack     recurse until the boot stack runs into its guard page
//   fault=text      write to the kernel's own code (read-only)
//   fault=exec      jump into heap memory (no-execute)
//   fault=trap      fail a Swift precondition (UD2, "invalid opcode")
import SkiffKernel

let unmappedAddress: UInt = 0x7F00_0000_0000

@inline(never) func writeUnmapped(_ address: UInt) {
    UnsafeMutablePointer<UInt64>(bitPattern: address)!.pointee = 0x5EED
}

@inline(never) func readNull(_ offset: UInt) -> UInt64 {
    UnsafePointer<UInt64>(bitPattern: 0 + offset)!.pointee
}

@inline(never) func touch(_ bytes: UnsafeMutableRawBufferPointer) -> Int {
    Int(bytes[0])
}

@inline(never) func recurse(_ depth: Int) -> Int {
    // A local whose address escapes keeps the optimizer from turning the recursion into a loop.
    var frame: (Int, Int, Int, Int) = (depth, depth, depth, depth)
    let here = withUnsafeMutableBytes(of: &frame) { touch($0) }
    return recurse(depth &+ 1) &+ here
}

@inline(never) func writeText() {
    let code: @convention(c) () -> Void = { print("unreachable") }
    UnsafeMutablePointer<UInt8>(bitPattern: unsafeBitCast(code, to: UInt.self))!.pointee = 0xCC
}

@inline(never) func executeHeap() {
    let memory = UnsafeMutablePointer<UInt8>.allocate(capacity: 16)
    memory.initialize(repeating: 0xC3, count: 16)  // RET, should it ever run
    unsafeBitCast(memory, to: (@convention(c) () -> Void).self)()
}

@inline(never) func failPrecondition(_ value: Int) {
    precondition(value < 0, "fault example: a precondition that fails")
}

@inline(never) func fault(_ kind: Substring) {
    print("fault: \(kind)")
    switch kind {
    case "null": print(readNull(8))
    case "stack": print(recurse(0))
    case "text": writeText()
    case "exec": executeHeap()
    case "trap": failPrecondition(1)
    default: writeUnmapped(unmappedAddress)
    }
}

var kind: Substring = "unmapped"
for word in Kernel.bootInfo.commandLine.split(separator: " ") where word.hasPrefix("fault=") {
    kind = word.dropFirst("fault=".count)
}
fault(kind)
print("fault: survived, which is a bug")
