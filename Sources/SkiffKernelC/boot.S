// The kernel's entry points and everything that must run before Swift can: a multiboot v1 header
// and a PVH ELF note (the two ways in), the 32-bit code that enters long mode, and the exception
// stubs that save the registers for the Swift handler (Exceptions.swift).
//
// Both entries arrive in 32-bit protected mode with paging off and flat segments:
//   multiboot (Multiboot 0.6.96 §3.2): EAX = 0x2BADB002, EBX = multiboot_info;
//   PVH (x86/HVM direct boot ABI, Xen docs/misc/pvh.pandoc): EBX = hvm_start_info.
// They record which one ran and then share the path to long mode: identity-map the first 4 GiB
// with 2 MiB pages (Swift later remaps the kernel's own 2 MiB with 4 KiB pages and permissions),
// enable PAE, SSE, long mode, NX where the CPU has it, write protection, and paging, load the GDT
// and jump to 64-bit code, which loads the IDT and TSS, then calls
//   skiff_kernel_start(protocol, magic, info)   (Kernel.swift)
//   main(0, NULL)                                (the application's top-level code)
//   skiff_kernel_exit(status)                    (never returns)
#ifndef __linux__

#define MULTIBOOT_PROTOCOL 1
#define PVH_PROTOCOL 2

#define CR0_PE (1 << 0)
#define CR0_MP (1 << 1)
#define CR0_EM (1 << 2)
#define CR0_TS (1 << 3)
#define CR0_WP (1 << 16)
#define CR0_PG (1 << 31)
#define CR4_PAE (1 << 5)
#define CR4_OSFXSR (1 << 9)
#define CR4_OSXMMEXCPT (1 << 10)
#define MSR_EFER 0xC0000080
#define EFER_LME (1 << 8)
#define EFER_NXE (1 << 11)
#define CPUID_EXT_LM (1 << 29)   /* CPUID.80000001H:EDX */
#define CPUID_EXT_NX (1 << 20)

#define PAGE_PRESENT 0x1
#define PAGE_WRITABLE 0x2
#define PAGE_LARGE 0x80

#define CODE_SELECTOR 0x08
#define DATA_SELECTOR 0x10

#define BOOT_STACK_SIZE (256 * 1024)
#define IST_STACK_SIZE (16 * 1024)

// ---------------------------------------------------------------------------------------------
// Multiboot v1 header with the a.out kludge (Multiboot 0.6.96 §3.1): flags bit 16 says the
// address fields below are valid, so loaders need not understand ELF64. The magic, flags and
// checksum come from Kernel/linker.ld, so a PVH-only build can link the magic as 0.
    .section .multiboot, "a"
    .p2align 2
multiboot_header:
    .long skiff_multiboot_magic
    .long skiff_multiboot_flags
    .long skiff_multiboot_checksum
    .long multiboot_header              // header_addr
    .long __kernel_image_start          // load_addr: the file's first byte
    .long __kernel_load_end             // load_end_addr: end of the file's loaded bytes
    .long __kernel_image_end            // bss_end_addr
    .long skiff_multiboot_entry         // entry_addr

// ---------------------------------------------------------------------------------------------
// PVH: an ELF note of type XEN_ELFNOTE_PHYS32_ENTRY (18, from Kernel/linker.ld so a
// multiboot-only build can hide it) whose descriptor is the 32-bit entry's physical address.
// QEMU reads the descriptor as 8 bytes.
    .section .note.Xen, "a", @note
    .p2align 2
    .long 4                             // namesz: "Xen\0"
    .long 8                             // descsz
    .long skiff_pvh_note_type
    .asciz "Xen"
    .p2align 2
    .quad skiff_pvh_entry

// ---------------------------------------------------------------------------------------------
// 32-bit entry code.
    .section .boot.text, "ax"
    .code32

    .global skiff_multiboot_entry
skiff_multiboot_entry:
    cli
    cld
    movl $MULTIBOOT_PROTOCOL, boot_protocol
    movl %eax, boot_magic
    movl %ebx, boot_info
    jmp enter_long_mode

    .global skiff_pvh_entry
skiff_pvh_entry:
    cli
    cld
    movl $PVH_PROTOCOL, boot_protocol
    movl $0, boot_magic                 // PVH's magic is inside start_info
    movl %ebx, boot_info
    jmp enter_long_mode

