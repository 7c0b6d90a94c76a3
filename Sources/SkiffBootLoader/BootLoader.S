// Skiff's BIOS boot loader: 16-bit real-mode code kept as data in the host `skiff` binary and
// written into raw disk images (MBR at LBA 0, stage 2 from LBA 1) and into the El Torito
// no-emulation boot image of ISOs (MBR and stage 2 back to back; the BIOS loads both at 0x7C00).
//
// The code never runs where it is linked: every address is a label difference plus the address
// the BIOS or the MBR loads it at (MBR(), S2()), which the assembler resolves without relocations.
//
// Boot flow:
//   MBR: CS:IP = 0:7C00 (disk) or 07C0:0000 (El Torito), DL = boot drive → far jump to 0:7C00
//        form → INT 13h AH=41h (extensions present?) → unless the parameter block says the BIOS
//        already loaded stage 2 (CD), INT 13h AH=42h reads it to 0x7E00 → check "SKB2" → jump.
//   stage 2: reads the Skiff image header (SkiffImage/ImageHeader.swift) → E820 memory map
//        (INT 15h EAX=E820h) and INT 12h → A20 (already on, INT 15h AX=2401h, port 0x92) → the
//        kernel's loaded bytes in 32 KiB chunks through a bounce buffer at 0x10000, copied to
//        load_addr in unreal mode → bss zeroed up to bss_end_addr → modules page-aligned above the
//        kernel → multiboot_info (Multiboot 0.6.96 §3.3) → 32-bit protected mode, flat segments,
//        EAX = 0x2BADB002, EBX = info → entry_addr.
// Errors print one line (INT 10h teletype, then COM1) and halt.
//
// Low memory while stage 2 runs (all below the kernel's 1 MiB and kept by it as boot data):
//   0x0500        A20 probe byte          0x1000  multiboot_info      0x1100  memory map
//   0x2000        module table            0x3000  image header (2 KiB, holds the strings)
//   0x3800-0x7C00 stack                   0x7C00  MBR                 0x7E00  stage 2
//   0x10000-0x18000 bounce buffer for INT 13h reads
#if defined(__x86_64__) || defined(__i386__)

#define MBR_BASE        0x7C00
#define STAGE2_BASE     0x7E00
#define STAGE2_MAGIC    0x32424B53      /* "SKB2" */
#define STAGE2_ENTRY    8               /* stage 2's code starts after the magic and a pad */

#define A20_PROBE       0x0500
#define INFO_ADDR       0x1000
#define MMAP_ADDR       0x1100
#define MMAP_MAX        120             /* 24-byte entries up to 0x1C40 */
#define MODS_ADDR       0x2000
#define HEADER_ADDR     0x3000
#define BOUNCE_SEGMENT  0x1000
#define BOUNCE_ADDR     0x10000
#define CHUNK           0x8000

// The MBR's parameter block, filled in by the image writer (SkiffImage/BootLoader.swift).
#define P_DAP           0x1A0           /* INT 13h packet for stage 2: count +2, LBA +8 */
#define P_HEADER_LBA    0x1B0           /* u32: the image header, in medium sectors */
#define P_SECTOR_SIZE   0x1B4           /* u16: 512 (disk) or 2048 (CD) */
#define P_FLAGS         0x1B6           /* bit 0: the BIOS already loaded stage 2 (El Torito) */
#define P_DRIVE         0x1B7           /* the BIOS drive number, saved at run time */

// The Skiff image header (SkiffImage/ImageHeader.swift), read to HEADER_ADDR.
#define H_MAGIC         0               /* "SKIFFIMG" */
#define H_VERSION       8
#define H_KERNEL_LBA    16
#define H_LOAD_LENGTH   20
#define H_LOAD_ADDR     24
#define H_BSS_END       28
#define H_ENTRY         32
#define H_CMDLINE       40              /* u16 offset of the NUL-terminated command line */
#define H_MOD_COUNT     42              /* u16 */
#define H_MODULES       48              /* 16 bytes each: LBA, length, u16 string offset */

// multiboot_info (Multiboot 0.6.96 §3.3).
#define MB_MAGIC        0x2BADB002
#define MB_FLAGS        0x24D           /* mem (0), cmdline (2), mods (3), mmap (6), loader name (9) */

#define CODE32          0x08
#define DATA32          0x10

