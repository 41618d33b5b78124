//! The process's allocator settings.
//!
//! glibc's malloc serves large blocks with fresh `mmap`s and returns them (and the top
//! of the heap) to the kernel when freed, so a training step that allocates and drops
//! the same tensors over and over pays a page fault and a kernel-zeroed page for every
//! 4 KiB each time. That was 18% of a catch run's CPU time (190 of 1,046 s, `/usr/bin/time`).
//! Keeping freed memory in the process removes it; what is computed stays the same.

/// Serve every block from the heap and never give freed memory back to the kernel, so
/// it is reused. Peak memory is unchanged (freed memory is reused, not accumulated).
/// A no-op off glibc.
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        use std::os::raw::c_int;
        extern "C" {
            fn mallopt(param: c_int, value: c_int) -> c_int;
        }
        // <malloc.h>
        const M_TRIM_THRESHOLD: c_int = -1;
        const M_TOP_PAD: c_int = -2;
        const M_MMAP_MAX: c_int = -4;
        // SAFETY: mallopt only changes the allocator's tuning; it is called first thing
        // in main, before any other thread exists.
        unsafe {
            mallopt(M_MMAP_MAX, 0);
            mallopt(M_TRIM_THRESHOLD, 1 << 30);
            mallopt(M_TOP_PAD, 256 << 20);
        }
    }
}
