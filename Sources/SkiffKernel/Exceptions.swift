// The handler for CPU exceptions 0–31 (boot.S saves the registers and calls `skiff_exception`):
// it prints the vector, the error code, the registers and a frame-pointer backtrace on the
// console, then stops the machine with `KernelExit.faultStatus`.
//
// It allocates nothing (the heap may be what broke) and reads only memory it can vouch for: the
// backtrace follows saved frame pointers only while they stay inside one of the kernel's stacks.
#if os(none)
import SkiffKernelC

nonisolated(unsafe) private var handlingException = false

@_cdecl("skiff_exception")
public func skiffException(_ framePointer: UnsafeMutablePointer<skiff_interrupt_frame>) {
    let frame = framePointer.pointee
    if handlingException {
        Console.write("\n*** CPU exception ")
        Console.write(decimal: frame.vector)
        Console.write(" at RIP ")
        Console.write(hex: frame.rip)
        Console.write(" while reporting an earlier one; stopping\n")
        KernelExit.exit(status: KernelExit.faultStatus)
    }
    handlingException = true
    Exceptions.report(frame)
    KernelExit.exit(status: KernelExit.faultStatus)
}

enum Exceptions {
    static let pageFault: UInt64 = 14
    static let invalidOpcode: UInt64 = 6

    /// Intel SDM Vol. 3A §6.3.1, table 6-1.
    static func name(of vector: UInt64) -> StaticString {
        switch vector {
        case 0: return "divide error (#DE)"
        case 1: return "debug (#DB)"
        case 2: return "non-maskable interrupt (NMI)"
        case 3: return "breakpoint (#BP)"
        case 4: return "overflow (#OF)"
        case 5: return "bound range exceeded (#BR)"
        case 6: return "invalid opcode (#UD)"
        case 7: return "device not available (#NM)"
        case 8: return "double fault (#DF)"
        case 9: return "coprocessor segment overrun"
        case 10: return "invalid TSS (#TS)"
        case 11: return "segment not present (#NP)"
        case 12: return "stack-segment fault (#SS)"
        case 13: return "general protection (#GP)"
        case 14: return "page fault (#PF)"
        case 16: return "x87 floating-point error (#MF)"
        case 17: return "alignment check (#AC)"
        case 18: return "machine check (#MC)"
        case 19: return "SIMD floating-point exception (#XM)"
        case 20: return "virtualization exception (#VE)"
        case 21: return "control protection (#CP)"
        default: return "reserved"
        }
    }

    static func report(_ frame: skiff_interrupt_frame) {
        let layout = skiff_get_kernel_layout()
        Console.write("\n*** CPU exception ")
        Console.write(decimal: frame.vector)
        Console.write(": ")
        Console.write(name(of: frame.vector))
        Console.write(", error code ")
        Console.write(hex: frame.error_code)
        Console.write("\n")

        if frame.vector == pageFault {
            describePageFault(address: skiff_read_cr2(), error: frame.error_code, layout)
        } else if frame.vector == invalidOpcode && isUD2(at: frame.rip, layout) {
            // Swift compiles precondition failures, overflow, fatalError and force-unwrapping nil
            // to UD2.
            Console.write("    a Swift runtime trap (precondition, overflow, fatalError, or unwrapping nil)\n")
        }

        register("RIP", frame.rip); register("RSP", frame.rsp); register("RBP", frame.rbp)
        register("RFLAGS", frame.rflags, last: true)
        register("RAX", frame.rax); register("RBX", frame.rbx); register("RCX", frame.rcx)
        register("RDX", frame.rdx, last: true)
        register("RSI", frame.rsi); register("RDI", frame.rdi); register("R8", frame.r8)
        register("R9", frame.r9, last: true)
        register("R10", frame.r10); register("R11", frame.r11); register("R12", frame.r12)
        register("R13", frame.r13, last: true)
        register("R14", frame.r14); register("R15", frame.r15); register("CS", frame.cs)
        register("SS", frame.ss, last: true)
        register("CR0", skiff_read_cr0()); register("CR2", skiff_read_cr2()); register("CR3", skiff_read_cr3())
        register("CR4", skiff_read_cr4(), last: true)

        backtrace(rip: frame.rip, rbp: frame.rbp, layout)
    }