#define MBR(label)      label - skiff_boot_mbr_start + MBR_BASE
#define S2(label)       label - skiff_boot_stage2_start + STAGE2_BASE

// =============================================================================================
// MBR (one sector). Its own section, so `.org` counts from its first byte.
    .section .rodata.skiff_boot_mbr, "a"
    .code16
    .global skiff_boot_mbr_start, skiff_boot_mbr_end
skiff_boot_mbr_start:
    cli
    ljmp $0, $MBR(mbr_main)             // El Torito enters at 07C0:0000: make CS 0
mbr_main:
    xorw %ax, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movw $MBR_BASE, %sp
    sti
    cld
    movb %dl, MBR_BASE + P_DRIVE

    // INT 13h AH=41h: extensions installed (BX = AA55h) with the packet interface (CX bit 0).
    movb $0x41, %ah
    movw $0x55AA, %bx
    int $0x13
    movw $MBR(mbr_no_extensions), %si
    jc mbr_fail
    cmpw $0xAA55, %bx
    jne mbr_fail
    testb $1, %cl
    jz mbr_fail

    testb $1, MBR_BASE + P_FLAGS
    jnz 1f
    movw $(MBR_BASE + P_DAP), %si
    movb MBR_BASE + P_DRIVE, %dl
    movb $0x42, %ah
    int $0x13
    movw $MBR(mbr_read_error), %si
    jc mbr_fail
1:  movw $MBR(mbr_no_stage2), %si
    cmpl $STAGE2_MAGIC, STAGE2_BASE
    jne mbr_fail
    movb MBR_BASE + P_DRIVE, %dl
    ljmp $0, $(STAGE2_BASE + STAGE2_ENTRY)

// SI = message: print it on the screen (INT 10h), then on COM1, and halt. Two passes, not one
// interleaved: under QEMU -nographic SeaBIOS also copies the screen to COM1.
mbr_fail:
    movw %si, %di
1:  lodsb
    testb %al, %al
    jz 2f
    movb $0x0E, %ah
    movw $7, %bx
    int $0x10
    jmp 1b
2:  movw %di, %si
    movw $0x3F8, %dx
3:  lodsb
    testb %al, %al
    jz 4f
    outb %al, %dx
    jmp 3b
4:  cli
5:  hlt
    jmp 5b

mbr_no_extensions:  .asciz "Skiff: the BIOS has no INT 13h extensions (AH=41h)\r\n"
mbr_read_error:     .asciz "Skiff: cannot read the boot loader's stage 2\r\n"
mbr_no_stage2:      .asciz "Skiff: stage 2 missing\r\n"

    .org P_DAP
    .byte 0x10, 0                       // packet size, reserved
    .word 0                             // sectors of stage 2 (image writer)
    .word STAGE2_BASE, 0                // buffer offset, segment
    .quad 0                             // stage 2's LBA (image writer)
    .long 0                             // P_HEADER_LBA
    .word 0                             // P_SECTOR_SIZE
    .byte 0                             // P_FLAGS
    .byte 0                             // P_DRIVE
    .org 0x1FE
    .byte 0x55, 0xAA
skiff_boot_mbr_end:

// =============================================================================================
// Stage 2, at 0x7E00.
    .section .rodata.skiff_boot_stage2, "a"
    .code16
    .global skiff_boot_stage2_start, skiff_boot_stage2_end
