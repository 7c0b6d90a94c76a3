// The kernel's hardware shims: the few instructions Swift cannot express (port I/O, control
// registers, CPUID, RDRAND), the linker script's layout symbols, and the interrupt frame that
// boot.S hands to the Swift exception handler.
//
// Everything is guarded by `#ifndef __linux__`: on the host the module is empty, the kernel's
// hardware code is compiled out (`#if os(none)` in Swift), and nothing here is ever linked.
#ifndef SKIFF_KERNEL_C_H
#define SKIFF_KERNEL_C_H

#ifndef __linux__

#include <stdint.h>
#include <stddef.h>

// MARK: - Port I/O

static inline void skiff_outb(uint16_t port, uint8_t value) {
    __asm__ volatile("outb %0, %1" : : "a"(value), "Nd"(port));
}

static inline uint8_t skiff_inb(uint16_t port) {
    uint8_t value;
    __asm__ volatile("inb %1, %0" : "=a"(value) : "Nd"(port));
    return value;
}

static inline void skiff_outl(uint16_t port, uint32_t value) {
    __asm__ volatile("outl %0, %1" : : "a"(value), "Nd"(port));
}

static inline uint32_t skiff_inl(uint16_t port) {
    uint32_t value;
    __asm__ volatile("inl %1, %0" : "=a"(value) : "Nd"(port));
    return value;
}

// MARK: - Control registers and MSRs

static inline uint64_t skiff_read_cr0(void) {
    uint64_t value;
    __asm__ volatile("mov %%cr0, %0" : "=r"(value));
    return value;
}

static inline uint64_t skiff_read_cr2(void) {
    uint64_t value;
    __asm__ volatile("mov %%cr2, %0" : "=r"(value));
    return value;
}

static inline uint64_t skiff_read_cr3(void) {
    uint64_t value;
    __asm__ volatile("mov %%cr3, %0" : "=r"(value));
    return value;
}

/// Loading CR3 also flushes the non-global TLB entries.
static inline void skiff_write_cr3(uint64_t value) {
    __asm__ volatile("mov %0, %%cr3" : : "r"(value) : "memory");
}

static inline uint64_t skiff_read_cr4(void) {
    uint64_t value;
    __asm__ volatile("mov %%cr4, %0" : "=r"(value));
    return value;
}

static inline uint64_t skiff_read_msr(uint32_t msr) {
    uint32_t low, high;
    __asm__ volatile("rdmsr" : "=a"(low), "=d"(high) : "c"(msr));
    return ((uint64_t)high << 32) | low;
}

// MARK: - CPUID, time stamp counter, random numbers

typedef struct {
    uint32_t eax, ebx, ecx, edx;
} skiff_cpuid_result;

static inline skiff_cpuid_result skiff_cpuid(uint32_t leaf, uint32_t subleaf) {
    skiff_cpuid_result r;
    __asm__ volatile("cpuid"
                     : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx)
                     : "a"(leaf), "c"(subleaf));
    return r;
}

static inline uint64_t skiff_rdtsc(void) {
    uint32_t low, high;
    __asm__ volatile("rdtsc" : "=a"(low), "=d"(high));
    return ((uint64_t)high << 32) | low;
}

/// RDRAND: returns 1 and stores a value when the CPU had entropy ready, else 0 (retry).
/// Only call when CPUID.01H:ECX.RDRAND[bit 30] is set.
static inline int skiff_rdrand64(uint64_t *value) {
    unsigned char ok;
    __asm__ volatile("rdrand %0; setc %1" : "=r"(*value), "=qm"(ok) : : "cc");
    return ok;
}

/// RDSEED: like `skiff_rdrand64`; only call when CPUID.(EAX=07H,ECX=0):EBX.RDSEED[bit 18] is set.
static inline int skiff_rdseed64(uint64_t *value) {
    unsigned char ok;
    __asm__ volatile("rdseed %0; setc %1" : "=r"(*value), "=qm"(ok) : : "cc");
    return ok;
}

static inline void skiff_outw(uint16_t port, uint16_t value) {
    __asm__ volatile("outw %0, %1" : : "a"(value), "Nd"(port));
}

static inline uint16_t skiff_inw(uint16_t port) {
    uint16_t value;
    __asm__ volatile("inw %1, %0" : "=a"(value) : "Nd"(port));
    return value;
}

// MARK: - Memory-mapped I/O and memory shared with devices
//
// Volatile accesses, so the compiler neither caches, merges nor drops them. x86 keeps stores in
// order with other stores and loads with other loads (SDM Vol. 3A §9.2.2); what remains is the
// compiler, which `skiff_compiler_barrier` stops from moving accesses across it, and store→load
// order, which needs `skiff_memory_fence` (virtio 1.2 §2.7.13.3: publish the index, then read
// the device's notification suppression flags).

