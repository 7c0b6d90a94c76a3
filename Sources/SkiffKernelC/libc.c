// The C library functions the Embedded Swift runtime and compiler-generated code call: the
// allocator entry points (thin wrappers: the heap is Swift, Heap.swift and Runtime.swift), memory
// and string primitives, and `ceil` (Dictionary growth). `putchar` and `arc4random_buf` are Swift
// (Runtime.swift). Built with -ffreestanding, so the compiler does not turn these loops back into
// calls to themselves.
#ifndef __linux__

#include <stddef.h>
#include <stdint.h>

// Runtime.swift.
void *skiff_heap_allocate(size_t size, size_t alignment);
void *skiff_heap_reallocate(void *pointer, size_t size);
void skiff_heap_free(void *pointer);

#define EINVAL 22
#define ENOMEM 12

void *malloc(size_t size) {
    return skiff_heap_allocate(size, 16);
}

int posix_memalign(void **result, size_t alignment, size_t size) {
    // POSIX: the alignment is a power of two and a multiple of sizeof(void *).
    if (alignment < sizeof(void *) || (alignment & (alignment - 1)) != 0) return EINVAL;
    void *memory = skiff_heap_allocate(size, alignment);
    if (!memory) return ENOMEM;
    *result = memory;
    return 0;
}

void *calloc(size_t count, size_t size) {
    size_t total;
    if (__builtin_mul_overflow(count, size, &total)) return NULL;
    void *memory = skiff_heap_allocate(total, 16);
    if (memory) __builtin_memset(memory, 0, total);
    return memory;
}

void *realloc(void *pointer, size_t size) {
    return skiff_heap_reallocate(pointer, size);
}

void free(void *pointer) {
    skiff_heap_free(pointer);
}

void *memcpy(void *restrict dst, const void *restrict src, size_t n) {
    void *result = dst;
    __asm__ volatile("rep movsb" : "+D"(dst), "+S"(src), "+c"(n) : : "memory");
    return result;
}

void *memmove(void *dst, const void *src, size_t n) {
    unsigned char *d = dst;
    const unsigned char *s = src;
    if (d == s || n == 0) return dst;
    if (d < s || d >= s + n) {
        // No overlap that a forward copy would clobber.
        __asm__ volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
    } else {
        // Overlapping with dst above src: copy backwards from the last byte (DF=1), then restore DF.
        d += n - 1;
        s += n - 1;
        __asm__ volatile("std; rep movsb; cld" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
    }
    return dst;
}

void *memset(void *dst, int value, size_t n) {
    void *result = dst;
    __asm__ volatile("rep stosb" : "+D"(dst), "+c"(n) : "a"(value) : "memory");
    return result;
}

int memcmp(const void *a, const void *b, size_t n) {
    const unsigned char *x = a, *y = b;
    for (size_t i = 0; i < n; i++) {
        if (x[i] != y[i]) return x[i] < y[i] ? -1 : 1;
    }
    return 0;
}

int bcmp(const void *a, const void *b, size_t n) {
    return memcmp(a, b, n);
}

size_t strlen(const char *s) {
    size_t n = 0;
    while (s[n]) n++;
    return n;
}

// IEEE 754 binary64: rounds toward +infinity by clearing the fraction bits below the binary
// point, first adding one unit at that position when a positive value has any of them set.
double ceil(double x) {
    union { double d; uint64_t u; } v = { x };
    int exponent = (int)((v.u >> 52) & 0x7FF) - 1023;
    if (exponent >= 52) return x;                 // already integral, or infinity or NaN
    if (exponent < 0) {                           // |x| < 1
        if (x > 0) return 1.0;
        return (v.u << 1) == 0 ? x : -0.0;        // ±0 stay; -1 < x < 0 gives -0
    }
    uint64_t fraction = (1ULL << (52 - exponent)) - 1;
    if ((v.u & fraction) == 0) return x;
    if (!(v.u >> 63)) v.u += fraction + 1;
    v.u &= ~fraction;
    return v.d;
}

#endif  // __linux__