skiff_boot_stage2_start:
    .long STAGE2_MAGIC
    .long 0
    // STAGE2_ENTRY: from the MBR with CS = DS = ES = SS = 0, DL = drive.
    movb %dl, S2(drive)
    movw MBR_BASE + P_SECTOR_SIZE, %ax
    movw %ax, S2(sector_size)
    call serial_init
    movw $S2(message_hello), %si
    call print

    // The image header: 2048 bytes at P_HEADER_LBA.
    movl MBR_BASE + P_HEADER_LBA, %eax
    movl $2048, %ecx
    movl $HEADER_ADDR, %edi
    call load_extent
    movw $S2(message_bad_header), %si
    cmpl $0x46494B53, HEADER_ADDR + H_MAGIC         // "SKIF"
    jne fail
    cmpl $0x474D4946, HEADER_ADDR + H_MAGIC + 4     // "FIMG"
    jne fail
    cmpw $1, HEADER_ADDR + H_VERSION
    jne fail

    // Clear multiboot_info and the module table.
    xorw %ax, %ax
    movw $INFO_ADDR, %di
    movw $0x80, %cx
    rep stosw
    movw $MODS_ADDR, %di
    movw $0x80, %cx
    rep stosw

    call memory_map
    call enable_a20

    // The kernel: its loaded bytes to load_addr, then bss zeroed.
    movw $S2(message_no_memory), %si
    movl HEADER_ADDR + H_BSS_END, %eax
    cmpl S2(memory_end), %eax
    ja fail
    movl HEADER_ADDR + H_LOAD_ADDR, %eax
    addl HEADER_ADDR + H_LOAD_LENGTH, %eax
    jc fail
    cmpl S2(memory_end), %eax
    ja fail
    movl HEADER_ADDR + H_KERNEL_LBA, %eax
    movl HEADER_ADDR + H_LOAD_LENGTH, %ecx
    movl HEADER_ADDR + H_LOAD_ADDR, %edi
    call load_extent
    movl HEADER_ADDR + H_LOAD_ADDR, %edi
    addl HEADER_ADDR + H_LOAD_LENGTH, %edi
    movl HEADER_ADDR + H_BSS_END, %ecx
    cmpl %edi, %ecx
    jbe 1f
    subl %edi, %ecx
    call zero_high
    movl HEADER_ADDR + H_BSS_END, %edi
1:  // EDI = the kernel's end: modules start at the next page (multiboot header flag 0).
    addl $0xFFF, %edi
    andl $0xFFFFF000, %edi
    movl %edi, S2(next_module)
    movw $0, S2(module_index)
module_loop:
    movw S2(module_index), %bx
    cmpw HEADER_ADDR + H_MOD_COUNT, %bx
    jae modules_done
    shlw $4, %bx
    movl HEADER_ADDR + H_MODULES + 4(%bx), %ecx     // length
    movl S2(next_module), %edi
    movl %edi, %eax
    addl %ecx, %eax
    movw $S2(message_no_memory), %si
    jc fail
    cmpl S2(memory_end), %eax
    ja fail
    movl %edi, MODS_ADDR(%bx)                       // mod_start
    movl %eax, MODS_ADDR + 4(%bx)                   // mod_end
    movzwl HEADER_ADDR + H_MODULES + 8(%bx), %edx
    addl $HEADER_ADDR, %edx
    movl %edx, MODS_ADDR + 8(%bx)                   // string
    addl $0xFFF, %eax
    andl $0xFFFFF000, %eax
    movl %eax, S2(next_module)
    movl HEADER_ADDR + H_MODULES(%bx), %eax         // LBA
    call load_extent
    incw S2(module_index)
    jmp module_loop
modules_done:

    // multiboot_info.
    movl $MB_FLAGS, INFO_ADDR
    movl S2(memory_lower), %eax
    movl %eax, INFO_ADDR + 4
    movl S2(memory_upper), %eax
    movl %eax, INFO_ADDR + 8
    movzwl HEADER_ADDR + H_CMDLINE, %eax
    addl $HEADER_ADDR, %eax
    movl %eax, INFO_ADDR + 16
    movzwl HEADER_ADDR + H_MOD_COUNT, %eax
    movl %eax, INFO_ADDR + 20
    movl $MODS_ADDR, INFO_ADDR + 24
    movzwl S2(memory_map_count), %eax
    imull $24, %eax, %eax
    movl %eax, INFO_ADDR + 44
    movl $MMAP_ADDR, INFO_ADDR + 48
    movl $S2(loader_name), INFO_ADDR + 64

    // 32-bit protected mode, flat segments (Multiboot 0.6.96 §3.2), paging off, interrupts off.
    cli
    lgdtl S2(gdt_descriptor)
    movl %cr0, %eax
    orb $1, %al
    movl %eax, %cr0
    ljmpl $CODE32, $S2(protected_mode)
    .code32
protected_mode:
    movw $DATA32, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %fs
    movw %ax, %gs
    movw %ax, %ss
    movl $MBR_BASE, %esp
    movl HEADER_ADDR + H_ENTRY, %ecx
    movl $MB_MAGIC, %eax
    movl $INFO_ADDR, %ebx
    jmp *%ecx
    .code16

// ---------------------------------------------------------------------------------------------
// load_extent: reads ECX bytes from LBA EAX (medium sectors) to physical address EDI, 32 KiB at a
// time through the bounce buffer.
load_extent:
    movl %eax, S2(current_lba)
    movl %ecx, S2(remaining)
    movl %edi, S2(current_destination)
