// The CPU's descriptor tables: the IDT (exception vectors 0–31 → boot.S stubs) and the 64-bit
// TSS, whose interrupt stack table gives the exceptions that must work on a broken stack their own
// stacks (Intel SDM Vol. 3A §6.14.5, §7.7). boot.S owns the GDT; this fills its TSS descriptor.
#ifndef __linux__

#include "SkiffKernelC.h"

// From boot.S.
extern const uint64_t skiff_isr_table[32];
extern const uint64_t skiff_irq_table[16];
extern const uint64_t skiff_spurious_irq;
extern uint64_t skiff_gdt_tss[2];
extern char skiff_ist1_top[], skiff_ist2_top[];

// From Kernel/linker.ld and boot.S (addresses only).
extern char __kernel_image_start[], __kernel_image_end[];
extern char __text_start[], __text_end[], __rodata_start[], __rodata_end[];
extern char __data_start[], __data_end[];
extern char skiff_boot_stack_guard[], skiff_boot_stack_bottom[], skiff_boot_stack_top[];
extern char skiff_ist1_guard[], skiff_ist1_bottom[], skiff_ist2_guard[], skiff_ist2_bottom[];
extern char skiff_boot_page_tables[], skiff_boot_page_tables_end[];

#define KERNEL_CODE_SELECTOR 0x08
#define TSS_SELECTOR 0x18

// SDM Vol. 3A §6.14.1, figure 6-8: a 64-bit interrupt gate.
typedef struct __attribute__((packed)) {
    uint16_t offset_low;
    uint16_t selector;
    uint8_t ist;          // bits 0–2: interrupt stack table index, 0 = none
    uint8_t type_attr;    // 0x8E: present, DPL 0, 64-bit interrupt gate
    uint16_t offset_mid;
    uint32_t offset_high;
    uint32_t reserved;
} idt_gate;

// SDM Vol. 3A §7.7, figure 7-11: the 64-bit task-state segment.
typedef struct __attribute__((packed)) {
    uint32_t reserved0;
    uint64_t rsp[3];
    uint64_t reserved1;
    uint64_t ist[7];
    uint64_t reserved2;
    uint16_t reserved3;
    uint16_t iomap_base;
} task_state_segment;

static idt_gate idt[256] __attribute__((aligned(16)));
static task_state_segment tss __attribute__((aligned(16)));

// Which IST stack each exception uses: 1 (the exception stack) for page faults, so a boot-stack
// overflow into its guard page is reported; 2 (the emergency stack) for NMI, double fault and
// machine check, which may arrive while any stack, IST1's included, is unusable.
static uint8_t ist_for_vector(int vector) {
    switch (vector) {
    case 14: return 1;
    case 2: case 8: case 18: return 2;
    default: return 0;
    }
}

static void set_gate(int vector, uint64_t handler, uint8_t ist) {
    idt[vector] = (idt_gate){
        .offset_low = (uint16_t)handler,
        .selector = KERNEL_CODE_SELECTOR,
        .ist = ist,
        .type_attr = 0x8E,
        .offset_mid = (uint16_t)(handler >> 16),
        .offset_high = (uint32_t)(handler >> 32),
    };
}

void skiff_cpu_tables_init(void) {
    for (int vector = 0; vector < 32; vector++) {
        set_gate(vector, skiff_isr_table[vector], ist_for_vector(vector));
    }
    // Hardware interrupts (Interrupts.swift): 32–47 for the timer and devices, 255 spurious.
    for (int vector = 32; vector < 48; vector++) {
        set_gate(vector, skiff_irq_table[vector - 32], 0);
    }
    set_gate(255, skiff_spurious_irq, 0);

    tss.ist[0] = (uint64_t)skiff_ist1_top;
    tss.ist[1] = (uint64_t)skiff_ist2_top;
    tss.iomap_base = sizeof(tss);  // no I/O permission bitmap

    // SDM Vol. 3A §8.2.3, figure 8-4: the 16-byte TSS descriptor, type 9 (available 64-bit TSS).
    uint64_t base = (uint64_t)&tss;
    uint64_t limit = sizeof(tss) - 1;
    skiff_gdt_tss[0] = (limit & 0xFFFF) | ((base & 0xFFFFFF) << 16) | (0x89ULL << 40)
        | (((limit >> 16) & 0xF) << 48) | (((base >> 24) & 0xFF) << 56);
    skiff_gdt_tss[1] = base >> 32;

    struct __attribute__((packed)) { uint16_t limit; uint64_t base; } idtr = {
        sizeof(idt) - 1, (uint64_t)idt
    };
    __asm__ volatile("lidt %0" : : "m"(idtr));
    __asm__ volatile("ltr %w0" : : "r"((uint16_t)TSS_SELECTOR));
}

skiff_kernel_layout skiff_get_kernel_layout(void) {
    return (skiff_kernel_layout){
        .image_start = (uint64_t)__kernel_image_start,
        .image_end = (uint64_t)__kernel_image_end,
        .text_start = (uint64_t)__text_start,
        .text_end = (uint64_t)__text_end,
        .rodata_start = (uint64_t)__rodata_start,
        .rodata_end = (uint64_t)__rodata_end,
        .data_start = (uint64_t)__data_start,
        .data_end = (uint64_t)__data_end,
        .stack_guard = (uint64_t)skiff_boot_stack_guard,
        .stack_bottom = (uint64_t)skiff_boot_stack_bottom,
        .stack_top = (uint64_t)skiff_boot_stack_top,
        .ist1_guard = (uint64_t)skiff_ist1_guard,
        .ist1_bottom = (uint64_t)skiff_ist1_bottom,
        .ist1_top = (uint64_t)skiff_ist1_top,
        .ist2_guard = (uint64_t)skiff_ist2_guard,
        .ist2_bottom = (uint64_t)skiff_ist2_bottom,
        .ist2_top = (uint64_t)skiff_ist2_top,
        .page_tables = (uint64_t)skiff_boot_page_tables,
        .page_tables_end = (uint64_t)skiff_boot_page_tables_end,
    };
}

#endif  // __linux__
