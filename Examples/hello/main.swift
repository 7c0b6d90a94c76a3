// The smallest Skiff application: print a line and exit 0 (QEMU with isa-debug-exit exits 1).
print("Hello from Skiff!")