enter_long_mode:
    movl $skiff_boot_stack_top, %esp

    // Clear .bss (QEMU's loaders already do; other loaders need not).
    movl $__bss_start, %edi
    movl $__bss_end, %ecx
    subl %edi, %ecx
    shrl $2, %ecx
    xorl %eax, %eax
    rep stosl

    // Long mode is required; remember EDX of CPUID.80000001H for the NX bit.
    movl $0x80000000, %eax
    cpuid
    cmpl $0x80000001, %eax
    jb no_long_mode
    movl $0x80000001, %eax
    cpuid
    testl $CPUID_EXT_LM, %edx
    jz no_long_mode
    movl %edx, %esi

    // Page tables: PML4[0] → PDPT; PDPT[0..3] → four page directories; 2048 2 MiB pages map
    // physical 0–4 GiB one to one (the default QEMU CPU has no 1 GiB pages).
    movl $boot_pdpt + (PAGE_PRESENT | PAGE_WRITABLE), boot_pml4
    movl $boot_pdpt, %edi
    movl $boot_page_directories + (PAGE_PRESENT | PAGE_WRITABLE), %eax
    movl $4, %ecx
1:  movl %eax, (%edi)
    addl $4096, %eax
    addl $8, %edi
    loop 1b
    movl $boot_page_directories, %edi
    movl $(PAGE_PRESENT | PAGE_WRITABLE | PAGE_LARGE), %eax
    movl $2048, %ecx
2:  movl %eax, (%edi)
    addl $0x200000, %eax
    addl $8, %edi
    loop 2b

    // PAE paging and SSE (FXSAVE/FXRSTOR and unmasked SIMD exceptions reported as #XM).
    movl %cr4, %eax
    orl $(CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT), %eax
    movl %eax, %cr4
    movl $boot_pml4, %eax
    movl %eax, %cr3

    // Long mode; no-execute pages where the CPU has them.
    movl $MSR_EFER, %ecx
    rdmsr
    orl $EFER_LME, %eax
    testl $CPUID_EXT_NX, %esi
    jz 3f
    orl $EFER_NXE, %eax
3:  wrmsr

    // Paging on (which activates long mode), supervisor writes honour read-only pages (WP), and
    // the FPU/SSE unit is native and available (EM=0, TS=0, MP=1).
    movl %cr0, %eax
    andl $~(CR0_EM | CR0_TS), %eax
    orl $(CR0_PE | CR0_MP | CR0_WP | CR0_PG), %eax
    movl %eax, %cr0

    lgdt gdt_pointer
    ljmp $CODE_SELECTOR, $long_mode_entry

// Without long mode there is nothing to run: say so on COM1 and stop.
no_long_mode:
    movl $no_long_mode_message, %esi
    movw $0x3F8, %dx
4:  lodsb
    testb %al, %al
    jz 5f
    outb %al, %dx
    jmp 4b
5:  cli
    hlt
    jmp 5b

// ---------------------------------------------------------------------------------------------
// 64-bit code.
    .text
    .code64
long_mode_entry:
    movw $DATA_SELECTOR, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movw %ax, %fs
    movw %ax, %gs
    movq $skiff_boot_stack_top, %rsp
    xorl %ebp, %ebp                     // ends the frame-pointer chain for backtraces
    fninit

    call skiff_cpu_tables_init

    movl boot_protocol(%rip), %edi
    movl boot_magic(%rip), %esi
    movl boot_info(%rip), %edx
    call skiff_kernel_start

    xorl %edi, %edi
    xorl %esi, %esi
    call main

    movl %eax, %edi
    call skiff_kernel_exit
6:  cli
    hlt
    jmp 6b

// Exception stubs. Vectors with a CPU-pushed error code (SDM Vol. 3A §6.15: 8, 10–14, 17, 21, 29,
// 30) push only the vector; the others push a 0 first so that every frame has the same layout
// (skiff_interrupt_frame in SkiffKernelC.h).
.macro isr_without_error vector
isr_\vector:
    pushq $0
    pushq $\vector
    jmp isr_common
.endm
.macro isr_with_error vector
isr_\vector:
    pushq $\vector
    jmp isr_common
.endm

.irp vector, 0,1,2,3,4,5,6,7,9,15,16,18,19,20,22,23,24,25,26,27,28,31
    isr_without_error \vector
.endr
.irp vector, 8,10,11,12,13,14,17,21,29,30
    isr_with_error \vector
.endr