static inline uint8_t skiff_mmio_read8(const volatile void *address) { return *(const volatile uint8_t *)address; }
static inline uint16_t skiff_mmio_read16(const volatile void *address) { return *(const volatile uint16_t *)address; }
static inline uint32_t skiff_mmio_read32(const volatile void *address) { return *(const volatile uint32_t *)address; }
static inline void skiff_mmio_write8(volatile void *address, uint8_t value) { *(volatile uint8_t *)address = value; }
static inline void skiff_mmio_write16(volatile void *address, uint16_t value) { *(volatile uint16_t *)address = value; }
static inline void skiff_mmio_write32(volatile void *address, uint32_t value) { *(volatile uint32_t *)address = value; }

static inline void skiff_compiler_barrier(void) { __asm__ volatile("" : : : "memory"); }
static inline void skiff_memory_fence(void) { __asm__ volatile("mfence" : : : "memory"); }

static inline void skiff_write_msr(uint32_t msr, uint64_t value) {
    __asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)value), "d"((uint32_t)(value >> 32)));
}

// MARK: - Halting

/// Waits for an interrupt with interrupts enabled only for the wait: `sti` takes effect after the
/// next instruction, so an interrupt that became pending while they were off wakes the `hlt` at
/// once and none is lost (SDM Vol. 2B, STI). Handlers run here and may use SSE registers, which
/// are therefore declared clobbered.
static inline void skiff_wait_for_interrupt(void) {
    __asm__ volatile("sti; hlt; cli"
                     : : : "memory", "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6",
                       "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
}

/// Stops this CPU for good: interrupts off, then HLT in a loop (an NMI or SMI may wake HLT).
__attribute__((noreturn)) static inline void skiff_halt_forever(void) {
    for (;;) {
        __asm__ volatile("cli; hlt");
    }
}

// MARK: - VMware backdoor

/// The registers of one VMware backdoor call, in and out.
typedef struct {
    uint32_t eax, ebx, ecx, edx, esi, edi;
} skiff_backdoor_registers;

/// One call of VMware's guest-to-host backdoor: `in eax, dx` with EAX = the magic 0x564D5868,
/// ECX = the command, DX = port 0x5658, and the command's operands in EBX, the high half of EDX,
/// ESI and EDI; the hypervisor answers in all six. Only call it where CPUID's hypervisor vendor
/// is "VMwareVMware" (SkiffKernel's VMwareGuest): elsewhere the port is an absent device, or
/// QEMU's vmport emulating a part of the protocol.
static inline skiff_backdoor_registers skiff_vmware_backdoor(skiff_backdoor_registers r) {
    __asm__ volatile("inl %%dx, %%eax"
                     : "+a"(r.eax), "+b"(r.ebx), "+c"(r.ecx), "+d"(r.edx), "+S"(r.esi), "+D"(r.edi)
                     :
                     : "memory");
    return r;
}

// MARK: - Interrupt frames

/// What boot.S's common interrupt stub leaves on the stack, lowest address first: the general
/// registers it pushed, the vector and error code (0 for vectors without one), then the frame the
/// CPU pushed (Intel SDM Vol. 3A §6.14.1: in 64-bit mode SS:RSP is always pushed).
typedef struct {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
    uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t vector, error_code;
    uint64_t rip, cs, rflags, rsp, ss;
} skiff_interrupt_frame;

// MARK: - Kernel layout (from Kernel/linker.ld and boot.S)

/// Addresses of the kernel image's parts and of its statically allocated stacks and page tables.
/// Every range is [start, end), page-aligned.
typedef struct {
    uint64_t image_start, image_end;      // everything the loader placed, bss included
    uint64_t text_start, text_end;        // code: read-only, executable
    uint64_t rodata_start, rodata_end;    // headers, notes, constants: read-only, no-execute
    uint64_t data_start, data_end;        // data and bss: writable, no-execute
    // Each stack is [bottom, top) with an unmapped guard page at [guard, bottom).
    uint64_t stack_guard, stack_bottom, stack_top;  // boot stack: kernel and application code
    uint64_t ist1_guard, ist1_bottom, ist1_top;     // exception stack (IST1): page faults
    uint64_t ist2_guard, ist2_bottom, ist2_top;     // emergency stack (IST2): NMI, #DF, #MC
    uint64_t page_tables, page_tables_end;          // boot page tables (bss)
} skiff_kernel_layout;

skiff_kernel_layout skiff_get_kernel_layout(void);

/// A range of bytes in the kernel image.
typedef struct {
    const void *start;
    size_t length;
} skiff_byte_range;

/// The assets archive `skiff build` linked into the image (assets.c); length 0 when there is none.
skiff_byte_range skiff_assets(void);

/// The default interfaces(5) file `skiff build --interfaces` linked into the image
/// (interfaces.c); length 0 when there is none.
skiff_byte_range skiff_interfaces(void);

/// Sets up the IDT (vectors 0–31 → boot.S stubs) and the TSS (IST1 for #PF, so a boot-stack
/// overflow into its guard page still reaches the handler; IST2 for NMI, #DF, #MC), loads both.
void skiff_cpu_tables_init(void);

#endif  // __linux__
#endif  // SKIFF_KERNEL_C_H