1:  movl S2(remaining), %ecx
    testl %ecx, %ecx
    jz 3f
    cmpl $CHUNK, %ecx
    jbe 2f
    movl $CHUNK, %ecx
2:  movl %ecx, S2(chunk)
    movzwl S2(sector_size), %ebx
    leal -1(%ecx,%ebx), %eax
    xorl %edx, %edx
    divl %ebx                           // EAX = sectors for this chunk
    movw %ax, S2(dap_count)
    movl S2(current_lba), %edx
    movl %edx, S2(dap_lba)
    addl %eax, S2(current_lba)
    movw $S2(dap), %si
    movb S2(drive), %dl
    movb $0x42, %ah
    int $0x13
    movw $S2(message_read_error), %si
    jc fail
    movl $BOUNCE_ADDR, %esi
    movl S2(current_destination), %edi
    movl S2(chunk), %ecx
    call copy_high
    movl S2(chunk), %ecx
    addl %ecx, S2(current_destination)
    subl %ecx, S2(remaining)
    jmp 1b
3:  ret

// copy_high: ECX bytes from physical ESI to physical EDI. zero_high: ECX zero bytes at EDI.
// Both in unreal mode, re-entered each time: BIOS calls may reload the segment limits.
copy_high:
    cli
    call unreal
    .byte 0x67                          // address size: ESI, EDI, ECX
    rep movsb
    sti
    ret

zero_high:
    cli
    call unreal
    xorb %al, %al
    .byte 0x67
    rep stosb
    sti
    ret

// unreal: DS and ES keep a 4 GiB limit back in real mode (selectors 0 again). Clobbers EAX, BX.
unreal:
    lgdtl S2(gdt_descriptor)
    movl %cr0, %eax
    orb $1, %al
    movl %eax, %cr0
    jmp 1f
1:  movw $DATA32, %bx
    movw %bx, %ds
    movw %bx, %es
    andb $0xFE, %al
    movl %eax, %cr0
    jmp 2f
2:  xorw %bx, %bx
    movw %bx, %ds
    movw %bx, %es
    ret

// memory_map: E820 entries in multiboot form (size = 20, base, length, type) at MMAP_ADDR;
// mem_lower from INT 12h, mem_upper and memory_end from the usable range at 1 MiB.
memory_map:
    int $0x12
    movzwl %ax, %eax
    movl %eax, S2(memory_lower)
    xorl %ebx, %ebx
    movw $MMAP_ADDR, %di
1:  movl $20, (%di)
    pushw %di
    addw $4, %di
    movl $0xE820, %eax
    movl $20, %ecx
    movl $0x534D4150, %edx              // "SMAP"
    int $0x15
    popw %di
    jc 2f
    cmpl $0x534D4150, %eax
    jne 2f
    addw $24, %di
    incw S2(memory_map_count)
    cmpw $MMAP_MAX, S2(memory_map_count)
    jae 2f
    testl %ebx, %ebx
    jnz 1b
2:  movw $S2(message_no_e820), %si
    movw S2(memory_map_count), %cx
    testw %cx, %cx
    jz fail
    movw $MMAP_ADDR, %di
3:  cmpl $0x100000, 4(%di)              // base 1 MiB, usable
    jne 4f
    cmpl $0, 8(%di)
    jne 4f
    cmpl $1, 20(%di)
    jne 4f
    movl 12(%di), %eax                  // length, capped below 4 GiB
    cmpl $0, 16(%di)
    jne 5f
    cmpl $0xFFE00000, %eax
    jbe 6f
5:  movl $0xFFE00000, %eax
6:  movl %eax, %edx
    shrl $10, %edx
    movl %edx, S2(memory_upper)
    addl $0x100000, %eax
    movl %eax, S2(memory_end)
    ret
4:  addw $24, %di
    loop 3b
    movw $S2(message_no_high_memory), %si
    jmp fail

// enable_a20: already on (QEMU, most firmware), else INT 15h AX=2401h, else port 0x92.
enable_a20:
    call a20_on
    jnz 1f
    movw $0x2401, %ax
    int $0x15
    call a20_on
    jnz 1f
    inb $0x92, %al
    orb $2, %al
    andb $0xFE, %al
    outb %al, $0x92
    call a20_on
    jnz 1f
    movw $S2(message_a20), %si
    jmp fail