isr_common:
    pushq %rax
    pushq %rbx
    pushq %rcx
    pushq %rdx
    pushq %rsi
    pushq %rdi
    pushq %rbp
    pushq %r8
    pushq %r9
    pushq %r10
    pushq %r11
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, %rdi                     // the frame
    movq %rsp, %rbx                     // callee-saved: the frame, to restore RSP
    andq $-16, %rsp                     // SysV ABI: 16-byte aligned at the call
    cld
    call skiff_exception
    movq %rbx, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %r11
    popq %r10
    popq %r9
    popq %r8
    popq %rbp
    popq %rdi
    popq %rsi
    popq %rdx
    popq %rcx
    popq %rbx
    popq %rax
    addq $16, %rsp                      // vector and error code
    iretq

// Hardware interrupt stubs (vectors 32–47 and the LAPIC's spurious vector 255). Interrupts are
// enabled only inside skiff_wait_for_interrupt's `sti; hlt`, so they arrive on the boot stack in
// a known place. The stub saves the registers the SysV ABI lets a call clobber and calls
//   skiff_interrupt(vector)   (Interrupts.swift)
// which records the vector and acknowledges it; SSE registers need no saving because the `hlt`
// site declares them clobbered.
.macro irq_stub vector
irq_\vector:
    pushq $\vector
    jmp irq_common
.endm

.irp vector, 32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47,255
    irq_stub \vector
.endr

irq_common:
    pushq %rax
    pushq %rcx
    pushq %rdx
    pushq %rsi
    pushq %rdi
    pushq %r8
    pushq %r9
    pushq %r10
    pushq %r11
    pushq %rbx
    movq 80(%rsp), %rdi                 // the vector pushed by the stub
    movq %rsp, %rbx                     // callee-saved: restores RSP after the alignment
    andq $-16, %rsp                     // SysV ABI: 16-byte aligned at the call
    cld
    call skiff_interrupt
    movq %rbx, %rsp
    popq %rbx
    popq %r11
    popq %r10
    popq %r9
    popq %r8
    popq %rdi
    popq %rsi
    popq %rdx
    popq %rcx
    popq %rax
    addq $8, %rsp                       // the vector
    iretq

// ---------------------------------------------------------------------------------------------
    .section .rodata
    .p2align 3
    .global skiff_irq_table
skiff_irq_table:
.irp vector, 32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47
    .quad irq_\vector
.endr
    .global skiff_spurious_irq
skiff_spurious_irq:
    .quad irq_255

    .global skiff_isr_table
skiff_isr_table:
.irp vector, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    .quad isr_\vector
.endr

no_long_mode_message:
    .asciz "skiff: this CPU has no long mode (x86-64); stopping.\r\n"

// ---------------------------------------------------------------------------------------------
    .data
    .p2align 4
// The GDT (SDM Vol. 3A §3.4.5, §5.2.1): flat 64-bit code and data with the accessed bits
// already set (so the CPU never writes them), and the TSS descriptor that cpu.c fills in.
gdt:
    .quad 0
    .quad 0x00AF9B000000FFFF            // 0x08: code, present, DPL 0, L=1 (64-bit), accessed
    .quad 0x00CF93000000FFFF            // 0x10: data, present, writable, accessed
    .global skiff_gdt_tss
skiff_gdt_tss:
    .quad 0, 0                          // 0x18: 64-bit TSS (16 bytes)
gdt_end:

    .p2align 3
gdt_pointer:
    .word gdt_end - gdt - 1
    .quad gdt

boot_protocol:
    .long 0
boot_magic:
    .long 0
boot_info:
    .long 0

// ---------------------------------------------------------------------------------------------
// Boot page tables and stacks. Each stack sits above a guard page that Paging.swift leaves
// unmapped, so running off the bottom faults instead of overwriting what lies below.
    .section .bss
    .p2align 12
    .global skiff_boot_page_tables, skiff_boot_page_tables_end
skiff_boot_page_tables:
boot_pml4:
    .skip 4096
boot_pdpt:
    .skip 4096
boot_page_directories:
    .skip 4 * 4096
skiff_boot_page_tables_end:

    .global skiff_boot_stack_guard, skiff_boot_stack_bottom, skiff_boot_stack_top
skiff_boot_stack_guard:
    .skip 4096
skiff_boot_stack_bottom:
    .skip BOOT_STACK_SIZE
skiff_boot_stack_top:

    .global skiff_ist1_guard, skiff_ist1_bottom, skiff_ist1_top
skiff_ist1_guard:
    .skip 4096
skiff_ist1_bottom:
    .skip IST_STACK_SIZE
skiff_ist1_top:

    .global skiff_ist2_guard, skiff_ist2_bottom, skiff_ist2_top
skiff_ist2_guard:
    .skip 4096
skiff_ist2_bottom:
    .skip IST_STACK_SIZE
skiff_ist2_top:

#endif  // __linux__