    private static func register(_ name: StaticString, _ value: UInt64, last: Bool = false) {
        Console.write(name)
        Console.write("=")
        Console.write(hex: value)
        Console.write(last ? "\n" : "  ")
    }

    /// Error code bits: SDM Vol. 3A §4.7, figure 4-12.
    private static func describePageFault(address: UInt64, error: UInt64, _ layout: skiff_kernel_layout) {
        Console.write("    page fault at ")
        Console.write(hex: address)
        Console.write(error & 1 == 0 ? ": page not present" : ": protection violation")
        if error & (1 << 4) != 0 {
            Console.write(", instruction fetch")
        } else {
            Console.write(error & (1 << 1) != 0 ? ", write" : ", read")
        }
        if error & (1 << 3) != 0 { Console.write(", reserved bit set") }
        Console.write("\n")
        func inside(_ lower: UInt64, _ upper: UInt64) -> Bool { address >= lower && address < upper }
        if address < Paging.pageSize {
            Console.write("    (a null pointer dereference)\n")
        } else if inside(layout.stack_guard, layout.stack_bottom) {
            Console.write("    (stack overflow: the boot stack's guard page)\n")
        } else if inside(layout.ist1_guard, layout.ist1_bottom) || inside(layout.ist2_guard, layout.ist2_bottom) {
            Console.write("    (exception stack overflow)\n")
        } else if address >= Paging.mappedLimit {
            Console.write("    (above the 4 GiB identity map)\n")
        }
    }

    /// Whether the two bytes at `rip` are UD2 (0F 0B), read only when `rip` is inside kernel text.
    private static func isUD2(at rip: UInt64, _ layout: skiff_kernel_layout) -> Bool {
        guard rip >= layout.text_start && rip + 2 <= layout.text_end,
              let bytes = UnsafePointer<UInt8>(bitPattern: UInt(rip)) else { return false }
        // In bounds: both bytes lie inside the mapped, readable kernel text.
        return bytes[0] == 0x0F && bytes[1] == 0x0B
    }

    /// Follows the saved-RBP chain (System V x86-64: [rbp] is the caller's rbp, [rbp + 8] the
    /// return address) while each frame lies inside a kernel stack and the chain moves upward.
    /// Runs of the same return address (deep recursion) are printed once with a count.
    private static func backtrace(rip: UInt64, rbp: UInt64, _ layout: skiff_kernel_layout) {
        Console.write("backtrace (frame pointers; symbolize with addr2line -f -e <kernel ELF>):\n")
        Console.write("  #0 ")
        Console.write(hex: rip)
        Console.write("\n")
        var framePointer = rbp
        var depth = 1
        var lines = 1
        var previous: UInt64 = 0
        var repeats: UInt64 = 0
        func flushRepeats() {
            guard repeats > 0 else { return }
            Console.write("     ... the same ")
            Console.write(decimal: repeats)
            Console.write(" more times\n")
            repeats = 0
        }
        // Strictly increasing frame pointers inside one stack bound the walk by the stack's size.
        while lines < 40, framePointer & 7 == 0, let stack = stackContaining(framePointer, layout),
              framePointer + 16 <= stack.upperBound {
            // In bounds: [framePointer, framePointer + 16) lies inside a mapped kernel stack.
            let slots = UnsafePointer<UInt64>(bitPattern: UInt(framePointer))!
            let returnAddress = slots[1]
            if returnAddress == 0 { break }
            if returnAddress == previous {
                repeats += 1
            } else {
                flushRepeats()
                Console.write("  #")
                Console.write(decimal: UInt64(depth))
                Console.write(" ")
                Console.write(hex: returnAddress)
                Console.write("\n")
                previous = returnAddress
                lines += 1
            }
            let next = slots[0]
            if next <= framePointer { break }
            framePointer = next
            depth += 1
        }
        flushRepeats()
    }

    private static func stackContaining(_ address: UInt64, _ layout: skiff_kernel_layout) -> Range<UInt64>? {
        // No array literal here: the handler must not allocate.
        if address >= layout.stack_bottom && address < layout.stack_top { return layout.stack_bottom..<layout.stack_top }
        if address >= layout.ist1_bottom && address < layout.ist1_top { return layout.ist1_bottom..<layout.ist1_top }
        if address >= layout.ist2_bottom && address < layout.ist2_top { return layout.ist2_bottom..<layout.ist2_top }
        return nil
    }
}
#endif