1:  ret

// a20_on: ZF clear when 0x100500 is not 0x000500.
a20_on:
    pushw %es
    movw $0xFFFF, %ax
    movw %ax, %es
    movb A20_PROBE, %ah
    movb $0x00, A20_PROBE
    movb $0xFF, %es:A20_PROBE + 0x10
    cmpb $0xFF, A20_PROBE
    movb %ah, A20_PROBE
    popw %es
    ret

// fail: SI = message; print it with a newline on the screen, then on COM1 (a separate pass: under
// QEMU -nographic SeaBIOS copies the screen to COM1 too), and halt.
fail:
    pushw %si
    call print
    movw $S2(message_newline), %si
    call print
    popw %si
    call serial_print
    movw $S2(message_newline), %si
    call serial_print
    cli
1:  hlt
    jmp 1b

// print: the NUL-terminated string at SI on the screen (INT 10h teletype).
print:
    lodsb
    testb %al, %al
    jz 1f
    movb $0x0E, %ah
    movw $7, %bx
    int $0x10
    jmp print
1:  ret

// serial_print: the NUL-terminated string at SI on COM1.
serial_print:
    lodsb
    testb %al, %al
    jz 3f
    movb %al, %bl
    movw $0x3FD, %dx                    // line status: wait (bounded) for an empty holding register
    movw $0xFFFF, %cx
1:  inb %dx, %al
    testb $0x20, %al
    jnz 2f
    loop 1b
2:  movb %bl, %al
    movw $0x3F8, %dx
    outb %al, %dx
    jmp serial_print
3:  ret

// serial_init: COM1 115200 8N1, FIFOs off: QEMU paces a FIFO at the baud rate, and the kernel
// resets it (dropping what is still queued) when it sets the port up again.
serial_init:
    movw $S2(serial_settings), %si
1:  lodsw                               // AL = register offset, AH = value; 0xFF ends
    cmpb $0xFF, %al
    je 2f
    movw $0x3F8, %dx
    addb %al, %dl
    movb %ah, %al
    outb %al, %dx
    jmp 1b
2:  ret

serial_settings:
    .byte 1, 0x00, 3, 0x80, 0, 0x01, 1, 0x00, 3, 0x03, 2, 0x00, 4, 0x03, 0xFF, 0

// SeaBIOS's serial console (QEMU -nographic) holds back the last few characters written through
// INT 10h; the trailing blanks are what it keeps, so the greeting reaches the serial console whole.
message_hello:          .asciz "Skiff boot loader\r\n   \r"
message_newline:        .asciz "\r\n"
message_bad_header:     .asciz "Skiff boot loader: no Skiff image header (rebuild the image with skiff build --format)"
message_read_error:     .asciz "Skiff boot loader: disk read error (INT 13h AH=42h)"
message_no_e820:        .asciz "Skiff boot loader: the BIOS gave no E820 memory map"
message_no_high_memory: .asciz "Skiff boot loader: no usable memory at 1 MiB in the E820 map"
message_no_memory:      .asciz "Skiff boot loader: not enough memory for the kernel and modules"
message_a20:            .asciz "Skiff boot loader: cannot enable the A20 line"
loader_name:            .asciz "Skiff"

    .p2align 3
gdt:
    .quad 0
    .quad 0x00CF9A000000FFFF            // CODE32: base 0, 4 GiB, 32-bit, execute/read
    .quad 0x00CF92000000FFFF            // DATA32: base 0, 4 GiB, read/write
gdt_descriptor:
    .word gdt_descriptor - gdt - 1
    .long S2(gdt)

    .p2align 2
dap:
    .byte 0x10, 0
dap_count:
    .word 0
    .word 0, BOUNCE_SEGMENT
dap_lba:
    .long 0, 0

drive:                  .byte 0
    .p2align 2
sector_size:            .word 0
module_index:           .word 0
memory_map_count:       .word 0
    .p2align 2
memory_lower:           .long 0
memory_upper:           .long 0
memory_end:             .long 0
next_module:            .long 0
current_lba:            .long 0
current_destination:    .long 0
remaining:              .long 0
chunk:                  .long 0
    .p2align 9, 0
skiff_boot_stage2_end:

#ifdef __x86_64__
    .code64
#else
    .code32
#endif
#endif
    .section .note.GNU-stack, "", @progbits
